package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/config"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

// lockoutStores runs fn once per lockout store the router can use: memory,
// the database under test, and Redis when AUTH_TEST_REDIS_URL is set.
func lockoutStores(t *testing.T, dbURL string, fn func(t *testing.T, use option)) {
	t.Run("memory", func(t *testing.T) { fn(t, func(*config.Config, *api.Deps) {}) })
	t.Run("database", func(t *testing.T) {
		db := storetest.Open(t, dbURL)
		fn(t, func(c *config.Config, d *api.Deps) { d.Lockout = store.NewDBLockout(db, c.LockoutDuration, time.Now) })
	})
	t.Run("redis", func(t *testing.T) {
		rdb := storetest.Redis(t)
		prefix := storetest.RedisPrefix(t, rdb)
		fn(t, func(c *config.Config, d *api.Deps) { d.Lockout = store.NewRedisLockout(rdb, c.LockoutDuration, prefix) })
	})
}

// all sends n requests at once and returns their statuses and headers.
func all(n int, send func(i int) response) []response {
	out := make([]response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = send(i)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// TestParallelGuessesStopAtTheThreshold sends 30 wrong passwords at once to
// login and to the password grant: exactly AUTH_LOCKOUT_THRESHOLD of them are
// checked (hashed: the hasher counts) and the rest are refused with 429 and
// Retry-After, on every lockout store; the right password afterwards is refused too. (Before, every request
// already queued for a hashing worker got its guess: 30 × 401, then 200.)
func TestParallelGuessesStopAtTheThreshold(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		lockoutStores(t, dbURL, func(t *testing.T, use option) {
			h := newHarness(t, dbURL, withEnv(map[string]string{"AUTH_LOCKOUT_THRESHOLD": "10", "AUTH_RATE_LIMIT_IP": "1000/m"}), use)
			for _, grant := range []bool{false, true} {
				email := fmt.Sprintf("grant-%v-%s@example.com", grant, uuid.NewString()[:8])
				h.register(email)
				try := func(pw string) response {
					if grant {
						return h.client().do("POST", "/auth/token", form("grant_type", "password", "username", email, "password", pw),
							"Content-Type", formType)
					}
					return h.client().do("POST", "/auth/login", map[string]any{"email": email, "password": pw})
				}
				hashes := h.hasher.Count()
				rs := all(30, func(i int) response { return try(fmt.Sprintf("wrong guess number %d", i)) })
				// The work, not only the answers: a guess past the limit is
				// refused before it is hashed.
				if n := h.hasher.Count() - hashes; n != 10 {
					t.Errorf("grant=%v: %d password hashes for 30 parallel guesses, want exactly 10", grant, n)
				}
				checked, limited := 0, 0
				for _, r := range rs {
					switch r.status {
					case http.StatusTooManyRequests:
						limited++
						if r.header.Get("Retry-After") == "" {
							t.Errorf("429 without Retry-After: %s", r.body)
						}
					case http.StatusUnauthorized, http.StatusBadRequest: // login, grant
						checked++
					default:
						t.Errorf("status %d %s", r.status, r.body)
					}
				}
				if checked != 10 || limited != 20 {
					t.Errorf("grant=%v: %d guesses checked and %d limited, want 10 and 20", grant, checked, limited)
				}
				r := try(goodPassword)
				wantStatus(t, r, http.StatusTooManyRequests, "the right password after the parallel guesses")
			}
		})
	})
}

// TestNoSessionFromAnOldPasswordOutlivesItsChange races 40 logins with the
// old password against a password change, several times: once the change
// has answered, no session those logins created may still work. (Before,
// logins that had read the old hash inserted live sessions after the change
// had revoked the others.)
func TestNoSessionFromAnOldPasswordOutlivesItsChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL, withEnv(map[string]string{"AUTH_RATE_LIMIT_IP": "100000/m", "AUTH_LOCKOUT_THRESHOLD": "1000"}))
		email := "racer-" + uuid.NewString()[:8] + "@example.com"
		owner := h.register(email)
		passwords := []string{goodPassword, "a brand new passphrase one", "a brand new passphrase two", "a brand new passphrase three"}
		for round := 1; round < len(passwords); round++ {
			old, next := passwords[round-1], passwords[round]
			var mu sync.Mutex
			var signedIn []*client
			rs := all(41, func(i int) response {
				if i == 40 {
					return owner.do("POST", "/auth/password", map[string]any{"currentPassword": old, "newPassword": next})
				}
				c := h.client()
				r := c.do("POST", "/auth/login", map[string]any{"email": email, "password": old})
				if r.status == http.StatusOK {
					mu.Lock()
					signedIn = append(signedIn, c)
					mu.Unlock()
				}
				return r
			})
			wantStatus(t, rs[40], http.StatusNoContent, "password change")
			for _, r := range rs[:40] {
				if r.status != http.StatusOK && r.status != http.StatusUnauthorized {
					t.Errorf("login during the change: %d %s", r.status, r.body)
				}
			}
			for _, c := range signedIn {
				if r := c.do("GET", "/auth/me", nil); r.status != http.StatusUnauthorized {
					t.Fatalf("round %d: a session from the old password still answers %d after the change", round, r.status)
				}
			}
			wantStatus(t, owner.do("GET", "/auth/me", nil), http.StatusOK, "the changer's own session")
		}
	})
}

