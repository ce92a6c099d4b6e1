package store_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-auth/portcullis/store"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

// TestRedisLimiterAndLockout needs AUTH_TEST_REDIS_URL (set by .ci/run).
func TestRedisLimiterAndLockout(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := "portcullis-test:" + uuid.NewString() + ":"
	a, b := store.NewRedisLimiter(rdb, 5, time.Minute, prefix), store.NewRedisLimiter(rdb, 5, time.Minute, prefix)
	la, lb := store.NewRedisLockout(rdb, time.Minute, prefix), store.NewRedisLockout(rdb, time.Minute, prefix)
	checkSharedCounters(t, a, b, la, lb, func(wait time.Duration) bool { return wait > 0 && wait <= time.Minute },
		func(locked time.Duration) bool { return locked > 0 && locked <= time.Minute })
	rdb.Del(ctx, prefix+"locked:email:x")
}
