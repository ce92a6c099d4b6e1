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

// holdFlush starts a flush and returns once it has taken its batch of
// last-seen times, holding it there until release is closed; flushed is
// closed when the flush returns.
func holdFlush(ctx context.Context, c *Cached) (release, flushed chan struct{}) {
	taken := make(chan struct{})
	release, flushed = make(chan struct{}), make(chan struct{})
	c.afterTakeTouches = func() {
		c.afterTakeTouches = nil
		close(taken)
		<-release
	}
	go func() { _ = c.FlushTouches(ctx); close(flushed) }()
	<-taken
	return release, flushed
}

// capSessions gives a user two live sessions: used, last seen by the table
// five hours ago, and other, an hour ago; then used is used now (a touch,
// queued). A sign-in keeping one session must revoke other.
func capSessions(t *testing.T, c *Cached, email string) (used, other models.Session, now time.Time) {
	t.Helper()
	ctx := context.Background()
	used = liveSession(t, c, email)
	now = time.Now().UTC().Truncate(time.Millisecond)
	if err := c.db.TouchSession(ctx, used.ID, now.Add(-5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	other = models.Session{UserID: used.UserID, CreatedAt: now, LastSeenAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour), RotatedAt: now}
	if err := c.CreateSession(ctx, &other, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.TouchSession(ctx, used.ID, now); err != nil {
		t.Fatal(err)
	}
	return used, other, now
}

// TestExcessSessionsCountLastSeenNotYetWritten: the sign-in past the session
// cap chooses the least recently used session by the last-seen times not yet
// written too — queued, or taken by a flush in flight that a stalled
// database holds (here a hook that never lets it write), or written by a
// flush that finished between the sign-in's read and its look at the queue. It neither waits
// for that flush nor revokes the session just used. (Before: it waited for
// the flush, and the hostile review's logins behind a row held FOR UPDATE
// took the full 5 s and then passed the cap.)
func TestExcessSessionsCountLastSeenNotYetWritten(t *testing.T) {
	for _, where := range []string{"queued", "held by a stalled flush", "written by a flush during the read"} {
		t.Run(where, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c := NewCached(ctx, openMemory(t), LocalBus{}, 100, time.Hour, slog.New(slog.DiscardHandler))
			used, other, now := capSessions(t, c, "cap@example.com")
			switch where {
			case "held by a stalled flush":
				release, flushed := holdFlush(ctx, c)
				defer func() { close(release); <-flushed }()
			case "written by a flush during the read":
				// The read saw the table before the flush wrote the use,
				// and the flush is over before the queue is looked at: the
				// use is in neither unless the sign-in reads again (found
				// by the hostile review).
				c.afterReadLastSeen = func() {
					c.afterReadLastSeen = nil
					if err := c.FlushTouches(ctx); err != nil {
						t.Error(err)
					}
				}
			}
			signIn, cancelSignIn := context.WithTimeout(ctx, 10*time.Second)
			defer cancelSignIn()
			ids, err := c.RevokeExcessSessions(signIn, used.UserID, 1, now)
			if err != nil {
				t.Fatalf("the sign-in's revocation: %v", err)
			}
			if len(ids) != 1 || ids[0] != other.ID {
				t.Fatalf("revoked %v, want only the session last used an hour ago (%s), not the one just used (%s)", ids, other.ID, used.ID)
			}
			if live, err := c.db.LiveSessions(ctx, used.UserID, now); err != nil || len(live) != 1 || live[0].ID != used.ID {
				t.Errorf("live sessions in the table: %v, %v; want only %s", live, err, used.ID)
			}
		})
	}
}