// TestWrongCurrentPasswordCountsTowardTheLockout makes POST /auth/password
// no free oracle: wrong current passwords are audited and lock the (email,
// address) pair like failed logins.
func TestWrongCurrentPasswordCountsTowardTheLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL, withEnv(map[string]string{"AUTH_LOCKOUT_THRESHOLD": "3"}))
		email := "oracle-" + uuid.NewString()[:8] + "@example.com"
		c := h.register(email)
		for i := range 3 {
			r := c.do("POST", "/auth/password", map[string]any{"currentPassword": fmt.Sprintf("not it %d", i), "newPassword": "another long passphrase"})
			wantStatus(t, r, http.StatusUnprocessableEntity, "wrong current password")
		}
		r := c.do("POST", "/auth/password", map[string]any{"currentPassword": goodPassword, "newPassword": "another long passphrase"})
		wantStatus(t, r, http.StatusTooManyRequests, "the right current password once locked")
		if r.header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		wantStatus(t, h.client().do("POST", "/auth/login", map[string]any{"email": email, "password": goodPassword}),
			http.StatusTooManyRequests, "login from the same address")
		if n := len(eventsOf(t, h, email, models.EventPasswordChangeFailed)); n != 3 {
			t.Errorf("%d password_change_failed events, want 3", n)
		}
	})
}

// eventsOf returns the audit events of one type recorded for an email.
func eventsOf(t *testing.T, h *harness, email string, typ models.EventType) []models.AuditEvent {
	t.Helper()
	var out []models.AuditEvent
	for _, e := range events(t, h, typ) {
		if e.Email == email {
			out = append(out, e)
		}
	}
	return out
}

// TestLockoutLocksTheAttackerNotTheOwner: failures lock the (email,
// address) pair, so the owner can still sign in from elsewhere; the email
// locks for everyone only at AUTH_LOCKOUT_GLOBAL_THRESHOLD; an administrator
// lifts both; existing and unknown emails answer alike throughout.
func TestLockoutLocksTheAttackerNotTheOwner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL, withEnv(map[string]string{
			"AUTH_TRUSTED_PROXIES": "127.0.0.1/32", "AUTH_LOCKOUT_THRESHOLD": "3", "AUTH_LOCKOUT_GLOBAL_THRESHOLD": "8",
		}))
		root := makeAdmin(t, h, "root-"+uuid.NewString()[:8]+"@example.com")
		owner := "owner-" + uuid.NewString()[:8] + "@example.com"
		h.register(owner)
		ghost := "ghost-" + uuid.NewString()[:8] + "@example.com"
		from := func(email, addr, password string) int {
			return h.client().do("POST", "/auth/login", map[string]any{"email": email, "password": password}, "X-Forwarded-For", addr).status
		}
		var seen [2][]int
		for i, email := range []string{owner, ghost} {
			for range 4 {
				seen[i] = append(seen[i], from(email, "203.0.113.9", "a wrong guess here"))
			}
			// The same attacker on another address of its IPv6 /64 is the same pair.
			seen[i] = append(seen[i], from(email, "2001:db8:1:2::1", "wrong"), from(email, "2001:db8:1:2::2", "wrong"),
				from(email, "2001:db8:1:2::3", "wrong"), from(email, "2001:db8:1:2:ffff::9", "wrong"))
		}
		if fmt.Sprint(seen[0]) != fmt.Sprint(seen[1]) {
			t.Errorf("existing %v and unknown %v emails answer differently", seen[0], seen[1])
		}
		if want := "[401 401 401 429 401 401 401 429]"; fmt.Sprint(seen[0]) != want {
			t.Errorf("attacker statuses %v, want %s", seen[0], want)
		}
		if s := from(owner, "198.51.100.7", goodPassword); s != http.StatusOK {
			t.Errorf("the owner from another address: %d, want 200 while the attacker's pairs are locked", s)
		}
		// Failures from many addresses add up to the global lock (8).
		for i := range 8 {
			from(owner, fmt.Sprintf("192.0.2.%d", i+1), "a wrong guess here")
		}
		if s := from(owner, "198.51.100.7", goodPassword); s != http.StatusTooManyRequests {
			t.Errorf("the owner after %d failures from everywhere: %d, want 429", 8, s)
		}
		for _, email := range []string{owner, ghost} {
			wantStatus(t, root.do("DELETE", "/admin/lockouts?email="+strings.ToUpper(email), nil), http.StatusNoContent, "lift the lockout")
		}
		if s := from(owner, "203.0.113.9", goodPassword); s != http.StatusOK {
			t.Errorf("after the lockout was lifted: %d, want 200", s)
		}
		wantStatus(t, root.do("DELETE", "/admin/lockouts", nil), http.StatusBadRequest, "lift without an email")
		wantStatus(t, h.register("plain-"+uuid.NewString()[:8]+"@example.com").do("DELETE", "/admin/lockouts?email="+owner, nil),
			http.StatusForbidden, "lift by a non-administrator")
	})
}

