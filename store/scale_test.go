package store_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

type limiter interface {
	Allow(ctx context.Context, key string) (time.Duration, error)
}

type lockout interface {
	Reserve(ctx context.Context, key string, limit int) (time.Duration, error)
	Fail(ctx context.Context, key string, limit int) (bool, error)
	Release(ctx context.Context, key string) error
	Reset(ctx context.Context, key string) error
	Clear(ctx context.Context, prefix string) error
}

// checkSharedCounters checks that two limiters (limit 5) and two lockouts
// (threshold 3) on one backing store behave as one: 3 of 8 events alternating
// between them are limited, and 3 failures spread over both lock the key.
// okWait and okLocked judge the reported durations.
func checkSharedCounters(t *testing.T, a, b limiter, la, lb lockout, okWait, okLocked func(time.Duration) bool) {
	t.Helper()
	limited := 0
	for i, l := range []limiter{a, b, a, b, a, b, a, b} {
		wait, err := l.Allow(ctx, "ip:1")
		if err != nil {
			t.Fatal(err)
		}
		if wait > 0 {
			limited++
			if !okWait(wait) {
				t.Errorf("event %d: wait %v", i+1, wait)
			}
		}
	}
	if limited != 3 {
		t.Errorf("%d of 8 limited, want 3", limited)
	}
	if w, _ := a.Allow(ctx, "ip:2"); w != 0 {
		t.Error("another key was limited")
	}
	for i, l := range []lockout{la, lb, la} {
		if wait, err := l.Reserve(ctx, "email:x", 3); err != nil || wait != 0 {
			t.Fatalf("attempt %d: wait %v, err %v", i+1, wait, err)
		}
		locked, err := l.Fail(ctx, "email:x", 3)
		if err != nil {
			t.Fatal(err)
		}
		if locked != (i == 2) {
			t.Errorf("failure %d: locked = %v", i+1, locked)
		}
	}
	if w, _ := lb.Reserve(ctx, "email:x", 3); !okLocked(w) {
		t.Errorf("Reserve on a locked key: wait %v", w)
	}
	_ = lb.Reset(ctx, "email:x")
	if w, _ := la.Reserve(ctx, "email:x", 3); w == 0 {
		t.Error("Reset lifted an active lockout")
	}
}

func TestDBLimiterAndLockoutAreShared(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		db := storetest.Open(t, url)
		now := time.Date(2026, 11, 23, 12, 0, 30, 0, time.UTC)
		clock := func() time.Time { return now }
		// Two limiters on one database behave as one.
		a, b := store.NewDBLimiter(db, 5, time.Minute, clock), store.NewDBLimiter(db, 5, time.Minute, clock)
		la, lb := store.NewDBLockout(db, 15*time.Minute, clock), store.NewDBLockout(db, 15*time.Minute, clock)
		checkSharedCounters(t, a, b, la, lb, func(wait time.Duration) bool { return wait == 30*time.Second },
			func(locked time.Duration) bool { return locked == 15*time.Minute })
		now = now.Add(16 * time.Minute)
		if w, _ := la.Reserve(ctx, "email:x", 3); w != 0 {
			t.Error("lockout outlived its duration")
		}
		_ = la.Reset(ctx, "email:x")
		// Expired counters are pruned; live ones stay.
		if _, err := la.Reserve(ctx, "email:y", 3); err != nil {
			t.Fatal(err)
		}
		// (the pruner keeps no grace here: Keep 0)
		r := store.Retention{Now: now, RateWindow: time.Minute, LockoutDuration: 15 * time.Minute}
		if _, _, err := db.Prune(ctx, r, db.PruneSteps()); err != nil {
			t.Fatal(err)
		}
		var lockouts, counters int
		var key string
		_ = db.SQL().QueryRow("SELECT COUNT(*), MIN(key) FROM lockouts").Scan(&lockouts, &key)
		if lockouts != 1 || key != "email:y" {
			t.Errorf("lockouts after pruning: %d (%s), want only email:y", lockouts, key)
		}
		_ = db.SQL().QueryRow("SELECT COUNT(*) FROM rate_counters").Scan(&counters)
		if counters != 0 {
			t.Errorf("%d rate counters left after their window", counters)
		}
	})
}

