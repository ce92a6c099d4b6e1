package store_test

import (
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/store"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

// TestRedisLimiterAndLockout needs AUTH_TEST_REDIS_URL (set by .ci/run).
func TestRedisLimiterAndLockout(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.RedisPrefix(t, rdb)
	a, b := store.NewRedisLimiter(rdb, 5, time.Minute, prefix), store.NewRedisLimiter(rdb, 5, time.Minute, prefix)
	la, lb := store.NewRedisLockout(rdb, time.Minute, prefix), store.NewRedisLockout(rdb, time.Minute, prefix)
	checkSharedCounters(t, a, b, la, lb, func(wait time.Duration) bool { return wait > 0 && wait <= time.Minute },
		func(locked time.Duration) bool { return locked > 0 && locked <= time.Minute })
}

// TestRedisTestsLeaveNoKeys: the keys a test's limiter and lockout write
// under storetest.RedisPrefix are gone once the test ends.
func TestRedisTestsLeaveNoKeys(t *testing.T) {
	rdb := storetest.Redis(t)
	var prefix string
	t.Run("writes", func(t *testing.T) {
		prefix = storetest.RedisPrefix(t, rdb)
		if _, err := store.NewRedisLimiter(rdb, 5, time.Minute, prefix).Allow(ctx, "ip:1"); err != nil {
			t.Fatal(err)
		}
		l := store.NewRedisLockout(rdb, time.Minute, prefix)
		for range 3 {
			if _, err := l.Reserve(ctx, "email:x", 3); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Fail(ctx, "email:x", 3); err != nil {
				t.Fatal(err)
			}
		}
		if keys, _ := rdb.Keys(ctx, "*"+prefix+"*").Result(); len(keys) < 2 {
			t.Fatalf("the test wrote only %q", keys)
		}
	})
	if keys, err := rdb.Keys(ctx, "*"+prefix+"*").Result(); err != nil || len(keys) != 0 {
		t.Errorf("left behind: %q (%v)", keys, err)
	}
}
