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

// MemoryLimiter is a per-key token bucket (golang.org/x/time/rate) held in
// this process: events per period, with a burst of the whole allowance.
type MemoryLimiter struct {
	mu      sync.Mutex
	limit   rate.Limit
	burst   int
	idle    time.Duration
	buckets map[string]*bucket
	now     func() time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewMemoryLimiter allows events per period for each key.
func NewMemoryLimiter(events int, per time.Duration, now func() time.Time) *MemoryLimiter {
	return &MemoryLimiter{
		limit: rate.Every(per / time.Duration(events)), burst: events, idle: per,
		buckets: map[string]*bucket{}, now: now,
	}
}

// Allow takes one event for key. It returns 0 when allowed, else how long
// until the next event would be.
func (l *MemoryLimiter) Allow(_ context.Context, key string) (time.Duration, error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxTrackedKeys {
			for k, v := range l.buckets {
				if now.Sub(v.seen) > l.idle {
					delete(l.buckets, k)
				}
			}
		}
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[key] = b
	}
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
	entries   map[string]*lockEntry
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
	return &MemoryLockout{threshold: threshold, duration: duration, entries: map[string]*lockEntry{}, now: now}
}

// Locked returns how long key stays locked, or 0.
func (l *MemoryLockout) Locked(_ context.Context, key string) (time.Duration, error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.entries[key]; ok && now.Before(e.lockedUntil) {
		return e.lockedUntil.Sub(now), nil
	}
	return 0, nil
}

// Fail records a failure for key and reports whether it locked the key.
func (l *MemoryLockout) Fail(_ context.Context, key string) (bool, error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[key]
	if !ok {
		if len(l.entries) >= maxTrackedKeys {
			for k, v := range l.entries {
				if now.Sub(v.lastFailure) > l.duration && now.After(v.lockedUntil) {
					delete(l.entries, k)
				}
			}
		}
		e = &lockEntry{}
		l.entries[key] = e
	}
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
	if e, ok := l.entries[key]; ok && !l.now().Before(e.lockedUntil) {
		delete(l.entries, key)
	}
	return nil
}