// TestCacheInvalidationAcrossInstances runs two cached stores on one
// PostgreSQL database, as two instances would, over each bus.
func TestCacheInvalidationAcrossInstances(t *testing.T) {
	url := storetest.PostgresURL(t)
	db1, db2 := storetest.Open(t, url), storetest.Open(t, url)
	log := slog.New(slog.DiscardHandler)
	for name, mk := range map[string]func(*store.DB) store.Bus{
		"notify": func(db *store.DB) store.Bus { return store.NewNotifyBus(db, url, log) },
		"poll":   func(db *store.DB) store.Bus { return store.NewPollBus(db, 50*time.Millisecond, log) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b1, b2 := signalling(mk(db1)), signalling(mk(db2))
			c1 := store.NewCached(ctx, db1, b1, 100, time.Second, log)
			c2 := store.NewCached(ctx, db2, b2, 100, time.Second, log)
			for _, b := range []readyBus{b1, b2} {
				select {
				case <-b.ready:
				case <-time.After(10 * time.Second):
					t.Fatal("a bus never started listening")
				}
			}
			u := newUser(name + "@example.com")
			if err := c1.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC().Truncate(time.Millisecond)
			s := &models.Session{UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), RotatedAt: now}
			if err := c1.CreateSession(ctx, s, 0); err != nil {
				t.Fatal(err)
			}
			if _, _, err := c2.SessionWithUser(ctx, s.ID, false); err != nil { // cached on instance 2
				t.Fatal(err)
			}
			if _, err := c1.RevokeSession(ctx, s.ID, now); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "instance 2 to see the revocation", func() bool {
				got, _, err := c2.SessionWithUser(ctx, s.ID, false)
				return err == nil && got.RevokedAt != nil
			})
			role := models.RoleAdmin
			_, u2, _ := c2.SessionWithUser(ctx, s.ID, false)
			if u2.Role != models.RoleUser {
				t.Fatalf("role = %s", u2.Role)
			}
			if _, err := c1.UpdateUser(ctx, u.ID, models.UserChange{Role: &role}, now, nil); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "instance 2 to see the promotion", func() bool {
				_, got, err := c2.SessionWithUser(ctx, s.ID, false)
				return err == nil && got.Role == models.RoleAdmin
			})
		})
	}
}

// readyBus closes ready when its bus first starts delivering (its first
// reset), so a test can wait for both listeners instead of sleeping.
type readyBus struct {
	store.Bus
	ready chan struct{}
	once  *sync.Once
}

func signalling(b store.Bus) readyBus {
	return readyBus{Bus: b, ready: make(chan struct{}), once: &sync.Once{}}
}

func (b readyBus) Run(ctx context.Context, onKey func(string), onReset func()) {
	b.Bus.Run(ctx, onKey, func() {
		onReset()
		b.once.Do(func() { close(b.ready) })
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited over 1 s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCacheFillRacingRevocationIsDropped(t *testing.T) {
	db := storetest.Open(t, "sqlite::memory:")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := store.NewCached(ctx, db, store.LocalBus{}, 100, time.Second, slog.New(slog.DiscardHandler))
	u := newUser("race@example.com")
	_ = c.CreateUser(ctx, u)
	now := time.Now().UTC().Truncate(time.Millisecond)
	s := &models.Session{UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), RotatedAt: now}
	_ = c.CreateSession(ctx, s, 0)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() { defer wg.Done(); _, _, _ = c.SessionWithUser(ctx, s.ID, false) }()
	}
	_, _ = c.RevokeSession(ctx, s.ID, now)
	wg.Wait()
	got, _, err := c.SessionWithUser(ctx, s.ID, false)
	if err != nil || got.RevokedAt == nil {
		t.Errorf("after revocation the cache serves a live session: %+v %v", got, err)
	}
}