// TestExpiredTokenLogsOutOnlyItsOwnSession: with an expired access token, or
// only the refresh cookie, logout ends that one session but cannot end the
// others.
func TestExpiredTokenLogsOutOnlyItsOwnSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		email := "leak-" + uuid.NewString()[:8] + "@example.com"
		old := h.register(email)
		other := login(t, h, email)
		leaked := old.cookieValue("/", "__Host-session")
		h.clock.Advance(20 * time.Minute) // past the 15-minute access lifetime
		for _, scope := range []string{"global", "others"} {
			r := h.client().do("POST", "/auth/logout?scope="+scope, nil, "Authorization", "Bearer "+leaked)
			wantStatus(t, r, http.StatusUnauthorized, "scope="+scope+" with an expired token")
			if code := r.errorCode(t); code != "token_expired" {
				t.Errorf("scope=%s: code %q, want token_expired", scope, code)
			}
			r = old.do("POST", "/auth/logout?scope="+scope, nil) // only the refresh cookie reaches /auth
			wantStatus(t, r, http.StatusUnauthorized, "scope="+scope+" with the refresh cookie")
		}
		refreshed := other.do("POST", "/auth/refresh", nil)
		wantStatus(t, refreshed, http.StatusOK, "the other device is still signed in")
		wantStatus(t, h.client().do("POST", "/auth/logout?scope=local", nil, "Authorization", "Bearer "+leaked), http.StatusNoContent, "local with the expired token")
		wantStatus(t, old.do("POST", "/auth/refresh", nil), http.StatusUnauthorized, "the leaked token's session is over")
		wantStatus(t, other.do("GET", "/auth/me", nil), http.StatusOK, "the other device")
	})
}

// TestFailedLoginsKeepOnlyEmailAddresses: a password typed into the email
// field must not end up in the audit log.
func TestFailedLoginsKeepOnlyEmailAddresses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		root := makeAdmin(t, h, "root-"+uuid.NewString()[:8]+"@example.com")
		typed := "my secret passphrase " + uuid.NewString()[:8]
		wantStatus(t, h.client().do("POST", "/auth/login", map[string]any{"email": typed, "password": "whatever it was"}),
			http.StatusUnauthorized, "login with a password as the email")
		ghost := "ghost-" + uuid.NewString()[:8] + "@example.com"
		wantStatus(t, h.client().do("POST", "/auth/login", map[string]any{"email": ghost, "password": "whatever it was"}),
			http.StatusUnauthorized, "login with an unknown email")
		r := root.do("GET", "/admin/audit?type=login_failed", nil)
		wantStatus(t, r, http.StatusOK, "audit")
		if strings.Contains(string(r.body), typed) {
			t.Errorf("the audit log holds what was typed as the email: %s", r.body)
		}
		if !strings.Contains(string(r.body), ghost) {
			t.Errorf("the audit log lost a valid but unknown email: %s", r.body)
		}
	})
}

