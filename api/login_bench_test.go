package api_test

import (
	"log/slog"
	"sync"
	"testing"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/api/apitest"
)

// BenchmarkLogin is POST /auth/login with production argon2id parameters,
// 64 at a time; compare with session.BenchmarkHash for the overhead.
func BenchmarkLogin(b *testing.B) {
	// 64 sign-ins at once to one account: the lockout, which reserves an
	// attempt per sign-in in flight, is raised out of the way.
	h := apitest.Router(b, map[string]string{"AUTH_COOKIE_SECURE": "false", "AUTH_RATE_LIMIT_IP": "1000000/s", "AUTH_LOCKOUT_THRESHOLD": "1000000"}, func(d *api.Deps) {
		d.Logger = slog.New(slog.NewJSONHandler(discardWriter{}, nil))
	})
	if rec := post(h, "/auth/register", `{"email":"ada@example.com","password":"correct horse battery staple","name":"Ada"}`); rec.Code != 201 {
		b.Fatal(rec.Code)
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
				if rec := post(h, "/auth/login", `{"email":"ada@example.com","password":"correct horse battery staple"}`); rec.Code != 200 {
					b.Error(rec.Code)
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
