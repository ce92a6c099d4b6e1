package store_test

import (
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"portcullis/store"
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
	limited := 0
	for i := range 8 {
		l := a
		if i%2 == 1 {
			l = b
		}
		wait, err := l.Allow(ctx, "ip:1")
		if err != nil {
			t.Fatal(err)
		}
		if wait > 0 {
			limited++
		}
	}
	if limited != 3 {
		t.Errorf("%d of 8 limited, want 3", limited)
	}
	la, lb := store.NewRedisLockout(rdb, 3, time.Minute, prefix), store.NewRedisLockout(rdb, 3, time.Minute, prefix)
	for i, l := range []*store.RedisLockout{la, lb, la} {
		locked, err := l.Fail(ctx, "email:x")
		if err != nil {
			t.Fatal(err)
		}
		if locked != (i == 2) {
			t.Errorf("failure %d: locked = %v", i+1, locked)
		}
	}
	if w, _ := lb.Locked(ctx, "email:x"); w <= 0 || w > time.Minute {
		t.Errorf("Locked = %v, want up to a minute", w)
	}
	_ = la.Reset(ctx, "email:x")
	if w, _ := la.Locked(ctx, "email:x"); w == 0 {
		t.Error("Reset lifted an active lockout")
	}
	rdb.Del(ctx, prefix+"locked:email:x")
}
