package auth

import (
	"bytes"
	"golang.org/x/net/idna"

	"bufio"
	"context"
	"crypto/sha1" //nolint:gosec // the breached-password range API is keyed by SHA-1 (k-anonymity), not a security use
	_ "embed"
	"encoding/hex"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/portcullis-auth/portcullis/models"
)

// The abuse controls (design/abuse.md): a CAPTCHA, email-domain rules, the
// breached-password range check and the before-create hook. Each is off
// until its outside service or list is set in Abuse; each outside service is
// a small interface here, adapted to HTTP elsewhere (package abuse).

// CaptchaVerifier asks a CAPTCHA provider whether a widget's token is good.
// An error means the provider could not answer (unreachable, 5xx, a bad
// body); a false answer without error is a rejected token.
type CaptchaVerifier interface {
	Verify(ctx context.Context, token, remoteIP string) (bool, error)
}

// BreachedPasswords answers a k-anonymity range query: the SHA-1 suffixes
// (35 upper-case hex characters) seen in breaches under a 5-character
// prefix, with their counts (padding entries count 0).
type BreachedPasswords interface {
	Range(ctx context.Context, prefix string) (map[string]int, error)
}

// BeforeCreateHook asks the operator's receiver whether an account may be
// created. An error means no usable answer (down, non-2xx, a bad body).
type BeforeCreateHook interface {
	BeforeCreate(ctx context.Context, r HookRequest) (HookAnswer, error)
}

// HookRequest is what the before-create hook is told.
type HookRequest struct {
	Email, Name, Method, IP, UserAgent string
}

// HookAnswer is the hook's decision; Message is shown to a denied user.
type HookAnswer struct {
	Allow   bool
	Message string
	// AppMetadata, when the hook allows, is the new account's app metadata
	// (a JSON object within the metadata limits; anything else is ignored
	// and logged).
	AppMetadata []byte
}

// Abuse configures the abuse controls; the zero value turns all off.
type Abuse struct {
	Captcha         CaptchaVerifier // nil: no CAPTCHA
	CaptchaProvider string          // "turnstile" or "hcaptcha", shown in settings
	CaptchaSiteKey  string
	// CaptchaOn lists the actions checked (register, login, forgot,
	// sign-in-code, resend).
	CaptchaOn       []string
	CaptchaFailOpen bool
	// CaptchaTimeout, BreachedTimeout and HookTimeout bound each outside
	// call; zero: 3 s, 2 s and 3 s.
	CaptchaTimeout time.Duration

	DomainsAllow []string
	DomainsDeny  []string
	// Disposable are blocked disposable-mail domains; nil: none.
	Disposable []string

	Breached        BreachedPasswords // nil: no breached-password check
	BreachedTimeout time.Duration

	Hook         BeforeCreateHook // nil: no hook
	HookFailOpen bool
	HookTimeout  time.Duration
}

// AbuseMetrics counts the outcomes of the outside checks; package api's
// Metrics implement it (optional: a Metrics without it counts nothing).
type AbuseMetrics interface {
	Captcha(outcome string)
	BreachedCheck(outcome string)
}

// Outcomes counted by AbuseMetrics.
const (
	OutcomePassed      = "passed"
	OutcomeFailed      = "failed"
	OutcomeUnavailable = "unavailable"
	OutcomeBreached    = "breached"
)

// Errors of the abuse controls.
var (
	ErrCaptchaFailed      = &models.Error{Kind: models.BadRequest, Code: models.CodeCaptchaFailed, Message: "the CAPTCHA was missing or not accepted; solve it again (X-Captcha-Token)"}
	ErrCaptchaUnavailable = &models.Error{Kind: models.Unavailable, Code: models.CodeCaptchaUnavailable, Message: "the CAPTCHA could not be checked; try again shortly", RetryAfterSeconds: 5}
	ErrHookUnavailable    = &models.Error{Kind: models.Unavailable, Code: models.CodeHookUnavailable, Message: "sign-up is unavailable for a moment; try again shortly", RetryAfterSeconds: 5}
)

// breachedMessage is the field message of a password seen in a breach.
const breachedMessage = "has appeared in a data breach; choose another"

func (s *Service) abuseMetrics() AbuseMetrics {
	if m, ok := s.metrics.(AbuseMetrics); ok {
		return m
	}
	return nil
}

// CaptchaRequired reports whether action needs a CAPTCHA token.
func (s *Service) CaptchaRequired(action string) bool {
	if s.abuse.Captcha == nil {
		return false
	}
	for _, a := range s.abuse.CaptchaOn {
		if a == action {
			return true
		}
	}
	return false
}

