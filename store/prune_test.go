package store_test

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

// pruneNow is the injected clock of the pruning tests; rows end a second
// before or after pruneNow − a day.
var pruneNow = time.Date(2026, 12, 1, 12, 0, 30, 0, time.UTC)

func pruneRetention() store.Retention {
	return store.Retention{Now: pruneNow, Keep: 24 * time.Hour, PendingFactorTTL: 10 * time.Minute,
		RateWindow: time.Minute, LockoutDuration: 15 * time.Minute, SessionKeep: 30 * 24 * time.Hour, AuditKeep: 90 * 24 * time.Hour}
}

// column returns one column of a table, sorted.
func column(t *testing.T, db *store.DB, query string) []string {
	t.Helper()
	rows, err := db.SQL().Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// seedPrunable stores, for every table the pruner covers, rows that ended a
// second before the boundary (named gone-…) and a second after it or not at
// all (kept-…), and returns a name for each row id that is not its own name.
func seedPrunable(t *testing.T, db *store.DB) map[string]string {
	t.Helper()
	cutoff := pruneNow.Add(-24 * time.Hour)
	before, after := cutoff.Add(-time.Second), cutoff.Add(time.Second)
	names := map[string]string{}
	user := func(name string) string {
		u := newUser(name + "@example.com")
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	// One-time tokens: expired, or used, before or after the boundary.
	token := func(name string, expires time.Time, usedAt *time.Time) {
		tok := &models.OneTimeToken{Purpose: models.PurposeResetPassword, UserID: user("tok-" + name), Email: name,
			TokenHash: name, CreatedAt: pruneNow.Add(-72 * time.Hour), ExpiresAt: expires}
		if err := db.IssueToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if usedAt != nil {
			if _, err := db.ConsumeToken(ctx, tok.Purpose, []string{tok.TokenHash}, *usedAt); err != nil {
				t.Fatal(err)
			}
		}
	}
	token("gone-expired", before, nil)
	token("kept-expired", after, nil)
	token("gone-used", pruneNow, &before)
	token("kept-used", pruneNow, &after)
	token("kept-live", pruneNow.Add(time.Hour), nil)
	// Second steps of sign-in, the same way.
	challenge := func(name string, expires time.Time, usedAt *time.Time) {
		c := &models.MFAChallenge{UserID: user("ch-" + name), AMR: "pwd", CreatedAt: pruneNow.Add(-72 * time.Hour), ExpiresAt: expires}
		if err := db.CreateChallenge(ctx, c); err != nil {
			t.Fatal(err)
		}
		names[c.ID] = name
		if usedAt != nil {
			// A second step completes by spending a proof: a recovery code here.
			if err := db.ReplaceRecoveryCodes(ctx, c.UserID, []string{"hash-" + name}, pruneNow); err != nil {
				t.Fatal(err)
			}
			rcs, err := db.RecoveryCodes(ctx, c.UserID)
			if err != nil || len(rcs) != 1 {
				t.Fatalf("recovery codes: %v %v", rcs, err)
			}
			if err := db.CompleteChallenge(ctx, c.ID, models.Spend{RecoveryCodeID: rcs[0].ID}, *usedAt); err != nil {
				t.Fatalf("complete challenge: %v", err)
			}
		}
	}
	challenge("gone-expired", before, nil)
	challenge("kept-expired", after, nil)
	challenge("gone-used", pruneNow, &before)
	challenge("kept-used", pruneNow, &after)
	challenge("kept-live", pruneNow.Add(time.Hour), nil)
	// Pending factors end ten minutes after they were created; an active
	// one never ends.
	factor := func(name string, created time.Time, activate bool) {
		f := &models.Factor{UserID: user("f-" + name), Type: "totp", Name: name, Secret: "sealed", Status: models.FactorPending, CreatedAt: created}
		if err := db.CreateFactor(ctx, f); err != nil {
			t.Fatal(err)
		}
		if activate {
			if err := db.ActivateFactor(ctx, f.ID, 1, created); err != nil {
				t.Fatal(err)
			}
		}
	}
	factor("gone-pending", before.Add(-10*time.Minute), false)
	factor("kept-pending", after.Add(-10*time.Minute), false)
	factor("kept-active", pruneNow.Add(-400*24*time.Hour), true)
	// Outbox entries end when sent, failed or dropped; a pending one stays
	// however old it is.
	for _, e := range []struct {
		name, state string
		at          time.Time
	}{{"gone-sent", "sent", before}, {"kept-sent", "sent", after}, {"gone-failed", "failed", before},
		{"kept-dropped", "dropped", after}, {"gone-dropped", "dropped", before}, {"kept-pending", "", time.Time{}}} {
		created := pruneNow.Add(-72 * time.Hour)
		if err := db.Enqueue(ctx, models.MailRequest{Kind: models.MailResetPassword, Recipient: e.name, CreatedAt: created}); err != nil {
			t.Fatal(err)
		}
		claimed, err := db.ClaimMail(ctx, created, created.Add(time.Minute), 1)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %v %v", claimed, err)
		}
		names[strconv.FormatInt(claimed[0].ID, 10)] = e.name
		if e.state == "" {
			if err := db.RetryMail(ctx, claimed[0].ID, 1, pruneNow.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := db.FinishMail(ctx, claimed[0].ID, e.state, e.at); err != nil {
			t.Fatal(err)
		}
	}
	// Rate counters: the one-minute window that closed just before the
	// boundary, and the one open across it.
	counter := func(key string, at time.Time) {
		l := store.NewDBLimiter(db, 5, time.Minute, func() time.Time { return at })
		if _, err := l.Allow(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	counter("gone-window", cutoff.Truncate(time.Minute).Add(-time.Minute))
	counter("kept-window", cutoff.Truncate(time.Minute))
	// Lockout counts end fifteen minutes after the latest failure.
	failure := func(key string, at time.Time) {
		l := store.NewDBLockout(db, 15*time.Minute, func() time.Time { return at })
		if _, err := l.Reserve(ctx, key, 100); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Fail(ctx, key, 100); err != nil {
			t.Fatal(err)
		}
	}
	failure("gone-count", before.Add(-15*time.Minute))
	failure("kept-count", after.Add(-15*time.Minute))
	// Passkey ceremonies, like second steps; spent OIDC states by their end.
	ceremony := func(name string, expires time.Time, usedAt *time.Time) {
		c := &models.WebAuthnChallenge{Purpose: "login", Data: name, CreatedAt: pruneNow.Add(-72 * time.Hour), ExpiresAt: expires}
		if err := db.CreateWebAuthnChallenge(ctx, c); err != nil {
			t.Fatal(err)
		}
		if usedAt != nil {
			if _, err := db.ConsumeWebAuthnChallenge(ctx, c.ID, c.Purpose, *usedAt); err != nil {
				t.Fatalf("consume ceremony: %v", err)
			}
		}
	}
	ceremony("gone-expired", before, nil)
	ceremony("kept-expired", after, nil)
	ceremony("gone-used", pruneNow, &before)
	ceremony("kept-used", pruneNow, &after)
	ceremony("kept-live", pruneNow.Add(time.Hour), nil)
	for name, expires := range map[string]time.Time{"gone-state": before, "kept-state": after, "kept-live-state": pruneNow.Add(time.Hour)} {
		if ok, err := db.SpendOIDCState(ctx, name, expires); err != nil || !ok {
			t.Fatalf("spend state: %v %v", ok, err)
		}
	}
	// Sessions go 30 days after they expired or were revoked; audit events
	// 90 days (AUTH_AUDIT_RETENTION here) after they were recorded.
	sessCut, auditCut := pruneNow.Add(-30*24*time.Hour), pruneNow.Add(-90*24*time.Hour)
	session := func(name string, expires time.Time, revoked *time.Time) {
		s := &models.Session{UserID: user("s-" + name), CreatedAt: pruneNow.Add(-100 * 24 * time.Hour), LastSeenAt: pruneNow.Add(-100 * 24 * time.Hour),
			ExpiresAt: expires, UserAgent: name, AAL: 1, AMR: "pwd", AuthTime: pruneNow.Add(-100 * 24 * time.Hour)}
		if err := db.CreateSession(ctx, s, 0); err != nil {
			t.Fatal(err)
		}
		if revoked != nil {
			if _, err := db.RevokeSession(ctx, s.ID, *revoked); err != nil {
				t.Fatal(err)
			}
		}
	}
	sBefore, sAfter := sessCut.Add(-time.Second), sessCut.Add(time.Second)
	session("gone-expired", sBefore, nil)
	session("kept-expired", sAfter, nil)
	session("gone-revoked", pruneNow.Add(time.Hour), &sBefore)
	session("kept-revoked", pruneNow.Add(time.Hour), &sAfter)
	session("kept-live", pruneNow.Add(time.Hour), nil)
	for name, at := range map[string]time.Time{"gone-event": auditCut.Add(-time.Second), "kept-event": auditCut.Add(time.Second)} {
		if err := db.RecordEvent(ctx, &models.AuditEvent{Type: models.EventLoginSucceeded, Detail: name, CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	// Webhook deliveries: delivered ones end when delivered; those that
	// failed for good are kept 30 days.
	for _, w := range []struct {
		name, state string
		at          time.Time
	}{{"gone-delivered", "delivered", before}, {"kept-delivered", "delivered", after}, {"gone-failed", "failed", sBefore},
		{"kept-failed", "failed", sAfter}, {"kept-pending", "", time.Time{}}} {
		e := &models.AuditEvent{Type: models.EventLoginSucceeded, Detail: "kept-webhook", CreatedAt: pruneNow,
			Webhooks: []models.WebhookDelivery{{EventType: "session.created", URL: w.name, Payload: "{}", NextAttemptAt: pruneNow, CreatedAt: pruneNow}}}
		if err := db.RecordEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		if w.state != "" {
			if err := db.FinishWebhook(ctx, e.Webhooks[0].ID, w.state, 1, 200, "", w.at); err != nil {
				t.Fatal(err)
			}
		}
	}
	return names
}

// remaining names what each pruned table still holds.
func remaining(t *testing.T, db *store.DB, names map[string]string) map[string][]string {
	t.Helper()
	named := func(ids []string) []string {
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = names[id]
		}
		slices.Sort(out)
		return out
	}
	return map[string][]string{
		"one_time_tokens": column(t, db, "SELECT email FROM one_time_tokens"),
		"mfa_challenges":  named(column(t, db, "SELECT id FROM mfa_challenges")),
		"mfa_factors":     column(t, db, "SELECT name FROM mfa_factors"),
		"email_outbox":    named(column(t, db, "SELECT id FROM email_outbox")),
		"rate_counters":   column(t, db, "SELECT key FROM rate_counters"),
		"lockouts":        column(t, db, "SELECT key FROM lockouts"),
		"webauthn":        column(t, db, "SELECT data FROM webauthn_challenges"),
		"oidc_states":     column(t, db, "SELECT id FROM oidc_states"),
		"sessions":        column(t, db, "SELECT user_agent FROM sessions"),
		"audit_events":    column(t, db, "SELECT DISTINCT detail FROM audit_events"),
		"webhooks":        column(t, db, "SELECT url FROM webhook_deliveries"),
	}
}

// TestPruneRemovesExactlyWhatIsDue: with the clock at pruneNow, one turn
// deletes every row that ended more than a day ago (tokens and challenges
// used or expired, pending factors, finished mail, closed counter windows)
// and nothing that ended since or is still live; a second turn finds nothing.
// A dropped mail keeps no address from the moment it is dropped.
func TestPruneRemovesExactlyWhatIsDue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		db := storetest.Open(t, url)
		names := seedPrunable(t, db)
		if got := column(t, db, "SELECT recipient FROM email_outbox WHERE state = 'dropped'"); !slices.Equal(got, []string{"", ""}) {
			t.Errorf("dropped mail keeps the addresses %q", got)
		}
		deleted, ran, err := db.Prune(ctx, pruneRetention(), db.PruneSteps())
		if err != nil || !ran {
			t.Fatalf("Prune: ran %v, %v", ran, err)
		}
		want := map[string][]string{
			"one_time_tokens": {"kept-expired", "kept-live", "kept-used"},
			"mfa_challenges":  {"kept-expired", "kept-live", "kept-used"},
			"mfa_factors":     {"kept-active", "kept-pending"},
			"email_outbox":    {"kept-dropped", "kept-pending", "kept-sent"},
			"rate_counters":   {"kept-window"},
			"lockouts":        {"kept-count"},
			"webauthn":        {"kept-expired", "kept-live", "kept-used"},
			"oidc_states":     {"kept-live-state", "kept-state"},
			"sessions":        {"kept-expired", "kept-live", "kept-revoked"},
			"audit_events":    {"kept-event", "kept-webhook"},
			"webhooks":        {"kept-delivered", "kept-failed", "kept-pending"},
		}
		got := remaining(t, db, names)
		for table, rows := range want {
			if !slices.Equal(got[table], rows) {
				t.Errorf("%s after pruning: %q, want %q", table, got[table], rows)
			}
		}
		wantDeleted := map[string]int64{"one_time_tokens": 2, "mfa_challenges": 2, "pending_factors": 1, "email_outbox": 3, "rate_counters": 1, "lockouts": 1,
			"webauthn_challenges": 2, "oidc_states": 1, "sessions": 2, "audit_events": 1, "webhook_deliveries": 2}
		if !maps.Equal(deleted, wantDeleted) {
			t.Errorf("deleted %v, want %v", deleted, wantDeleted)
		}
		again, _, err := db.Prune(ctx, pruneRetention(), db.PruneSteps())
		for step, n := range again {
			if n != 0 || err != nil {
				t.Errorf("a second turn deleted %d from %s (%v)", n, step, err)
			}
		}
	})
}

// TestPruneOneInstanceAtATime: two instances on one PostgreSQL database; a
// hook holds the first inside its turn while the second tries one, which
// returns at once without deleting anything. Once the first is done the
// second prunes. An instance on another schema is not held up.
func TestPruneOneInstanceAtATime(t *testing.T) {
	url := storetest.PostgresURL(t)
	a, b := storetest.Open(t, url), storetest.Open(t, url)
	other := storetest.Open(t, storetest.PostgresURL(t))
	seedPrunable(t, b)
	inside, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	hold := store.PruneStep{Name: "hold", Run: func(context.Context, store.Retention) (int64, error) {
		close(inside)
		<-release
		return 0, nil
	}}
	go func() {
		_, ran, err := a.Prune(ctx, pruneRetention(), []store.PruneStep{hold})
		if err == nil && !ran {
			t.Error("the first instance did not get its turn")
		}
		done <- err
	}()
	<-inside
	deleted, ran, err := b.Prune(ctx, pruneRetention(), b.PruneSteps())
	if err != nil || ran || len(deleted) != 0 {
		t.Errorf("second instance during the first's turn: ran %v, deleted %v, %v; want it to skip", ran, deleted, err)
	}
	if n := len(column(t, b, "SELECT id FROM one_time_tokens")); n != 5 {
		t.Errorf("%d tokens left while the turn was taken, want all 5", n)
	}
	if _, ran, err := other.Prune(ctx, pruneRetention(), other.PruneSteps()); err != nil || !ran {
		t.Errorf("an instance of another schema: ran %v, %v; want its own turn", ran, err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	deleted, ran, err = b.Prune(ctx, pruneRetention(), b.PruneSteps())
	if err != nil || !ran || deleted["one_time_tokens"] != 2 {
		t.Errorf("second instance after the first's turn: ran %v, deleted %v, %v", ran, deleted, err)
	}
}
