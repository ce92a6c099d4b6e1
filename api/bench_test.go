package api_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"portcullis/api"
	"portcullis/config"
	"portcullis/session"
	"portcullis/store"
	"portcullis/store/storetest"
)

// benchRouter is the production middleware stack (logging at info, metrics,
// CORS, cross-origin check, caches) on an in-memory database, with one
// signed-in session.
func benchRouter(b *testing.B) (http.Handler, string) {
	cfg, _ := config.Load(func(k string) string {
		return map[string]string{"AUTH_COOKIE_SECURE": "false", "AUTH_ALLOWED_ORIGINS": "https://app.example.com", "AUTH_RATE_LIMIT_IP": "1000000/s"}[k]
	})
	db := storetest.Open(b, "sqlite::memory:")
	ctx := b.Context()
	cached := store.NewCached(ctx, db, store.LocalBus{}, 1000, time.Second, slog.New(slog.DiscardHandler))
	keys, _ := session.NewKeyRing(session.GenerateKey("k"))
	h := api.New(api.Deps{
		Config: cfg, Store: cached, Keys: keys.WithCache(1000), Hasher: session.NewHasher(1, 8, testParams),
		IPLimiter: store.NewMemoryLimiter(1000000, time.Second, time.Now), Lockout: store.NewMemoryLockout(10, time.Minute, time.Now),
		Logger: slog.New(slog.NewJSONHandler(discardWriter{}, nil)),
	})
	req := httptest.NewRequest("POST", "/auth/register", strings.NewReader(`{"email":"ada@example.com","password":"correct horse battery staple","name":"Ada"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "session" {
			return h, c.Value
		}
	}
	b.Fatalf("no session cookie: %d %s", rec.Code, rec.Body)
	return nil, ""
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkMe is GET /auth/me with a cookie through the whole middleware.
func BenchmarkMe(b *testing.B) {
	h, tok := benchRouter(b)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", "/auth/me", nil)
		req.Header.Set("Cookie", "session="+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkVerify is GET /auth/verify with a bearer token.
func BenchmarkVerify(b *testing.B) {
	h, tok := benchRouter(b)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", "/auth/verify", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkHealthz is the middleware alone, for comparison.
func BenchmarkHealthz(b *testing.B) {
	h, _ := benchRouter(b)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	}
}
