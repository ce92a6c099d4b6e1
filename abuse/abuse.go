// Package abuse adapts the outside services of the abuse controls to the
// interfaces of package auth, over HTTP: a CAPTCHA provider's siteverify
// (Cloudflare Turnstile, hCaptcha), a breached-password range API (the
// shape of Have I Been Pwned's) and the before-create hook (a Standard
// Webhooks-signed POST). Each call is bounded by the caller's context and
// by its client's own timeout. Standard library only.
package abuse

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-auth/portcullis/auth"
)

// maxBody bounds what is read of any answer.
const maxBody = 1 << 20

func client(c *http.Client, timeout time.Duration) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Timeout: timeout}
}

// Siteverify checks CAPTCHA tokens at a siteverify endpoint: Turnstile and
// hCaptcha take the same form (secret, response, remoteip) and answer
// {"success": bool, "error-codes": [...]}.
type Siteverify struct {
	URL    string
	Secret string
	// Client, when nil, is one with a 3 s timeout.
	Client *http.Client
}

var _ auth.CaptchaVerifier = (*Siteverify)(nil)

// Verify posts the token and reports the provider's success. A transport
// error, a non-2xx status or an unreadable body is an error (the provider
// could not answer).
func (v *Siteverify) Verify(ctx context.Context, token, remoteIP string) (bool, error) {
	form := url.Values{"secret": {v.Secret}, "response": {token}}
	if remoteIP != "" {
		form.Set("remoteip", remoteIP)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client(v.Client, 3*time.Second).Do(req)
	if err != nil {
		return false, scrub(err, v.URL)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 4:
		// The provider refused the request itself (a token it cannot read,
		// one the client made up): a rejection, never "unavailable", so
		// AUTH_CAPTCHA_FAIL=open cannot be steered by the client's token.
		return false, nil
	case resp.StatusCode/100 != 2:
		return false, fmt.Errorf("siteverify answered %d", resp.StatusCode)
	}
	var out struct {
		Success *bool `json:"success"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&out); err != nil || out.Success == nil {
		return false, errors.New("siteverify answered no success field")
	}
	return *out.Success, nil
}

// scrub keeps a URL's query (which might carry a key) out of errors.
func scrub(err error, _ string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// Range queries a k-anonymity range API (GET {URL}{prefix}, answering
// SUFFIX:COUNT lines), asking for padding (Add-Padding: true) so the size
// of the answer tells an observer nothing.
type Range struct {
	// URL ends in /range/ (https://api.pwnedpasswords.com/range/).
	URL string
	// Client, when nil, is one with a 2 s timeout.
	Client *http.Client
}

var _ auth.BreachedPasswords = (*Range)(nil)

// Range returns the suffixes under prefix with their counts (padding
// lines count 0).
func (r *Range) Range(ctx context.Context, prefix string) (map[string]int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL+prefix, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Add-Padding", "true")
	req.Header.Set("User-Agent", "Portcullis")
	resp, err := client(r.Client, 2*time.Second).Do(req)
	if err != nil {
		return nil, scrub(err, r.URL)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("range API answered %d", resp.StatusCode)
	}
	out := map[string]int{}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 4*maxBody))
	for sc.Scan() {
		suffix, count, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(count)
		if err != nil {
			continue
		}
		out[strings.ToUpper(suffix)] = n
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Hook calls the before-create hook: a POST signed per Standard Webhooks
// (webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256
// of "id.timestamp.body" under the secret's decoded bytes).
type Hook struct {
	URL string
	// Secret is whsec_<base64>.
	Secret string
	// Client, when nil, is one with a 3 s timeout.
	Client *http.Client
	// Now is the clock; nil: the system clock.
	Now func() time.Time
}

var _ auth.BeforeCreateHook = (*Hook)(nil)

// hookPayload is the hook's body.
type hookPayload struct {
	Type      string   `json:"type"`
	Timestamp string   `json:"timestamp"`
	Data      hookData `json:"data"`
}

type hookData struct {
	Email     string `json:"email"`
	Name      string `json:"name"`
	Method    string `json:"method"`
	IP        string `json:"ip"`
	UserAgent string `json:"userAgent"`
}

// BeforeCreate asks the receiver. A non-2xx status or a body without a
// boolean allow is an error.
func (h *Hook) BeforeCreate(ctx context.Context, r auth.HookRequest) (auth.HookAnswer, error) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	t := now().UTC()
	body, err := json.Marshal(hookPayload{
		Type: "user.before_create", Timestamp: t.Format(time.RFC3339Nano),
		Data: hookData{Email: r.Email, Name: r.Name, Method: r.Method, IP: r.IP, UserAgent: r.UserAgent},
	})
	if err != nil {
		return auth.HookAnswer{}, err
	}
	id, sig, err := Sign(h.Secret, t, body)
	if err != nil {
		return auth.HookAnswer{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return auth.HookAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(t.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := client(h.Client, 3*time.Second).Do(req)
	if err != nil {
		return auth.HookAnswer{}, scrub(err, h.URL)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return auth.HookAnswer{}, fmt.Errorf("hook answered %d", resp.StatusCode)
	}
	var out struct {
		Allow       *bool           `json:"allow"`
		Message     string          `json:"message"`
		AppMetadata json.RawMessage `json:"appMetadata"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&out); err != nil || out.Allow == nil {
		return auth.HookAnswer{}, errors.New("hook answered no boolean allow")
	}
	return auth.HookAnswer{Allow: *out.Allow, Message: out.Message, AppMetadata: out.AppMetadata}, nil
}

// Sign returns a fresh message id and the Standard Webhooks signature
// header of body sent at t under secret (whsec_<base64>).
func Sign(secret string, t time.Time, body []byte) (id, signature string, err error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return "", "", errors.New("the hook secret is not whsec_<base64>")
	}
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	id = "msg_" + base64.RawURLEncoding.EncodeToString(raw[:])
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.%s", id, t.Unix(), body)
	return id, "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}
