package store

import (
	"context"
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

// MemoryLockout counts failed logins per key (a normalised email) and locks
// the key for a while once the threshold is reached.
type MemoryLockout struct {
	mu        sync.Mutex
	threshold int
	duration  time.Duration
	entries   entries[*lockEntry]
	now       func() time.Time
}

type lockEntry struct {
	failures    int
	lastFailure time.Time
	lockedUntil time.Time
}

// NewMemoryLockout locks a key for duration after threshold failures, each
// within duration of the previous one.
func NewMemoryLockout(threshold int, duration time.Duration, now func() time.Time) *MemoryLockout {
	idle := func(e *lockEntry, now time.Time) bool {
		return now.Sub(e.lastFailure) > duration && now.After(e.lockedUntil)
	}
	return &MemoryLockout{threshold: threshold, duration: duration, entries: newEntries(idle), now: now}
}

// Locked returns how long key stays locked, or 0.
func (l *MemoryLockout) Locked(_ context.Context, key string) (time.Duration, error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.entries.m[key]; ok && now.Before(e.lockedUntil) {
		return e.lockedUntil.Sub(now), nil
	}
	return 0, nil
}

// Fail records a failure for key and reports whether it locked the key.
func (l *MemoryLockout) Fail(_ context.Context, key string) (bool, error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries.get(key, now, func() *lockEntry { return &lockEntry{} })
	if now.Sub(e.lastFailure) > l.duration {
		e.failures = 0
	}
	e.failures++
	e.lastFailure = now
	if e.failures >= l.threshold {
		e.failures = 0
		e.lockedUntil = now.Add(l.duration)
		return true, nil
	}
	return false, nil
}

// Reset forgets key's failures, after a successful login.
func (l *MemoryLockout) Reset(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.entries.m[key]; ok && !l.now().Before(e.lockedUntil) {
		delete(l.entries.m, key)
	}
	return nil
}