// CheckCaptcha checks the CAPTCHA token of a request for action, before any
// other work: missing or rejected is ErrCaptchaFailed whatever the request
// names; a provider that cannot answer is ErrCaptchaUnavailable, or, when
// failing open, a warning and a pass.
func (s *Service) CheckCaptcha(ctx context.Context, cl Client, action, token string) error {
	if !s.CaptchaRequired(action) {
		return nil
	}
	m := s.abuseMetrics()
	count := func(o string) {
		if m != nil {
			m.Captcha(o)
		}
	}
	// Provider tokens are at most 2048 characters (Turnstile); a longer or
	// missing one is not sent out.
	if token == "" || len(token) > 4096 {
		count(OutcomeFailed)
		s.captchaDenied(ctx, cl, action)
		return ErrCaptchaFailed
	}
	ctx, cancel := context.WithTimeout(ctx, orDefault(s.abuse.CaptchaTimeout, 3*time.Second))
	defer cancel()
	ok, err := s.abuse.Captcha.Verify(ctx, token, cl.IP)
	switch {
	case err != nil:
		count(OutcomeUnavailable)
		if s.abuse.CaptchaFailOpen {
			s.log(cl).Warn("CAPTCHA provider unavailable; letting the request through (AUTH_CAPTCHA_FAIL=open)", "action", action, "error", err.Error())
			return nil
		}
		s.log(cl).Warn("CAPTCHA provider unavailable; refusing (AUTH_CAPTCHA_FAIL=closed)", "action", action, "error", err.Error())
		return ErrCaptchaUnavailable
	case !ok:
		count(OutcomeFailed)
		s.captchaDenied(ctx, cl, action)
		return ErrCaptchaFailed
	}
	count(OutcomePassed)
	return nil
}

