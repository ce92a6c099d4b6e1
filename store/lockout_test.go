package store_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/store"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

// eachLockout runs fn against every lockout store: memory, the database of
// each kind, and Redis when AUTH_TEST_REDIS_URL is set.
func eachLockout(t *testing.T, fn func(t *testing.T, l lockout)) {
	t.Run("memory", func(t *testing.T) { fn(t, store.NewMemoryLockout(time.Minute, time.Now)) })
	storetest.Each(t, func(t *testing.T, url string) {
		fn(t, store.NewDBLockout(storetest.Open(t, url), time.Minute, time.Now))
	})
	t.Run("redis", func(t *testing.T) {
		rdb := storetest.Redis(t)
		fn(t, store.NewRedisLockout(rdb, time.Minute, storetest.RedisPrefix(t, rdb)))
	})
}

// TestLockoutReservesBeforeTheCheck sends 40 attempts at once on a key with
// a limit of 10: exactly 10 may be checked, and their failures lock the key
// exactly once.
func TestLockoutReservesBeforeTheCheck(t *testing.T) {
	eachLockout(t, func(t *testing.T, l lockout) {
		const limit, tries = 10, 40
		var allowed, locks atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range tries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				wait, err := l.Reserve(ctx, "email:a|", limit)
				if err != nil {
					t.Error(err)
					return
				}
				if wait > 0 {
					return
				}
				allowed.Add(1)
				locked, err := l.Fail(ctx, "email:a|", limit)
				if err != nil {
					t.Error(err)
				}
				if locked {
					locks.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		if allowed.Load() != limit || locks.Load() != 1 {
			t.Errorf("%d attempts checked and %d locks, want %d and 1", allowed.Load(), locks.Load(), limit)
		}
		if wait, _ := l.Reserve(ctx, "email:a|", limit); wait <= 0 || wait > time.Minute {
			t.Errorf("after the lock: wait %v, want up to a minute", wait)
		}
	})
}

// TestLockoutReleaseResetAndClear checks the other three operations: a
// released attempt is given back, a success forgets the count, and Clear
// lifts every lock under a prefix and nothing else.
func TestLockoutReleaseResetAndClear(t *testing.T) {
	eachLockout(t, func(t *testing.T, l lockout) {
		reserve := func(key string) time.Duration {
			t.Helper()
			wait, err := l.Reserve(ctx, key, 2)
			if err != nil {
				t.Fatal(err)
			}
			return wait
		}
		reserve("email:r|")
		reserve("email:r|")
		if reserve("email:r|") == 0 {
			t.Fatal("a third pending attempt was allowed with a limit of 2")
		}
		_ = l.Release(ctx, "email:r|")
		if reserve("email:r|") != 0 {
			t.Error("a released attempt was not given back")
		}
		_ = l.Reset(ctx, "email:r|")
		if reserve("email:r|") != 0 {
			t.Error("a success did not forget the attempts")
		}
		for _, k := range []string{"email:c@x.io|", "email:c@x.io|addr:192.0.2.1", "email:c@x.io.evil|"} {
			for range 2 {
				reserve(k)
				_, _ = l.Fail(ctx, k, 2)
			}
		}
		if err := l.Clear(ctx, "email:c@x.io|"); err != nil {
			t.Fatal(err)
		}
		if reserve("email:c@x.io|") != 0 || reserve("email:c@x.io|addr:192.0.2.1") != 0 {
			t.Error("Clear left a lock of the email")
		}
		if reserve("email:c@x.io.evil|") == 0 {
			t.Error("Clear lifted the lock of another email")
		}
	})
}
