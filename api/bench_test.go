package api_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/auth"
)

// benchRouter is the production middleware stack (logging at info, metrics,
// CORS, cross-origin check, caches) on an in-memory database, with one
// signed-in session.
func benchRouter(b *testing.B) (http.Handler, string) {
	h := apitest.Router(b, map[string]string{
		"AUTH_COOKIE_SECURE": "false", "AUTH_ALLOWED_ORIGINS": "https://app.example.com", "AUTH_RATE_LIMIT_IP": "1000000/s",
	}, func(d *api.Deps) {
		d.Hasher = auth.NewHasher(1, 8, testParams)
		d.Logger = slog.New(slog.NewJSONHandler(discardWriter{}, nil))
		d.AccessLog = discardWriter{} // as serve sets it: the logger's writer
	})
	rec := post(h, "/auth/register", `{"email":"ada@example.com","password":"correct horse battery staple","name":"Ada"}`)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "session" {
			return h, c.Value
		}
	}
	b.Fatalf("no session cookie: %d %s", rec.Code, rec.Body)
	return nil, ""
}

// post sends a JSON body straight to the handler.
func post(h http.Handler, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// benchGet measures one authenticated GET through the whole middleware.
func benchGet(b *testing.B, path, header string, value func(tok string) string) {
	h, tok := benchRouter(b)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set(header, value(tok))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkMe is GET /auth/me with a cookie.
func BenchmarkMe(b *testing.B) {
	benchGet(b, "/auth/me", "Cookie", func(tok string) string { return "session=" + tok })
}

// BenchmarkVerify is GET /auth/verify with a bearer token.
func BenchmarkVerify(b *testing.B) {
	benchGet(b, "/auth/verify", "Authorization", func(tok string) string { return "Bearer " + tok })
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
