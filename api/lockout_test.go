package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/config"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

// withHooks gives the service test hooks.
func withHooks(hooks auth.Hooks) option {
	return func(_ *config.Config, d *api.Deps) { d.Hooks = hooks }
}

// secondStep is one way through the two steps of a sign-in: the first
// answers an mfaToken (or a refusal), the second sends a code with it.
type secondStep struct {
	name  string
	first func(h *harness, email string) (string, response)
	code  func(h *harness, mfaToken, code string) response
}

var secondSteps = []secondStep{
	{
		name: "login then mfa/verify",
		first: func(h *harness, email string) (string, response) {
			r := h.client().do("POST", "/auth/login", map[string]any{"email": email, "password": goodPassword})
			var in handlers.SignInResponse
			if r.status == http.StatusOK {
				r.json(h.t, &in)
			}
			return in.MFAToken, r
		},
		code: func(h *harness, tok, code string) response {
			return h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": tok, "code": code})
		},
	},
	{
		name: "password grant then mfa_otp",
		first: func(h *harness, email string) (string, response) {
			r := h.client().do("POST", "/auth/token", form("grant_type", "password", "username", email, "password", goodPassword), "Content-Type", formType)
			var e handlers.OAuthError
			if r.status == http.StatusForbidden {
				r.json(h.t, &e)
			}
			return e.MFAToken, r
		},
		code: func(h *harness, tok, code string) response {
			return h.client().do("POST", "/auth/token", form("grant_type", "mfa_otp", "mfa_token", tok, "otp", code), "Content-Type", formType)
		},
	},
}

// outcome names what a second-step answer says: "checked" (a wrong code was
// looked at), "locked" (429 with Retry-After) or "token" (the mfaToken is
// spent).
func outcome(t *testing.T, r response) string {
	t.Helper()
	switch {
	case r.status == http.StatusTooManyRequests && r.header.Get("Retry-After") != "":
		return "locked"
	case r.status == http.StatusUnauthorized || r.status == http.StatusBadRequest:
		var e struct {
			Error any `json:"error"`
		}
		r.json(t, &e)
		if m, ok := e.Error.(map[string]any); ok {
			e.Error = m["code"]
		}
		switch e.Error {
		case "invalid_code":
			return "checked"
		case "invalid_mfa_token":
			return "token"
		}
	}
	return fmt.Sprintf("%d %s", r.status, r.body)
}

// TestRightPasswordKeepsTheFailedCodes: for a user with an authenticator
// app, a right password leads to the second step and forgets nothing, so
// "password, five wrong codes" repeated locks the (email, address) pair at
// AUTH_LOCKOUT_THRESHOLD failed codes (10), through login and through the
// password grant, with the five codes of a round sent one by one or all at
// once. (Before, each right password reset the count: never locked.)
func TestRightPasswordKeepsTheFailedCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		for _, step := range secondSteps {
			for _, parallel := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/parallel=%v", step.name, parallel), func(t *testing.T) {
					h, _ := newMFAHarness(t, dbURL)
					email := newEmail()
					enrolled(t, h, email) // one wrong code at enrolment: failure 1
					h.clock.Advance(time.Minute)
					wrong := "000000"
					var seen []string
					for round := 1; round <= 3; round++ {
						tok, r := step.first(h, email)
						if tok == "" {
							seen = append(seen, "password: "+outcome(t, r))
							break
						}
						if parallel {
							var got []string
							for _, r := range all(5, func(int) response { return step.code(h, tok, wrong) }) {
								got = append(got, outcome(t, r))
							}
							slices.Sort(got) // checked before locked
							seen = append(seen, got...)
						} else {
							for range 5 {
								seen = append(seen, outcome(t, step.code(h, tok, wrong)))
							}
						}
					}
					// 1 failure at enrolment + 5 + 4 = 10: the ninth code of
					// the second round locks, the tenth is refused, and so is
					// the right password of the third round.
					want := "[checked checked checked checked checked checked checked checked checked locked password: locked]"
					if got := fmt.Sprint(seen); got != want {
						t.Errorf("rounds of password then five wrong codes:\n got %s\nwant %s", got, want)
					}
					if n := len(eventsOf(t, h, email, models.EventMFAFailed)); n != 10 {
						t.Errorf("%d mfa_failed events, want 10", n)
					}
				})
			}
		}
	})
}

// TestFreshTokensDoNotOutrunTheLockout repeats "right password, then
// threshold − 1 wrong codes" from one address at the default threshold
// (10): an mfaToken dies after five codes, so the nine codes of a round take
// two tokens. The second round ends in 429.
func TestFreshTokensDoNotOutrunTheLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h, _ := newMFAHarness(t, dbURL)
		email := newEmail()
		_, secret, _ := enrolled(t, h, email)
		// The wrong code at enrolment is forgotten by a sign-in that
		// issues a session: the test starts from zero.
		step := secondSteps[0]
		h.clock.Advance(time.Minute)
		tok, _ := step.first(h, email)
		wantStatus(t, step.code(h, tok, apitest.TOTP(t, secret, h.clock.Now())), http.StatusOK, "sign in with both factors")
		h.clock.Advance(time.Minute)
		locked := 0
		for round := 1; round <= 2 && locked == 0; round++ {
			codes := 0
			for codes < 9 && locked == 0 {
				tok, r := step.first(h, email)
				if tok == "" {
					if outcome(t, r) != "locked" {
						t.Fatalf("round %d, first step: %d %s", round, r.status, r.body)
					}
					locked = round
					break
				}
				for i := 0; i < 5 && codes < 9; i++ {
					codes++
					switch o := outcome(t, step.code(h, tok, "000000")); o {
					case "checked":
					case "locked":
						locked = round
					default:
						t.Fatalf("round %d, code %d: %s", round, codes, o)
					}
					if locked != 0 {
						break
					}
				}
			}
		}
		if locked != 2 {
			t.Errorf("locked in round %d, want 2 (0: never)", locked)
		}
		_, r := step.first(h, email)
		if outcome(t, r) != "locked" {
			t.Errorf("the right password afterwards: %d %s", r.status, r.body)
		}
	})
}