// captchaDenied audits a refused sign-up (no address: the body is not read).
func (s *Service) captchaDenied(ctx context.Context, cl Client, action string) {
	if action == "register" {
		s.record(ctx, cl, event{typ: models.EventSignupDenied, detail: "reason: captcha"})
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

//go:embed disposable_domains.txt
var shippedDisposable string

// DisposableDomains returns the shipped list of disposable-mail domains.
func DisposableDomains() []string { return ParseDomainList(strings.NewReader(shippedDisposable)) }

// ParseDomainList reads one domain a line; blank lines and # comments are
// skipped.
func ParseDomainList(r io.Reader) []string {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimLeft(strings.ToLower(strings.TrimSpace(line)), "@."); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// inDomains reports whether domain is one of list or a subdomain of one.
func inDomains(domain string, list []string) bool {
	for _, d := range list {
		if d = canonicalDomain(d); domain == d || strings.HasSuffix(domain, "."+d) {
			return true
		}
	}
	return false
}

// canonicalDomain is a domain's DNS form (IDNA lookup: UTS #46 mapping, so
// full-width letters and case fold, then A-labels), so that bücher.example,
// xn--bcher-kva.example and their look-alike spellings are one domain to the
// rules; "" when it has none.
func canonicalDomain(d string) string {
	a, err := idna.Lookup.ToASCII(strings.TrimSuffix(strings.ToLower(d), "."))
	if err != nil {
		return ""
	}
	return strings.ToLower(a)
}

// DomainProblem returns why an address may not be set under the domain
// rules, or "". A policy is public: it depends on the address alone, never
// on whether it has an account.
func (s *Service) DomainProblem(email string) string {
	_, domain, ok := strings.Cut(models.NormalizeEmail(email), "@")
	if !ok {
		return ""
	}
	domain = canonicalDomain(domain)
	switch {
	case domain == "" && (len(s.abuse.DomainsAllow) > 0 || len(s.abuse.DomainsDeny) > 0 || len(s.disposable) > 0):
		// A domain that has no DNS form cannot be matched against a rule.
		return "addresses at this domain cannot be used here"
	case len(s.abuse.DomainsAllow) > 0 && !inDomains(domain, s.abuse.DomainsAllow):
		return "addresses at this domain cannot be used here"
	case inDomains(domain, s.abuse.DomainsDeny):
		return "addresses at this domain cannot be used here"
	case inDomains(domain, s.disposable):
		return "disposable addresses cannot be used here; use a permanent one"
	}
	return ""
}

// domainErr is the 422 email_domain_not_allowed on field, or nil.
func (s *Service) domainErr(field, email string) error {
	p := s.DomainProblem(email)
	if p == "" {
		return nil
	}
	return &models.Error{Kind: models.Invalid, Code: models.CodeEmailDomainNotAllowed, Message: "this email domain is not allowed",
		Fields: map[string][]string{field: {p}}}
}

// breachCache keeps range answers by prefix for ten minutes.
type breachCache struct {
	mu      sync.Mutex
	entries map[string]breachEntry
}

type breachEntry struct {
	suffixes map[string]int
	at       time.Time
}

const (
	breachCacheTTL = 10 * time.Minute
	breachCacheMax = 10000
)

// breached reports whether password appears in the breach corpus. Only the
// first five hex characters of its SHA-1 leave the process. A service that
// cannot answer fails open: a warning, counted, and false.
func (s *Service) breached(ctx context.Context, cl Client, password string) bool {
	if s.abuse.Breached == nil {
		return false
	}
	sum := sha1.Sum([]byte(password)) //nolint:gosec // see the import
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	prefix, suffix := h[:5], h[5:]
	m := s.abuseMetrics()
	count := func(o string) {
		if m != nil {
			m.BreachedCheck(o)
		}
	}
	now := s.now()
	s.breachCache.mu.Lock()
	e, ok := s.breachCache.entries[prefix]
	s.breachCache.mu.Unlock()
	if !ok || now.Sub(e.at) >= breachCacheTTL || now.Before(e.at) {
		ctx, cancel := context.WithTimeout(ctx, orDefault(s.abuse.BreachedTimeout, 2*time.Second))
		suffixes, err := s.abuse.Breached.Range(ctx, prefix)
		cancel()
		if err != nil {
			count(OutcomeUnavailable)
			s.log(cl).Warn("breached-password service unavailable; the password is accepted unchecked", "error", err.Error())
			return false
		}
		e = breachEntry{suffixes: suffixes, at: now}
		s.breachCache.mu.Lock()
		if s.breachCache.entries == nil || len(s.breachCache.entries) >= breachCacheMax {
			s.breachCache.entries = map[string]breachEntry{}
		}
		s.breachCache.entries[prefix] = e
		s.breachCache.mu.Unlock()
	}
	if e.suffixes[suffix] > 0 {
		count(OutcomeBreached)
		return true
	}
	count(OutcomePassed)
	return false
}

// breachErr is the 422 on field for a breached password, or nil.
func (s *Service) breachErr(ctx context.Context, cl Client, field, password string) error {
	if !s.breached(ctx, cl, password) {
		return nil
	}
	fields := models.FieldErrors{}
	fields.Add(field, breachedMessage)
	return fields.Err()
}

// breachChecksAtOnce bounds the background checks after sign-in.
const breachChecksAtOnce = 32

// breachNoticeEvery is how often a user is told their password was seen
// in a breach.
const breachNoticeEvery = 30 * 24 * time.Hour

// checkBreachAfterSignIn checks, in the background, the password a user just
// signed in with; on a match it mails password_breached (once per 30 days)
// and audits it. It never delays the sign-in.
func (s *Service) checkBreachAfterSignIn(cl Client, u models.User, password string) {
	if s.abuse.Breached == nil {
		return
	}
	// At most breachChecksAtOnce run at once; beyond that a check is
	// skipped (the next sign-in checks again), so a login burst cannot
	// pile up goroutines waiting on a slow service.
	select {
	case s.breachSlots <- struct{}{}:
	default:
		s.hooks.breachChecked()
		return
	}
	go func() {
		defer s.hooks.breachChecked()
		defer func() { <-s.breachSlots }()
		ctx, cancel := context.WithTimeout(context.Background(), orDefault(s.abuse.BreachedTimeout, 2*time.Second)+5*time.Second)
		defer cancel()
		if !s.breached(ctx, cl, password) {
			return
		}
		recent, err := s.store.Events(ctx, models.EventFilter{UserID: u.ID, Type: models.EventPasswordBreached, Limit: 1})
		if err != nil {
			s.log(cl).Warn("breach notice not sent: audit trail unavailable", "error", err.Error())
			return
		}
		if len(recent) > 0 && s.now().Sub(recent[0].CreatedAt) < breachNoticeEvery {
			return
		}
		s.record(ctx, cl, event{typ: models.EventPasswordBreached, userID: u.ID, email: u.Email})
		s.notify(ctx, cl, models.MailPasswordBreached, u)
	}()
}

// beforeCreate asks the hook whether an account for email may be created,
// and returns the app metadata it gives the account (nil: none).
func (s *Service) beforeCreate(ctx context.Context, cl Client, email, name, method string) ([]byte, error) {
	if s.abuse.Hook == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, orDefault(s.abuse.HookTimeout, 3*time.Second))
	defer cancel()
	ans, err := s.abuse.Hook.BeforeCreate(ctx, HookRequest{Email: email, Name: name, Method: method, IP: cl.IP, UserAgent: models.Sanitize(cl.UserAgent, 512)})
	if err != nil {
		if s.abuse.HookFailOpen {
			s.log(cl).Warn("before-create hook unavailable; creating the account (AUTH_HOOK_FAIL=open)", "error", err.Error())
			return nil, nil
		}
		s.log(cl).Warn("before-create hook unavailable; refusing (AUTH_HOOK_FAIL=closed)", "error", err.Error())
		return nil, ErrHookUnavailable
	}
	if ans.Allow {
		if len(bytes.TrimSpace(ans.AppMetadata)) == 0 || string(bytes.TrimSpace(ans.AppMetadata)) == "null" {
			return nil, nil
		}
		apply, prob := patchMetadata("appMetadata", ans.AppMetadata)
		if prob != "" {
			s.log(cl).Warn("before-create hook's appMetadata ignored", "problem", prob)
			return nil, nil
		}
		meta, err := apply(nil)
		if err != nil {
			s.log(cl).Warn("before-create hook's appMetadata ignored", "problem", "over the metadata limits")
			return nil, nil
		}
		return meta, nil
	}
	msg := hookMessage(ans.Message)
	s.record(ctx, cl, event{typ: models.EventSignupDenied, email: loggableEmail(email), detail: "reason: hook"})
	return nil, &models.Error{Kind: models.Forbidden, Code: models.CodeSignupDenied, Message: msg}
}

// hookMessage bounds a receiver's message: at most 200 characters, control
// characters removed.
func hookMessage(m string) string {
	var b strings.Builder
	n := 0
	for _, r := range m {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			continue
		}
		if n == 200 {
			break
		}
		b.WriteRune(r)
		n++
	}
	if strings.TrimSpace(b.String()) == "" {
		return "sign-up was refused"
	}
	return b.String()
}

// oidcSignupRefused applies the domain rules and the before-create hook to
// an account an OpenID Connect first sign-in would create, answering the
// code the callback redirects with ("" to go on); the hook's app metadata
// goes onto u.
func (s *Service) oidcSignupRefused(ctx context.Context, cl Client, u *models.User, provider string) models.Code {
	if s.DomainProblem(u.Email) != "" {
		s.record(ctx, cl, event{typ: models.EventSignupDenied, email: loggableEmail(u.Email), detail: "reason: domain (oidc " + provider + ")"})
		return models.CodeEmailDomainNotAllowed
	}
	meta, err := s.beforeCreate(ctx, cl, u.Email, u.Name, "oidc")
	if err != nil {
		return models.CodeOf(err)
	}
	u.AppMetadata = string(meta)
	return ""
}

// Settings are what a sign-in page needs to render itself; never a secret.
type Settings struct {
	EmailVerification Verification
	SignUp            SignUpSettings
	PasswordPolicy    PasswordPolicy
	// Methods are the ways to sign in: password, email_code, passkey,
	// oidc.
	Methods   []string
	Providers []ProviderInfo
}

// SignUpSettings describe sign-up's rules.
type SignUpSettings struct {
	Enabled bool
	// CaptchaProvider is "" when no CAPTCHA is asked for; CaptchaOn lists
	// the actions that need one.
	CaptchaProvider string
	CaptchaSiteKey  string
	CaptchaOn       []string
	// DomainsAllowed is nil when every domain not denied is allowed.
	DomainsAllowed    []string
	BlocksDisposable  bool
	BeforeCreateHooks bool
}

// PasswordPolicy is the policy a new password meets.
type PasswordPolicy struct {
	MinLength     int
	MaxLength     int
	BreachedCheck bool
}

// PublicSettings returns the service's public settings.
func (s *Service) PublicSettings() Settings {
	st := Settings{
		EmailVerification: s.email.Verification,
		SignUp: SignUpSettings{
			Enabled: true, DomainsAllowed: s.abuse.DomainsAllow, BlocksDisposable: len(s.disposable) > 0,
			BeforeCreateHooks: s.abuse.Hook != nil,
		},
		PasswordPolicy: PasswordPolicy{MinLength: models.MinPasswordLength, MaxLength: models.MaxPasswordLength, BreachedCheck: s.abuse.Breached != nil},
		Methods:        []string{"password"},
		Providers:      s.Providers(),
	}
	if s.abuse.Captcha != nil {
		st.SignUp.CaptchaProvider, st.SignUp.CaptchaSiteKey, st.SignUp.CaptchaOn = s.abuse.CaptchaProvider, s.abuse.CaptchaSiteKey, s.abuse.CaptchaOn
	}
	if s.email.Templates != nil {
		st.Methods = append(st.Methods, "email_code")
	}
	if s.webauthn != nil {
		st.Methods = append(st.Methods, "passkey")
	}
	if len(st.Providers) > 0 {
		st.Methods = append(st.Methods, "oidc")
	}
	return st
}