// TestIDSpellingsRevokeAtOnce: a session or user id in upper case, without
// dashes or in braces names the same record, and revoking through it evicts
// the caches, so the revoked cookie fails at its very next request.
func TestIDSpellingsRevokeAtOnce(t *testing.T) {
	spellings := map[string]func(string) string{
		"upper":     strings.ToUpper,
		"no dashes": func(id string) string { return strings.ReplaceAll(id, "-", "") },
		"braces":    func(id string) string { return "{" + strings.ToUpper(id) + "}" },
	}
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		root := makeAdmin(t, h, "root-"+uuid.NewString()[:8]+"@example.com")
		for name, spell := range spellings {
			email := "spell-" + uuid.NewString()[:8] + "@example.com"
			laptop := h.register(email)
			phone := login(t, h, email)
			wantStatus(t, phone.do("GET", "/auth/me", nil), http.StatusOK, "phone before") // now cached
			var me handlers.AuthResponse
			phone.do("GET", "/auth/me", nil).json(t, &me)
			wantStatus(t, laptop.do("DELETE", "/auth/sessions/"+spell(me.Session.ID), nil), http.StatusNoContent, name+": revoke the phone")
			wantStatus(t, phone.do("GET", "/auth/me", nil), http.StatusUnauthorized, name+": the phone right after")

			wantStatus(t, laptop.do("GET", "/auth/me", nil), http.StatusOK, "laptop before") // cached too
			r := root.do("PATCH", "/admin/users/"+spell(me.User.ID), map[string]any{"disabled": true})
			wantStatus(t, r, http.StatusOK, name+": disable the user")
			wantStatus(t, laptop.do("GET", "/auth/me", nil), http.StatusUnauthorized, name+": the disabled user's laptop right after")
		}
	})
}

// TestCrossDemotionNeverFails repeats two administrators demoting each other
// at once: each round answers 200 and 409 (or 403 once demoted), never 500,
// and one administrator always remains. On PostgreSQL the old row locking
// deadlocked here.
func TestCrossDemotionNeverFails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		root := makeAdmin(t, h, "root-"+uuid.NewString()[:8]+"@example.com")
		a := makeAdmin(t, h, "a-"+uuid.NewString()[:8]+"@example.com")
		b := makeAdmin(t, h, "b-"+uuid.NewString()[:8]+"@example.com")
		rootID, aID, bID := userID(t, root), userID(t, a), userID(t, b)
		for round := range 15 {
			// Only a and b are admins: demote root, then race.
			wantStatus(t, a.do("PATCH", "/admin/users/"+rootID, map[string]any{"role": "user"}), http.StatusOK, "demote root")
			rs := all(2, func(i int) response {
				if i == 0 {
					return a.do("PATCH", "/admin/users/"+bID, map[string]any{"role": "user"})
				}
				return b.do("PATCH", "/admin/users/"+aID, map[string]any{"role": "user"})
			})
			for _, r := range rs {
				if r.status != http.StatusOK && r.status != http.StatusConflict && r.status != http.StatusForbidden {
					t.Fatalf("round %d: status %d %s", round, r.status, r.body)
				}
			}
			n, err := h.db.CountActiveAdmins(context.Background())
			if err != nil || n != 1 {
				t.Fatalf("round %d: %d administrators left (%v), want 1", round, n, err)
			}
			// Whoever is left promotes everyone back.
			for _, c := range []*client{a, b} {
				if c.do("GET", "/admin/users?limit=1", nil).status == http.StatusOK {
					for _, id := range []string{rootID, aID, bID} {
						wantStatus(t, c.do("PATCH", "/admin/users/"+id, map[string]any{"role": "admin"}), http.StatusOK, "promote back")
					}
					break
				}
			}
		}
	})
}

