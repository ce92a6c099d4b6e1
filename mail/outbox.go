package mail

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/portcullis-auth/portcullis/models"
)

// DefaultSchedule is how long a failed delivery waits before each retry;
// after the last one the message is marked failed.
var DefaultSchedule = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour}

// Outbox is the storage the worker drains.
type Outbox interface {
	ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]models.QueuedMail, error)
	ResolveMail(ctx context.Context, id int64, payload string, tokenExpires *time.Time) error
	FinishMail(ctx context.Context, id int64, state string, now time.Time) error
	RetryMail(ctx context.Context, id int64, attempts int, next time.Time) error
}

// Resolver turns a queued request into the message to send: it decides
// whether the request is sent at all (an account that does not exist, a
// sending limit), issues any token, and renders. send false drops it.
type Resolver interface {
	ResolveMail(ctx context.Context, e models.QueuedMail) (m Message, tokenExpires *time.Time, send bool, err error)
}

// Sealer keeps rendered messages (which hold tokens) encrypted at rest.
type Sealer interface {
	SealBytes(payload []byte) (string, error)
	OpenBytes(sealed string) ([]byte, error)
}

// Metrics counts deliveries by kind and outcome; see Outcomes and MetricKind
// for what the labels may say.
type Metrics interface {
	Email(kind, outcome string)
}

// What a delivery counts as. Whether the address has an account must not
// show, so the outcomes do not tell a sent message from a request the
// resolver dropped (no account, a sending limit, nothing to do): both are
// handled. Retried and failed are the mail server's trouble (and a token that
// expired while it lasted).
const (
	OutcomeHandled = "handled"
	OutcomeRetried = "retried"
	OutcomeFailed  = "failed"
)

// Outcomes lists every outcome, so each can be reported at zero.
var Outcomes = []string{OutcomeHandled, OutcomeRetried, OutcomeFailed}

// MetricKind is the kind a message is counted under: a registration mails
// account_exists instead of verify_email when the address has an account,
// so both count as verify_email.
func MetricKind(k models.MailKind) string {
	if k == models.MailAccountExists {
		return string(models.MailVerifyEmail)
	}
	return string(k)
}

// MetricKinds lists every kind a message is counted under.
func MetricKinds() []string {
	var out []string
	for _, k := range Kinds {
		if mk := MetricKind(k); !slices.Contains(out, mk) {
			out = append(out, mk)
		}
	}
	return out
}

// Worker delivers the outbox: it leases due entries (so several instances
// never send one twice), resolves and seals new ones, sends, and schedules
// retries.
type Worker struct {
	Outbox   Outbox
	Resolver Resolver
	Sender   Sender
	Sealer   Sealer
	Schedule []time.Duration // nil: DefaultSchedule
	Poll     time.Duration   // how often to look without a Kick; 0: 1 s
	Now      func() time.Time
	Log      *slog.Logger
	Metrics  Metrics

	once sync.Once
	kick chan struct{}
}

func (w *Worker) init() { w.once.Do(func() { w.kick = make(chan struct{}, 1) }) }

// lease is how long a claimed entry is this worker's before another may
// take it (a crashed instance's entries are retried after it).
const lease = time.Minute

// Kick asks the worker to look at the outbox now (a request has just queued
// mail) instead of at its next poll.
func (w *Worker) Kick() {
	w.init()
	select {
	case w.kick <- struct{}{}:
	default:
	}
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
		for w.Drain(ctx) > 0 {
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.kick:
		}
	}
}

// Drain handles one batch of due entries and returns how many it claimed.
func (w *Worker) Drain(ctx context.Context) int {
	now := w.now()
	entries, err := w.Outbox.ClaimMail(ctx, now, now.Add(lease), 20)
	if err != nil {
		if ctx.Err() == nil {
			w.Log.Warn("mail outbox unavailable", "error", err.Error())
		}
		return 0
	}
	for _, e := range entries {
		w.deliver(ctx, e)
	}
	return len(entries)
}

func (w *Worker) deliver(ctx context.Context, e models.QueuedMail) {
	kind := string(e.Kind)
	if e.Payload == "" {
		m, expires, send, err := w.Resolver.ResolveMail(ctx, e)
		if err != nil {
			w.retry(ctx, e, "resolve", err)
			return
		}
		if !send {
			w.finish(ctx, e, "dropped", OutcomeHandled)
			return
		}
		data, _ := json.Marshal(m)
		sealed, err := w.Sealer.SealBytes(data)
		if err == nil {
			err = w.Outbox.ResolveMail(ctx, e.ID, sealed, expires)
		}
		if err != nil {
			w.retry(ctx, e, "resolve", err)
			return
		}
		e.Payload, e.TokenExpiresAt = sealed, expires
	}
	if e.TokenExpiresAt != nil && !w.now().Before(*e.TokenExpiresAt) {
		w.finish(ctx, e, "dropped", OutcomeFailed) // its token is dead: never send it late
		return
	}
	data, err := w.Sealer.OpenBytes(e.Payload)
	var m Message
	if err == nil {
		err = json.Unmarshal(data, &m)
	}
	if err != nil {
		// Sealed with a key since removed from AUTH_SESSION_KEYS.
		w.Log.Warn("queued mail cannot be opened; dropped", "kind", kind)
		w.finish(ctx, e, "failed", OutcomeFailed)
		return
	}
	if err := w.Sender.Send(ctx, m); err != nil {
		w.retry(ctx, e, "send", err)
		return
	}
	w.finish(ctx, e, "sent", OutcomeHandled)
}

func (w *Worker) retry(ctx context.Context, e models.QueuedMail, step string, cause error) {
	schedule := w.Schedule
	if schedule == nil {
		schedule = DefaultSchedule
	}
	kind := string(e.Kind)
	if e.Attempts >= len(schedule) {
		w.Log.Warn("mail not delivered after every retry", "kind", kind, "step", step, "error", cause.Error())
		w.finish(ctx, e, "failed", OutcomeFailed)
		return
	}
	w.Log.Info("mail delivery will be retried", "kind", kind, "step", step, "attempt", e.Attempts+1, "error", cause.Error())
	if err := w.Outbox.RetryMail(ctx, e.ID, e.Attempts+1, w.now().Add(schedule[e.Attempts])); err != nil {
		w.Log.Warn("mail outbox unavailable", "error", err.Error())
	}
	w.count(e.Kind, OutcomeRetried)
}

// finish ends an entry in state (sent, failed or dropped) and counts it as
// outcome.
func (w *Worker) finish(ctx context.Context, e models.QueuedMail, state, outcome string) {
	if err := w.Outbox.FinishMail(context.WithoutCancel(ctx), e.ID, state, w.now()); err != nil {
		w.Log.Warn("mail outbox unavailable", "error", err.Error())
	}
	w.count(e.Kind, outcome)
}

func (w *Worker) count(kind models.MailKind, outcome string) {
	if w.Metrics != nil {
		w.Metrics.Email(MetricKind(kind), outcome)
	}
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now().UTC().Truncate(time.Millisecond)
}

// Kinds lists every message kind, so each can be reported at zero.
var Kinds = []models.MailKind{models.MailVerifyEmail, models.MailResetPassword, models.MailChangeEmail, models.MailEmailChanged,
	models.MailPasswordChanged, models.MailSignInCode, models.MailAccountExists,
	models.MailMFAEnrolled, models.MailMFARemoved, models.MailMFAFailed, models.MailPasswordRemoved, models.MailPasswordBreached,
	models.MailAccountDeleted, models.MailInvite}
