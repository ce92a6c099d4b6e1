// Package webhook delivers account events from the outbox to the configured
// URLs, signed as the Standard Webhooks specification says: at least once,
// retried on a non-2xx answer or a timeout, in order per (user, URL).
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portcullis-auth/portcullis/models"
)

// Store is the outbox of deliveries.
type Store interface {
	ClaimWebhooks(ctx context.Context, now, leaseUntil time.Time, limit int) ([]models.WebhookDelivery, error)
	FinishWebhook(ctx context.Context, id int64, state string, attempts, status int, errText string, now time.Time) error
	RetryWebhookLater(ctx context.Context, id int64, attempts, status int, errText string, next time.Time) error
}

// DefaultSchedule is how long to wait after each failed attempt; after the
// last step the wait stays hourly, until GiveUpAfter has passed since the
// event.
var DefaultSchedule = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour}

// GiveUpAfter is how long a delivery is retried.
const GiveUpAfter = 24 * time.Hour

// Timeout bounds one attempt.
const Timeout = 10 * time.Second

// ParseSecret decodes a whsec_ secret (base64 after the prefix).
func ParseSecret(s string) ([]byte, error) {
	raw, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return nil, errors.New("must start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) < 16 {
		return nil, errors.New("must be whsec_ followed by the base64 of at least 16 random bytes")
	}
	return key, nil
}

// Sign returns the webhook-signature header value of a message.
func Sign(key []byte, id string, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.", id, ts.Unix())
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Worker delivers due webhooks.
type Worker struct {
	Store  Store
	Key    []byte
	Client *http.Client // nil: one with Timeout
	Log    *slog.Logger
	// Now is the outbox's clock (due times, giving up); signatures carry
	// the wall clock, which receivers check. Nil: the wall clock.
	Now func() time.Time
	// Schedule overrides DefaultSchedule (tests).
	Schedule []time.Duration
	// Poll is how often due deliveries are looked for without a kick.
	Poll time.Duration

	once sync.Once
	kick chan struct{}
}

func (w *Worker) init() {
	w.once.Do(func() { w.kick = make(chan struct{}, 1) })
}

// Kick wakes the worker: an event was written.
func (w *Worker) Kick() {
	w.init()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now().UTC().Truncate(time.Millisecond)
}

// Run delivers until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	w.init()
	poll := w.Poll
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		for w.RunOnce(ctx) > 0 && ctx.Err() == nil {
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.kick:
		}
	}
}

// RunOnce claims and attempts the due deliveries once, and says how many.
func (w *Worker) RunOnce(ctx context.Context) int {
	now := w.now()
	ds, err := w.Store.ClaimWebhooks(ctx, now, now.Add(Timeout+5*time.Second), 20)
	if err != nil {
		if ctx.Err() == nil && w.Log != nil {
			w.Log.Warn("webhook deliveries not claimed", "error", err.Error())
		}
		return 0
	}
	for _, d := range ds {
		w.attempt(ctx, d)
	}
	return len(ds)
}

func (w *Worker) attempt(ctx context.Context, d models.WebhookDelivery) {
	status, errText := w.post(ctx, d)
	attempts := d.Attempts + 1
	now := w.now()
	if status >= 200 && status < 300 {
		if err := w.Store.FinishWebhook(ctx, d.ID, "delivered", attempts, status, "", now); err != nil && w.Log != nil {
			w.Log.Warn("webhook delivery not recorded", "id", d.ID, "error", err.Error())
		}
		return
	}
	sched := w.Schedule
	if len(sched) == 0 {
		sched = DefaultSchedule
	}
	wait := sched[min(attempts, len(sched))-1]
	next := now.Add(wait)
	var err error
	if next.Sub(d.CreatedAt) > GiveUpAfter {
		err = w.Store.FinishWebhook(ctx, d.ID, "failed", attempts, status, errText, now)
		if w.Log != nil {
			w.Log.Warn("webhook delivery failed for good", "id", d.ID, "type", d.EventType, "url", d.URL, "attempts", attempts)
		}
	} else {
		err = w.Store.RetryWebhookLater(ctx, d.ID, attempts, status, errText, next)
	}
	if err != nil && w.Log != nil {
		w.Log.Warn("webhook attempt not recorded", "id", d.ID, "error", err.Error())
	}
}

// post sends one attempt and returns the status (0 when none came) and a
// short description of the failure.
func (w *Worker) post(ctx context.Context, d models.WebhookDelivery) (int, string) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	body := []byte(d.Payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "bad URL"
	}
	ts := time.Now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", d.EventID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("webhook-signature", Sign(w.Key, d.EventID, ts, body))
	hc := w.Client
	if hc == nil {
		hc = &http.Client{Timeout: Timeout}
	}
	resp, err := hc.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, "timeout"
		}
		return 0, "connection failed"
	}
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return resp.StatusCode, "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	return resp.StatusCode, ""
}
