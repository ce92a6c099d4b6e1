package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/store/storetest"
)

// TestShortAccessTokenLivesItsLifetime: exp is in whole seconds; a token
// issued late in a second must still live its whole lifetime (rounded up),
// not die at the next second boundary. With AUTH_ACCESS_TTL=1s a truncated
// exp gave such a token a life of milliseconds, so a client that had just
// refreshed met a dead token on its retry.
func TestShortAccessTokenLivesItsLifetime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL, withEnv(map[string]string{"AUTH_ACCESS_TTL": "1s"}))
		// Late in a second: 900 ms past it.
		now := h.clock.Now()
		h.clock.Advance(time.Duration(1e9-now.Nanosecond()) + 900*time.Millisecond)
		c := h.register("ada@example.com")
		r := c.do("POST", "/auth/token", "grant_type=password&username=ada@example.com&password=correct+horse+battery+staple",
			"Content-Type", "application/x-www-form-urlencoded")
		wantStatus(t, r, http.StatusOK, "password grant")
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		r.json(t, &tok)
		me := func() response {
			return h.client().do("GET", "/auth/me", nil, "Authorization", "Bearer "+tok.AccessToken)
		}

		h.clock.Advance(950 * time.Millisecond) // within the lifetime, past the next second
		wantStatus(t, me(), http.StatusOK, "0.95 s into a 1 s lifetime")
		h.clock.Advance(150 * time.Millisecond) // 1.1 s: past the lifetime, rounded up
		r = me()
		wantStatus(t, r, http.StatusUnauthorized, "1.1 s into a 1 s lifetime")
	})
}
