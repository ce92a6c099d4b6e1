package auth_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store/storetest"
	"github.com/portcullis-auth/portcullis/token"
)

var fastParams = &argon2id.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// outcomes records what the service counts.
type outcomes struct {
	mu       sync.Mutex
	refresh  []auth.RefreshOutcome
	revoked  map[auth.Reason]int64
	attempts []auth.LoginOutcome
}

func (o *outcomes) Login(x auth.LoginOutcome) {
	o.mu.Lock()
	o.attempts = append(o.attempts, x)
	o.mu.Unlock()
}
func (o *outcomes) Refresh(x auth.RefreshOutcome) {
	o.mu.Lock()
	o.refresh = append(o.refresh, x)
	o.mu.Unlock()
}
func (o *outcomes) Revoked(r auth.Reason, n int64) { o.mu.Lock(); o.revoked[r] += n; o.mu.Unlock() }

func (o *outcomes) last() auth.RefreshOutcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.refresh) == 0 {
		return ""
	}
	return o.refresh[len(o.refresh)-1]
}

// fixture is a service on a real database with a settable clock and one
// signed-in user.
type fixture struct {
	svc     *auth.Service
	keys    *token.KeyRing
	store   auth.Store
	now     time.Time
	counted *outcomes
	signIn  auth.Result
}

var lifetimes = auth.Lifetimes{
	Access: 15 * time.Minute, Session: 7 * 24 * time.Hour, Remember: 30 * 24 * time.Hour,
	MaxAge: 10 * 24 * time.Hour, ReuseInterval: 10 * time.Second,
}