// TestIntrospectionClientFailuresAreLimited: wrong Basic secrets are counted
// per client address; past the limit that address gets 429 with
// Retry-After, even with the right secret, while other addresses still work.
func TestIntrospectionClientFailuresAreLimited(t *testing.T) {
	h := newHarness(t, "sqlite::memory:", withEnv(map[string]string{
		"AUTH_INTROSPECT_CLIENTS": "gateway:a-long-gateway-secret", "AUTH_RATE_LIMIT_IP": "5/m", "AUTH_TRUSTED_PROXIES": "127.0.0.1/32",
	}))
	introspectAs := func(addr, secret string) response {
		return h.client().do("POST", "/auth/introspect", form("token", "x"), "Content-Type", formType,
			"Authorization", "Basic "+basic("gateway", secret), "X-Forwarded-For", addr)
	}
	var statuses []int
	for i := range 8 {
		r := introspectAs("203.0.113.50", fmt.Sprintf("guess-%d", i))
		statuses = append(statuses, r.status)
		if r.status == http.StatusTooManyRequests && r.header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	if want := "[401 401 401 401 401 429 429 429]"; fmt.Sprint(statuses) != want {
		t.Errorf("wrong secrets: %v, want %s", statuses, want)
	}
	wantStatus(t, introspectAs("203.0.113.50", "a-long-gateway-secret"), http.StatusTooManyRequests, "the right secret from the limited address")
	wantStatus(t, introspectAs("198.51.100.1", "a-long-gateway-secret"), http.StatusOK, "the right secret from another address")
}

// TestIPv6ClientsShareTheirPrefixBucket: the per-address limit keys IPv6 by
// its /64 and an IPv4-mapped address as its IPv4, so changing the low bits
// does not buy a fresh allowance.
func TestIPv6ClientsShareTheirPrefixBucket(t *testing.T) {
	h := newHarness(t, "sqlite::memory:", withEnv(map[string]string{"AUTH_RATE_LIMIT_IP": "3/m", "AUTH_TRUSTED_PROXIES": "127.0.0.1/32"}))
	for _, addrs := range [][]string{
		{"2001:db8:7:8::1", "2001:db8:7:8::2", "2001:db8:7:8:aaaa::3", "2001:db8:7:8:ffff:ffff:ffff:ffff"},
		{"198.51.100.20", "::ffff:198.51.100.20", "198.51.100.20", "::ffff:c633:6414"},
	} {
		var statuses []int
		for i, a := range addrs {
			r := h.client().do("POST", "/auth/login", map[string]any{"email": fmt.Sprintf("v6-%d@example.com", i), "password": "whatever it is"},
				"X-Forwarded-For", a)
			statuses = append(statuses, r.status)
		}
		if want := "[401 401 401 429]"; fmt.Sprint(statuses) != want {
			t.Errorf("%v: statuses %v, want %s", addrs, statuses, want)
		}
	}
	r := h.client().do("POST", "/auth/login", map[string]any{"email": "v6@example.com", "password": "whatever it is"}, "X-Forwarded-For", "2001:db8:7:9::1")
	wantStatus(t, r, http.StatusUnauthorized, "the next /64")
}

// TestOnlyABearerTokenSkipsTheCrossOriginCheck: an Authorization header that
// is not a well-formed Bearer token (Basic, which browsers attach by
// themselves on sites behind basic auth) exempts nothing, and no header
// exempts the routes that set cookies; a bearer logout still works from any
// origin and acts only on that token's session.
func TestOnlyABearerTokenSkipsTheCrossOriginCheck(t *testing.T) {
	h := newHarness(t, "sqlite::memory:")
	email := "victim-" + uuid.NewString()[:8] + "@example.com"
	victim := h.register(email)
	service := login(t, h, email)
	serviceToken := service.cookieValue("/", "__Host-session")
	cross := []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}
	withAuth := func(v string) []string { return append([]string{"Authorization", v}, cross...) }
	basicAuth := withAuth("Basic " + basic("someone", "their-site-password"))

	r := h.client().do("POST", "/auth/login", map[string]any{"email": email, "password": goodPassword}, basicAuth...)
	wantStatus(t, r, http.StatusForbidden, "cross-site login with Basic")
	if len(r.header.Values("Set-Cookie")) != 0 {
		t.Errorf("a refused login set cookies: %v", r.header.Values("Set-Cookie"))
	}
	wantStatus(t, victim.do("POST", "/auth/logout?scope=global", nil, basicAuth...), http.StatusForbidden, "cross-site logout with Basic")
	for _, path := range []string{"/auth/login", "/auth/register", "/auth/refresh"} {
		r := h.client().do("POST", path, registerBody("bearer-"+uuid.NewString()[:8]+"@example.com"), withAuth("Bearer "+serviceToken)...)
		wantStatus(t, r, http.StatusForbidden, "cross-site "+path+" with a bearer token")
	}
	wantStatus(t, h.client().do("POST", "/auth/logout?scope=global", nil, withAuth("Bearer not a token")...), http.StatusForbidden,
		"cross-site logout with a malformed bearer")
	wantStatus(t, victim.do("GET", "/auth/me", nil), http.StatusOK, "the victim is still signed in")

	// A bearer logout from anywhere ends that token's session only, and the
	// victim's cookies sent along are not read.
	wantStatus(t, victim.do("POST", "/auth/logout", nil, withAuth("Bearer "+serviceToken)...), http.StatusNoContent, "cross-site bearer logout")
	wantStatus(t, h.client().do("GET", "/auth/me", nil, "Authorization", "Bearer "+serviceToken), http.StatusUnauthorized, "the bearer's session")
	wantStatus(t, h.client().do("GET", "/auth/me", nil, "Cookie", "__Host-session="+victim.cookieValue("/", "__Host-session")),
		http.StatusOK, "the victim's own session")

	// Same-origin, an SPA behind basic auth keeps working on its cookies.
	behindBasic := []string{"Authorization", "Basic " + basic("someone", "their-site-password")}
	wantStatus(t, victim.do("GET", "/auth/me", nil, behindBasic...), http.StatusOK, "me behind basic auth")
	victimCookie := "__Host-session=" + victim.cookieValue("/", "__Host-session")
	wantStatus(t, victim.do("POST", "/auth/logout", nil, behindBasic...), http.StatusNoContent, "logout behind basic auth")
	wantStatus(t, h.client().do("GET", "/auth/me", nil, "Cookie", victimCookie), http.StatusUnauthorized,
		"the victim's session after logging out behind basic auth")
}

