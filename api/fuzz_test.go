package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/handlers"
)

// FuzzJSONBodies sends arbitrary bodies through the real router to the JSON
// endpoints: every answer is a documented client status with the error
// envelope, never a 500.
func FuzzJSONBodies(f *testing.F) {
	for _, s := range []string{
		`{"email":"ada@example.com","password":"correct horse battery staple","name":"Ada"}`,
		`{"email":5}`, `[]`, `null`, `{"name":"\u0000"}`, `{"password":"` + strings.Repeat("x", 300) + `"}`,
		"{\"email\":\"\xff\"}", `{"email":"a@b.c","password":"p","rememberMe":"yes"}`,
	} {
		f.Add(s, "/auth/register")
		f.Add(s, "/auth/login")
	}
	h := apitest.Router(f, map[string]string{"AUTH_RATE_LIMIT_IP": "1000000/s", "AUTH_LOCKOUT_THRESHOLD": "1000000"},
		func(d *api.Deps) { d.Hasher = auth.NewHasher(2, 64, testParams) })
	allowed := map[int]bool{200: true, 201: true, 400: true, 401: true, 409: true, 413: true, 415: true, 422: true, 429: true}
	f.Fuzz(func(t *testing.T, body, path string) {
		if path != "/auth/register" {
			path = "/auth/login"
		}
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !allowed[rec.Code] {
			t.Fatalf("POST %s %q: status %d %s", path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var e handlers.ErrorResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("POST %s %q: %d body %s is not the error envelope", path, body, rec.Code, rec.Body)
			}
		}
	})
}
