package store

import (
	"context"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxTrackedKeys bounds the memory of the in-memory counters; past it, idle
// entries are pruned.
const maxTrackedKeys = 100_000

// entries holds per-key state in memory, bounded: when it is full, adding a
// key first drops every entry idle reports as done with.
type entries[V any] struct {
	m    map[string]V
	idle func(v V, now time.Time) bool
}

func newEntries[V any](idle func(V, time.Time) bool) entries[V] {
	return entries[V]{m: map[string]V{}, idle: idle}
}

// get returns key's entry, creating it with fresh when absent.
func (e entries[V]) get(key string, now time.Time, fresh func() V) V {
	v, ok := e.m[key]
	if !ok {
		if len(e.m) >= maxTrackedKeys {
			for k, old := range e.m {
				if e.idle(old, now) {
					delete(e.m, k)
				}
			}
		}
		v = fresh()
		e.m[key] = v
	}
	return v
}

// MemoryLimiter is a per-key token bucket (golang.org/x/time/rate) held in
// this process: events per period, with a burst of the whole allowance.
type MemoryLimiter struct {
	mu      sync.Mutex
	limit   rate.Limit
	burst   int
	buckets entries[*bucket]
	now     func() time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewMemoryLimiter allows events per period for each key.
func NewMemoryLimiter(events int, per time.Duration, now func() time.Time) *MemoryLimiter {
	return &MemoryLimiter{
		limit: rate.Every(per / time.Duration(events)), burst: events, now: now,
		buckets: newEntries(func(b *bucket, now time.Time) bool { return now.Sub(b.seen) > per }),
	}
}

// Allow takes one event for key. It returns 0 when allowed, else how long
// until the next event would be.
func (l *MemoryLimiter) Allow(_ context.Context, key string) (time.Duration, error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets.get(key, now, func() *bucket { return &bucket{lim: rate.NewLimiter(l.limit, l.burst)} })
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, nil
	}
	return 0, nil
}

// MemoryLockout counts password attempts per key in this process and locks
// a key for a while once its limit of failures is reached.
type MemoryLockout struct {
	mu       sync.Mutex
	duration time.Duration
	entries  entries[*lockEntry]
	now      func() time.Time
}

type lockEntry struct {
	failures    int       // failed proofs in the window
	pending     int       // reserved proofs still being checked
	last        time.Time // the latest reservation
	lockedUntil time.Time
}

// NewMemoryLockout keeps counts for duration after the latest attempt and
// locks for duration.
func NewMemoryLockout(duration time.Duration, now func() time.Time) *MemoryLockout {
	idle := func(e *lockEntry, now time.Time) bool {
		return now.Sub(e.last) > duration && now.After(e.lockedUntil)
	}
	return &MemoryLockout{duration: duration, entries: newEntries(idle), now: now}
}

// Reserve counts one attempt for key unless the key is locked or limit
// attempts are already counted; then it returns how long to wait.
func (l *MemoryLockout) Reserve(_ context.Context, key string, limit int) (time.Duration, error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries.get(key, now, func() *lockEntry { return &lockEntry{} })
	if wait := lockWait(e, now, l.duration, limit); wait > 0 {
		return wait, nil
	}
	e.pending++
	e.last = now
	return 0, nil
}

// lockWait brings e up to date at now and returns how long a new attempt
// must wait: the rest of an active lock, the lockout duration while failed
// and pending attempts reach limit, else 0.
func lockWait(e *lockEntry, now time.Time, duration time.Duration, limit int) time.Duration {
	switch {
	case now.Before(e.lockedUntil):
		return e.lockedUntil.Sub(now)
	case !e.lockedUntil.IsZero() || now.Sub(e.last) > duration:
		*e = lockEntry{} // the lock, or the counting window, is over
	}
	if e.failures+e.pending >= limit {
		return duration
	}
	return 0
}

// empty reports whether e counts nothing at now.
func (e *lockEntry) empty(now time.Time) bool {
	return e.failures == 0 && e.pending == 0 && !now.Before(e.lockedUntil)
}

// settle resolves one pending attempt of e at now: failed, or not.
func settle(e *lockEntry, now time.Time, duration time.Duration, limit int, failed bool) (locked bool) {
	if e.pending > 0 {
		e.pending--
	}
	if !failed || now.Before(e.lockedUntil) {
		return false
	}
	e.failures++
	if e.failures < limit {
		return false
	}
	e.lockedUntil = now.Add(duration)
	return true
}

// Fail records that a reserved attempt failed and locks the key once limit
// failures are counted. It reports whether this call locked it.
func (l *MemoryLockout) Fail(_ context.Context, key string, limit int) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.entries.m[key]; ok {
		return settle(e, l.now(), l.duration, limit, true), nil
	}
	return false, nil
}

// Release returns a reserved attempt whose proof was never checked.
func (l *MemoryLockout) Release(_ context.Context, key string) error {
	l.settleKey(key, false)
	return nil
}

// Reset settles a successful attempt and forgets key's failures, unless the
// key is locked or other attempts are still being checked: a right password
// among parallel guesses must not give the guesses a fresh allowance.
func (l *MemoryLockout) Reset(_ context.Context, key string) error {
	l.settleKey(key, true)
	return nil
}

// settleKey settles a pending attempt of key that did not fail, forgetting
// the failures too when reset, and drops the entry once it counts nothing.
func (l *MemoryLockout) settleKey(key string, reset bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	e, ok := l.entries.m[key]
	if !ok {
		return
	}
	settle(e, now, l.duration, 0, false)
	if reset && e.pending == 0 && !now.Before(e.lockedUntil) {
		e.failures = 0
	}
	if e.empty(now) {
		delete(l.entries.m, key)
	}
}

// Clear forgets every key that starts with prefix, locks included.
func (l *MemoryLockout) Clear(_ context.Context, prefix string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.entries.m {
		if strings.HasPrefix(k, prefix) {
			delete(l.entries.m, k)
		}
	}
	return nil
}
