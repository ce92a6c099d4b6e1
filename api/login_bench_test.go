package api_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"portcullis/api"
	"portcullis/config"
	"portcullis/session"
	"portcullis/store"
	"portcullis/store/storetest"
)

// BenchmarkLogin is POST /auth/login with production argon2id parameters,
// 64 at a time; compare with session.BenchmarkHash for the overhead.
func BenchmarkLogin(b *testing.B) {
	cfg, _ := config.Load(func(k string) string {
		return map[string]string{"AUTH_COOKIE_SECURE": "false", "AUTH_RATE_LIMIT_IP": "1000000/s"}[k]
	})
	db := storetest.Open(b, "sqlite::memory:")
	cached := store.NewCached(b.Context(), db, store.LocalBus{}, 1000, time.Second, slog.New(slog.DiscardHandler))
	keys, _ := session.NewKeyRing(session.GenerateKey("k"))
	h := api.New(api.Deps{
		Config: cfg, Store: cached, Keys: keys, Hasher: session.NewHasher(1, 64, nil),
		IPLimiter: store.NewMemoryLimiter(1000000, time.Second, time.Now), Lockout: store.NewMemoryLockout(10, time.Minute, time.Now),
		Logger: slog.New(slog.NewJSONHandler(discardWriter{}, nil)),
	})
	post := func(path, body string) int {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req.WithContext(context.Background()))
		return rec.Code
	}
	if c := post("/auth/register", `{"email":"ada@example.com","password":"correct horse battery staple","name":"Ada"}`); c != 201 {
		b.Fatal(c)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	jobs := make(chan struct{})
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				if c := post("/auth/login", `{"email":"ada@example.com","password":"correct horse battery staple"}`); c != 200 {
					b.Error(c)
				}
			}
		}()
	}
	// A classic b.N loop: the timer runs until every login has finished.
	for range b.N {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
}