func newFixture(t *testing.T, dbURL, email string) *fixture {
	t.Helper()
	keys, err := token.NewKeyRing(token.GenerateKey("test"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{keys: keys, store: storetest.Open(t, dbURL), now: time.Now().UTC().Truncate(time.Millisecond),
		counted: &outcomes{revoked: map[auth.Reason]int64{}}}
	f.svc = auth.New(auth.Deps{
		Store: f.store, Keys: keys, Hasher: auth.NewHasher(2, 8, fastParams), Lifetimes: lifetimes,
		Now: func() time.Time { return f.now }, Metrics: f.counted,
	})
	f.signIn, _, err = f.svc.Register(context.Background(), auth.Client{IP: "192.0.2.1"}, email, "correct horse battery staple", "Ada")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) refresh(tok string) (auth.Result, error) {
	return f.svc.Refresh(context.Background(), auth.Client{IP: "192.0.2.1"}, tok)
}

// TestRefreshDecision pins each way a refresh can end, against the domain
// directly on each database.
func TestRefreshDecision(t *testing.T) {
	type step func(t *testing.T, f *fixture) string // returns the token to present
	rotateOnce := func(t *testing.T, f *fixture) auth.Result {
		t.Helper()
		res, err := f.refresh(f.signIn.Tokens.Refresh)
		if err != nil {
			t.Fatalf("first rotation: %v", err)
		}
		return res
	}
	cases := []struct {
		name    string
		present step
		want    auth.RefreshOutcome
		check   func(t *testing.T, f *fixture, res auth.Result)
	}{
		{
			name:    "rotate: the current generation moves on and the session slides",
			present: func(t *testing.T, f *fixture) string { f.now = f.now.Add(time.Hour); return f.signIn.Tokens.Refresh },
			want:    auth.RefreshRotated,
			check: func(t *testing.T, f *fixture, res auth.Result) {
				if res.Session.RefreshGen != 1 {
					t.Errorf("generation %d, want 1", res.Session.RefreshGen)
				}
				if want := f.now.Add(lifetimes.Session); !res.Session.ExpiresAt.Equal(want) {
					t.Errorf("expires %v, want %v (slid by the session lifetime)", res.Session.ExpiresAt, want)
				}
			},
		},
		{
			name: "grace: the previous generation within the reuse interval gets the current tokens",
			present: func(t *testing.T, f *fixture) string {
				rotateOnce(t, f)
				f.now = f.now.Add(lifetimes.ReuseInterval)
				return f.signIn.Tokens.Refresh
			},
			want: auth.RefreshGrace,
			check: func(t *testing.T, f *fixture, res auth.Result) {
				if res.Session.RefreshGen != 1 {
					t.Errorf("grace issued generation %d, want the current 1", res.Session.RefreshGen)
				}
			},
		},
		{
			name: "reuse: the previous generation after the interval ends the session",
			present: func(t *testing.T, f *fixture) string {
				rotateOnce(t, f)
				f.now = f.now.Add(lifetimes.ReuseInterval + time.Millisecond)
				return f.signIn.Tokens.Refresh
			},
			want: auth.RefreshReuseDetected,
			check: func(t *testing.T, f *fixture, _ auth.Result) {
				s, _, err := f.store.SessionWithUser(context.Background(), f.signIn.Session.ID, true)
				if err != nil || s.RevokedAt == nil {
					t.Errorf("session after reuse: revoked %v, err %v; want revoked", s.RevokedAt, err)
				}
				evs, _ := f.store.Events(context.Background(), models.EventFilter{Type: models.EventRefreshReuseDetected})
				if len(evs) != 1 {
					t.Errorf("%d refresh_reuse_detected events, want 1", len(evs))
				}
				if f.counted.revoked[auth.ReasonRefreshReuse] != 1 {
					t.Errorf("revocations counted: %v, want one for refresh_reuse", f.counted.revoked)
				}
			},
		},
		{
			name: "reuse two generations back, even at once, ends the session",
			present: func(t *testing.T, f *fixture) string {
				second := rotateOnce(t, f)
				if _, err := f.refresh(second.Tokens.Refresh); err != nil {
					t.Fatal(err)
				}
				return f.signIn.Tokens.Refresh
			},
			want: auth.RefreshReuseDetected,
		},
		{
			name: "expired: a session past its expiry refreshes no more",
			present: func(t *testing.T, f *fixture) string {
				f.now = f.signIn.Session.ExpiresAt.Add(-time.Second)
				// The token itself is still valid a second before; the
				// session is checked at the database's clock reading.
				tok := f.signIn.Tokens.Refresh
				f.now = f.signIn.Session.ExpiresAt
				return tok
			},
			want: auth.RefreshInvalid,
		},
		{
			name: "capped: sliding stops at the maximum age after sign-in",
			present: func(t *testing.T, f *fixture) string {
				f.now = f.signIn.Session.CreatedAt.Add(lifetimes.MaxAge - 4*24*time.Hour)
				return f.signIn.Tokens.Refresh
			},
			want: auth.RefreshRotated,
			check: func(t *testing.T, f *fixture, res auth.Result) {
				if want := f.signIn.Session.CreatedAt.Add(lifetimes.MaxAge); !res.Session.ExpiresAt.Equal(want) {
					t.Errorf("expires %v, want the cap %v", res.Session.ExpiresAt, want)
				}
			},
		},
		{
			name: "capped: past the maximum age the session is over",
			present: func(t *testing.T, f *fixture) string {
				f.now = f.signIn.Session.CreatedAt.Add(lifetimes.MaxAge - 4*24*time.Hour)
				tok := rotateOnce(t, f).Tokens.Refresh
				f.now = f.signIn.Session.CreatedAt.Add(lifetimes.MaxAge)
				return tok
			},
			want: auth.RefreshInvalid,
		},
		{
			name: "a generation the session never issued is refused without ending it",
			present: func(t *testing.T, f *fixture) string {
				ahead, err := f.keys.Seal(token.Claims{Type: token.TypeRefresh, SessionID: f.signIn.Session.ID, Gen: 5,
					IssuedAt: f.now.Unix(), Expiry: f.signIn.Session.ExpiresAt.Unix()})
				if err != nil {
					t.Fatal(err)
				}
				return ahead
			},
			want: auth.RefreshInvalid,
			check: func(t *testing.T, f *fixture, _ auth.Result) {
				if _, err := f.refresh(f.signIn.Tokens.Refresh); err != nil {
					t.Errorf("the real token after a generation from the future: %v, want it still to rotate", err)
				}
			},
		},
		{
			name:    "a token that does not open is refused",
			present: func(t *testing.T, f *fixture) string { return f.signIn.Tokens.Refresh + "x" },
			want:    auth.RefreshInvalid,
		},
		{
			name:    "an access token is no refresh token",
			present: func(t *testing.T, f *fixture) string { return f.signIn.Tokens.Access },
			want:    auth.RefreshInvalid,
		},
		{
			name: "a revoked session refreshes no more",
			present: func(t *testing.T, f *fixture) string {
				err := f.svc.Logout(context.Background(), auth.Client{}, f.signIn.Tokens.Access, "", auth.ScopeLocal)
				if err != nil {
					t.Fatal(err)
				}
				return f.signIn.Tokens.Refresh
			},
			want: auth.RefreshInvalid,
		},
	}
	storetest.Each(t, func(t *testing.T, dbURL string) {
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := newFixture(t, dbURL, fmt.Sprintf("case%d@example.com", i))
				tok := tc.present(t, f)
				res, err := f.refresh(tok)
				if got := f.counted.last(); got != tc.want {
					t.Fatalf("outcome %q, want %q (err %v)", got, tc.want, err)
				}
				success := tc.want == auth.RefreshRotated || tc.want == auth.RefreshGrace
				switch {
				case success && err != nil:
					t.Fatalf("err %v, want tokens", err)
				case !success && !errors.Is(err, auth.ErrInvalidRefresh):
					t.Fatalf("err %v, want ErrInvalidRefresh", err)
				case success && (res.Tokens.Access == "" || res.Tokens.Refresh == ""):
					t.Fatal("no tokens issued")
				}
				if tc.check != nil {
					tc.check(t, f, res)
				}
			})
		}
	})
}
