package store

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/models"
)

func openMemory(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), "sqlite::memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func liveSession(t *testing.T, c *Cached, email string) models.Session {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := &models.User{Email: email, Name: "Ada", PasswordHash: "x", Role: models.RoleUser, CreatedAt: now, UpdatedAt: now}
	if err := c.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	s := &models.Session{UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), RotatedAt: now}
	if err := c.CreateSession(ctx, s, 0); err != nil {
		t.Fatal(err)
	}
	return *s
}

// TestFillAfterAnInvalidationIsDropped interleaves a revocation between the
// database read and the cache fill: the live state read before must not be
// cached, or the revoked session would be served for up to a minute.
func TestFillAfterAnInvalidationIsDropped(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := NewCached(ctx, openMemory(t), LocalBus{}, 100, time.Hour, slog.New(slog.DiscardHandler))
	s := liveSession(t, c, "fill@example.com")
	c.afterRead = func() {
		c.afterRead = nil
		if _, err := c.RevokeSession(ctx, s.ID, time.Now().UTC()); err != nil {
			t.Error(err)
		}
	}
	if got, _, err := c.SessionWithUser(ctx, s.ID, false); err != nil || got.RevokedAt != nil {
		t.Fatalf("the racing read: %+v, %v; want the live state it read", got, err)
	}
	if got, _, err := c.SessionWithUser(ctx, s.ID, false); err != nil || got.RevokedAt == nil {
		t.Errorf("after the revocation the cache serves a live session: %+v, %v", got, err)
	}
}

// TestInPlaceUpdatesNeverRestoreAnEvictedSession runs last-seen touches and
// refresh rotations against a revocation, with real concurrency: whatever
// the interleaving, the cache ends with the revoked state.
func TestInPlaceUpdatesNeverRestoreAnEvictedSession(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := NewCached(ctx, openMemory(t), LocalBus{}, 100, time.Hour, slog.New(slog.DiscardHandler))
	for round := range 20 {
		s := liveSession(t, c, "touch"+string(rune('a'+round))+"@example.com")
		if _, _, err := c.SessionWithUser(ctx, s.ID, false); err != nil { // cached
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				now := time.Now().UTC()
				if i%2 == 0 {
					_ = c.TouchSession(ctx, s.ID, now)
				} else {
					_, _ = c.RotateRefresh(ctx, s.ID, 0, now, now.Add(time.Hour))
				}
			}()
		}
		if _, err := c.RevokeSession(ctx, s.ID, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if got, _, err := c.SessionWithUser(ctx, s.ID, false); err != nil || got.RevokedAt == nil {
			t.Fatalf("round %d: the cache serves a live session after its revocation: %+v, %v", round, got, err)
		}
	}
}

// TestInPlaceUpdateHoldsOffAnInvalidation forces a revocation between the
// read of a cached session and its update in place (a last-seen touch, a
// refresh rotation): the revocation runs in its own goroutine, and the
// update goes on only once the revocation has finished or is waiting for the
// cache's lock. Either the update wins the lock and the revocation's eviction
// follows it, or the revocation evicts first; the cache must never serve the
// revoked session as live afterwards.
func TestInPlaceUpdateHoldsOffAnInvalidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		update func(ctx context.Context, c *Cached, s models.Session)
	}{
		{"touch", func(ctx context.Context, c *Cached, s models.Session) {
			_ = c.TouchSession(ctx, s.ID, time.Now().UTC())
		}},
		{"rotate", func(ctx context.Context, c *Cached, s models.Session) {
			now := time.Now().UTC()
			if won, err := c.RotateRefresh(ctx, s.ID, 0, now, now.Add(time.Hour)); !won || err != nil {
				t.Errorf("RotateRefresh: %v, %v", won, err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c := NewCached(ctx, openMemory(t), LocalBus{}, 100, time.Hour, slog.New(slog.DiscardHandler))
			s := liveSession(t, c, tc.name+"@example.com")
			if _, _, err := c.SessionWithUser(ctx, s.ID, false); err != nil { // cached
				t.Fatal(err)
			}
			revoked, waiting := make(chan struct{}), make(chan struct{})
			var once sync.Once
			c.onContended = func() { once.Do(func() { close(waiting) }) }
			c.afterPeek = func() {
				c.afterPeek = nil
				go func() {
					defer close(revoked)
					if _, err := c.RevokeSession(ctx, s.ID, time.Now().UTC()); err != nil {
						t.Error(err)
					}
				}()
				select {
				case <-revoked:
				case <-waiting:
				}
			}
			tc.update(ctx, c, s)
			<-revoked
			if c.afterPeek != nil {
				t.Fatal("the update never read the cached entry")
			}
			if got, _, err := c.SessionWithUser(ctx, s.ID, false); err != nil || got.RevokedAt == nil {
				t.Errorf("after the revocation the cache serves a live session: %+v, %v", got, err)
			}
		})
	}
}