// TestMetricsLabelsDoNotGrowWithRequests: invented methods and paths add no
// series to /metrics (methods outside HTTP's standard ones count as OTHER).
func TestMetricsLabelsDoNotGrowWithRequests(t *testing.T) {
	h := newHarness(t, "sqlite::memory:")
	series := func() int {
		r := h.client().do("GET", "/metrics", nil)
		n := 0
		for _, line := range strings.Split(string(r.body), "\n") {
			if strings.HasPrefix(line, "portcullis_http_") {
				n++
			}
		}
		return n
	}
	junk := func(from, to int) {
		for i := from; i < to; i++ {
			h.client().do(fmt.Sprintf("XMETHOD%d", i), "/auth/me", nil)
			h.client().do("GET", fmt.Sprintf("/no/such/path/%d", i), nil)
		}
	}
	junk(0, 3)
	series() // the first scrape adds its own route's series
	before := series()
	junk(3, 40)
	if after := series(); after != before {
		t.Errorf("%d portcullis_http_ series after 37 more invented methods and paths, want %d", after, before)
	}
	body := string(h.client().do("GET", "/metrics", nil).body)
	if strings.Contains(body, "XMETHOD") || !strings.Contains(body, `method="OTHER"`) {
		t.Error("invented methods are labelled as sent, not as OTHER")
	}
}

// TestMetricsAddrMovesMetricsOffTheMainPort: with AUTH_METRICS_ADDR set the
// router has no /metrics (main serves it on that address).
func TestMetricsAddrMovesMetricsOffTheMainPort(t *testing.T) {
	h := newHarness(t, "sqlite::memory:", withEnv(map[string]string{"AUTH_METRICS_ADDR": "127.0.0.1:9090"}))
	wantStatus(t, h.client().do("GET", "/metrics", nil), http.StatusNotFound, "/metrics on the main port")
}

// TestSecurityHeaders: JSON answers forbid loading and framing anything,
// Swagger UI gets a policy it can run under and keeps no token in
// localStorage, and production adds HSTS.
func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t, "sqlite::memory:")
	for _, path := range []string{"/healthz", "/auth/me", "/no/such/path"} {
		r := h.client().do("GET", path, nil)
		if got := r.header.Get("Content-Security-Policy"); got != "default-src 'none'; frame-ancestors 'none'" {
			t.Errorf("%s: Content-Security-Policy %q", path, got)
		}
		if r.header.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS outside production", path)
		}
	}
	ui := h.client().do("GET", "/swagger/index.html", nil)
	if csp := ui.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Swagger UI Content-Security-Policy %q", csp)
	}
	init := h.client().do("GET", "/swagger/swagger-initializer.js", nil)
	if !strings.Contains(string(init.body), "persistAuthorization: false") {
		t.Errorf("Swagger UI persists authorization:\n%s", init.body)
	}
	prod := newHarness(t, "sqlite::memory:", withEnv(map[string]string{"AUTH_ENV": "production", "AUTH_SESSION_KEYS": h.key.String()}))
	if got := prod.client().do("GET", "/healthz", nil).header.Get("Strict-Transport-Security"); got != "max-age=63072000; includeSubDomains" {
		t.Errorf("production Strict-Transport-Security %q", got)
	}
}
