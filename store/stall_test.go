package store_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

// TestAStalledRowHoldsNoSignIn is the hostile review's stall on PostgreSQL:
// another transaction holds one user's session row (SELECT … FOR UPDATE),
// so the periodic flush of last-seen times blocks on it. Another user's
// sign-in past the session cap must still answer at once, with the cap held
// and the session just used kept — its queued use counted, not waited for.
// (Before, sign-ins waited for that flush: 4 logins took the full 5 s and
// left 5 live sessions under a cap of 2.)
func TestAStalledRowHoldsNoSignIn(t *testing.T) {
	db := storetest.Open(t, storetest.PostgresURL(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := store.NewCached(ctx, db, store.LocalBus{}, 100, time.Hour, slog.New(slog.DiscardHandler))
	now := time.Now().UTC().Truncate(time.Millisecond)
	user := func(email string) models.User {
		u := models.User{Email: email, Name: "Ada", PasswordHash: "x", Role: models.RoleUser, CreatedAt: now, UpdatedAt: now}
		if err := c.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	session := func(u models.User, seen time.Time) models.Session {
		s := models.Session{UserID: u.ID, CreatedAt: now, LastSeenAt: seen, ExpiresAt: now.Add(time.Hour), RotatedAt: now}
		if err := c.CreateSession(ctx, &s, 0); err != nil {
			t.Fatal(err)
		}
		return s
	}

	// The stalled row: Mallory's session, locked by another transaction,
	// with a touch queued for it.
	mallory := session(user("mallory@example.com"), now)
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, "SELECT id FROM sessions WHERE id = $1 FOR UPDATE", mallory.ID); err != nil {
		t.Fatal(err)
	}
	// Ada: the session she uses now was last seen by the table five hours
	// ago, another an hour ago; her use is queued behind Mallory's.
	ada := user("ada@example.com")
	used, other := session(ada, now.Add(-5*time.Hour)), session(ada, now.Add(-time.Hour))
	if err := c.TouchSession(ctx, mallory.ID, now); err != nil {
		t.Fatal(err)
	}
	if err := c.TouchSession(ctx, used.ID, now); err != nil {
		t.Fatal(err)
	}
	flushed := make(chan struct{})
	go func() { _ = c.FlushTouches(ctx); close(flushed) }()
	// Until the flush is blocked on the locked row.
	waitFor(t, "the flush to wait for the row", func() bool {
		var n int
		err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%sessions%'").Scan(&n)
		return err == nil && n > 0
	})

	signIn, cancelSignIn := context.WithTimeout(ctx, 3*time.Second)
	defer cancelSignIn()
	ids, err := c.RevokeExcessSessions(signIn, ada.ID, 1, now)
	if err != nil {
		t.Fatalf("a sign-in behind a stalled flush: %v", err)
	}
	if len(ids) != 1 || ids[0] != other.ID {
		t.Errorf("revoked %v, want only the session last used an hour ago (%s), not the one in use (%s)", ids, other.ID, used.ID)
	}
	if live, err := db.LiveSessions(ctx, ada.ID, now); err != nil || len(live) != 1 {
		t.Errorf("Ada's live sessions: %d, %v; want 1 (the cap)", len(live), err)
	}
	select {
	case <-flushed:
		t.Error("the flush ended while the row was still held: the test did not stall it")
	default:
	}
	_ = tx.Rollback()
	<-flushed
}
