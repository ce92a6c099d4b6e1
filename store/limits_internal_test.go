package store

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// TestMemoryCountersStayBounded fills the in-memory limiter and lockout to
// their bound and checks that the next new key drops the idle entries and
// keeps the live ones.
func TestMemoryCountersStayBounded(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	lim := NewMemoryLimiter(5, time.Minute, clock)
	lock := NewMemoryLockout(time.Minute, clock)
	for i := range maxTrackedKeys {
		k := strconv.Itoa(i)
		_, _ = lim.Allow(ctx, k)
		_, _ = lock.Reserve(ctx, k, 3)
	}
	now = now.Add(2 * time.Minute)
	_, _ = lim.Allow(ctx, "live")
	for range 3 {
		_, _ = lock.Reserve(ctx, "live", 3)
		_, _ = lock.Fail(ctx, "live", 3) // the third locks until now + 1 min
	}
	if n := len(lim.buckets.m); n != 1 {
		t.Errorf("limiter holds %d keys after pruning, want 1", n)
	}
	if n := len(lock.entries.m); n != 1 {
		t.Errorf("lockout holds %d keys after pruning, want 1", n)
	}
	if wait, _ := lock.Reserve(ctx, "live", 3); wait <= 0 {
		t.Error("the live lockout was pruned")
	}
}
