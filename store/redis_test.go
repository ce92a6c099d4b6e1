package store_test

import (
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-auth/portcullis/store"
)

// TestRedisLimiterAndLockout needs AUTH_TEST_REDIS_URL (set by .ci/run).
func TestRedisLimiterAndLockout(t *testing.T) {
	url := os.Getenv("AUTH_TEST_REDIS_URL")
	if url == "" {
		t.Skip("Redis tests skipped: set AUTH_TEST_REDIS_URL=redis://127.0.0.1:6379/0 to run them")
	}
	rdb, err := store.OpenRedis(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	prefix := "portcullis-test:" + uuid.NewString() + ":"
	a, b := store.NewRedisLimiter(rdb, 5, time.Minute, prefix), store.NewRedisLimiter(rdb, 5, time.Minute, prefix)
	la, lb := store.NewRedisLockout(rdb, time.Minute, prefix), store.NewRedisLockout(rdb, time.Minute, prefix)
	checkSharedCounters(t, a, b, la, lb, func(wait time.Duration) bool { return wait > 0 && wait <= time.Minute },
		func(locked time.Duration) bool { return locked > 0 && locked <= time.Minute })
	rdb.Del(ctx, prefix+"locked:email:x")
}
