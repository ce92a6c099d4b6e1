package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

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
	first func(m *mailHarness, email string) (string, response)
	code  func(h *harness, mfaToken, code string) response
}

func verifyCode(h *harness, tok, code string) response {
	return h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": tok, "code": code})
}

// signInAnswer reads the mfaToken of a first step's SignInResponse.
func signInAnswer(t *testing.T, r response) string {
	var in handlers.SignInResponse
	if r.status == http.StatusOK {
		r.json(t, &in)
	}
	return in.MFAToken
}

var secondSteps = []secondStep{
	{
		name: "login then mfa/verify",
		first: func(m *mailHarness, email string) (string, response) {
			r := m.client().do("POST", "/auth/login", map[string]any{"email": email, "password": goodPassword})
			return signInAnswer(m.t, r), r
		},
		code: verifyCode,
	},
	{
		name: "password grant then mfa_otp",
		first: func(m *mailHarness, email string) (string, response) {
			r := m.client().do("POST", "/auth/token", form("grant_type", "password", "username", email, "password", goodPassword), "Content-Type", formType)
			var e handlers.OAuthError
			if r.status == http.StatusForbidden {
				r.json(m.t, &e)
			}
			return e.MFAToken, r
		},
		code: func(h *harness, tok, code string) response {
			return h.client().do("POST", "/auth/token", form("grant_type", "mfa_otp", "mfa_token", tok, "otp", code), "Content-Type", formType)
		},
	},
	{
		name: "mailed code then mfa/verify",
		first: func(m *mailHarness, email string) (string, response) {
			m.clock.Advance(2 * time.Minute) // past the spacing of sign-in mails
			n := len(m.smtp.To(email))
			wantStatus(m.t, m.client().do("POST", "/auth/sign-in/email", map[string]any{"email": email}), http.StatusAccepted, "ask for a code")
			code := m.mailFor(email, "Your sign-in code", n).Code()
			r := m.client().do("POST", "/auth/sign-in/email/verify", map[string]any{"email": email, "code": code})
			return signInAnswer(m.t, r), r
		},
		code: verifyCode,
	},
}

// newSecondStepHarness serves a router that seals TOTP secrets and sends
// mail, at the default lockout threshold.
func newSecondStepHarness(t *testing.T, dbURL string, opts ...option) *mailHarness {
	return newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "off"}, append([]option{withDataKeys(mustDataKeys(t))}, opts...)...)
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
// app, a right password (or mailed code) leads to the second step and
// forgets nothing, so "password, five wrong codes" repeated locks the
// (email, address) pair at AUTH_LOCKOUT_THRESHOLD failed codes (10), through
// login, the password grant and a mailed sign-in code, with the five codes
// of a round sent one by one or all at once. (Before, each right first
// factor reset the count: never locked.)
func TestRightPasswordKeepsTheFailedCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		for _, step := range secondSteps {
			for _, parallel := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/parallel=%v", step.name, parallel), func(t *testing.T) {
					m := newSecondStepHarness(t, dbURL)
					h := m.harness
					email := newEmail()
					enrolled(t, h, email) // one wrong code at enrolment: failure 1
					h.clock.Advance(time.Minute)
					wrong := "000000"
					var seen []string
					for round := 1; round <= 3; round++ {
						tok, r := step.first(m, email)
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
		m := newSecondStepHarness(t, dbURL)
		h := m.harness
		email := newEmail()
		_, secret, _ := enrolled(t, h, email)
		// The wrong code at enrolment is forgotten by a sign-in that
		// issues a session: the test starts from zero.
		step := secondSteps[0]
		h.clock.Advance(time.Minute)
		tok, _ := step.first(m, email)
		wantStatus(t, step.code(h, tok, apitest.TOTP(t, secret, h.clock.Now())), http.StatusOK, "sign in with both factors")
		h.clock.Advance(time.Minute)
		locked := 0
		for round := 1; round <= 2 && locked == 0; round++ {
			codes := 0
			for codes < 9 && locked == 0 {
				tok, r := step.first(m, email)
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
		_, r := step.first(m, email)
		if outcome(t, r) != "locked" {
			t.Errorf("the right password afterwards: %d %s", r.status, r.body)
		}
	})
}

// barrier returns a CodeChecked hook that, while armed, holds every check
// until n have been made (so each has checked before any spends: the
// interleaving the race needs, forced), and counts the checks. The timeout
// only guards against a deadlock when fewer than n arrive.
func barrier(n int32) (hook func(bool), armed *atomic.Bool, checks *atomic.Int32) {
	armed, checks = new(atomic.Bool), new(atomic.Int32)
	gate := make(chan struct{})
	var once sync.Once
	hook = func(bool) {
		if !armed.Load() {
			return
		}
		if checks.Add(1) == n {
			once.Do(func() { close(gate) })
		}
		select {
		case <-gate:
		case <-time.After(10 * time.Second):
		}
	}
	return hook, armed, checks
}

// unusedRecoveryCodes counts a user's unused recovery codes in the table.
func unusedRecoveryCodes(t *testing.T, h *harness, userID string) int {
	t.Helper()
	var n int
	if err := h.db.SQL().QueryRow("SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL", userID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestParallelRecoveryCodesSpendOne sends six different recovery codes at
// once through one mfaToken, each of the five checked held until all five
// are: one request signs in and exactly one code is spent (nine left); the
// others find the second step taken and spend nothing. (Before, each spent
// its code before the challenge was consumed: five gone, one session.)
func TestParallelRecoveryCodesSpendOne(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		hook, armed, checks := barrier(5)
		h, _ := newMFAHarness(t, dbURL, withHooks(auth.Hooks{CodeChecked: hook}))
		email := newEmail()
		c, _, codes := enrolled(t, h, email)
		id := userID(t, c)
		h.clock.Advance(time.Minute)
		_, tok := loginFirstStep(t, h, email)
		armed.Store(true)
		rs := all(6, func(i int) response {
			return h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": tok, "recoveryCode": codes[i]})
		})
		armed.Store(false)
		signedIn := 0
		for _, r := range rs {
			if r.status == http.StatusOK {
				signedIn++
			} else if o := outcome(t, r); o != "token" {
				t.Errorf("a losing request: %s, want 401 invalid_mfa_token", o)
			}
		}
		if signedIn != 1 {
			t.Errorf("six recovery codes at once: %d signed in, want 1", signedIn)
		}
		if n := checks.Load(); n != 5 {
			t.Errorf("%d codes checked, want 5 (the sixth attempt finds the mfaToken's attempts used)", n)
		}
		if n := unusedRecoveryCodes(t, h, id); n != 9 {
			t.Errorf("%d recovery codes left in the table, want 9", n)
		}
		var list handlers.FactorsResponse
		c.do("GET", "/auth/mfa", nil).json(t, &list)
		if list.RecoveryCodesRemaining != 9 {
			t.Errorf("GET /auth/mfa: %d recovery codes left, want 9", list.RecoveryCodesRemaining)
		}
	})
}

// sha256Hex is how recovery codes were stored before: unsalted SHA-256.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// storedRecoveryCodes reads a user's recovery code column as stored.
func storedRecoveryCodes(t *testing.T, h *harness, userID string) []string {
	t.Helper()
	rows, err := h.db.SQL().Query("SELECT code_hash FROM recovery_codes WHERE user_id = $1", userID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// saltOf is the salt field of a PHC argon2id string.
func saltOf(phc string) string {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 {
		return ""
	}
	return parts[4]
}

// TestRecoveryCodesAreSaltedArgon2 reads the recovery code column: no value
// is the SHA-256 of a code (as typed or normalised); every value is argon2id
// under one salt per user, another user's salt differs; an attempt costs
// exactly one hash. Rows from before (unsalted SHA-256) keep working until
// the set is regenerated.
func TestRecoveryCodesAreSaltedArgon2(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h, _ := newMFAHarness(t, dbURL)
		ada, bob := newEmail(), newEmail()
		adaC, _, adaCodes := enrolled(t, h, ada)
		bobC, _, bobCodes := enrolled(t, h, bob)
		adaID, bobID := userID(t, adaC), userID(t, bobC)
		stored := storedRecoveryCodes(t, h, adaID)
		if len(stored) != 10 {
			t.Fatalf("%d rows", len(stored))
		}
		for i, code := range adaCodes {
			for form, guess := range []string{code, strings.ReplaceAll(code, "-", ""), strings.ToUpper(code)} {
				if slices.Contains(stored, sha256Hex(guess)) {
					t.Errorf("a stored value is the SHA-256 of code %d (form %d)", i, form)
				}
			}
		}
		for _, s := range stored {
			if !strings.HasPrefix(s, "$argon2id$v=19$") || saltOf(s) == "" || saltOf(s) != saltOf(stored[0]) {
				t.Errorf("stored %.30q…: not argon2id under the user's one salt %q", s, saltOf(stored[0]))
			}
		}
		if other := storedRecoveryCodes(t, h, bobID); saltOf(other[0]) == saltOf(stored[0]) {
			t.Errorf("two users share the salt %q", saltOf(stored[0]))
		}

		// One hash per attempt, right or wrong.
		h.clock.Advance(time.Minute)
		for _, try := range []struct {
			code string
			want int
		}{{"zzzzz-zzzzz", http.StatusUnauthorized}, {adaCodes[3], http.StatusOK}} {
			_, tok := loginFirstStep(t, h, ada)
			before := h.hasher.Count()
			wantStatus(t, h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": tok, "recoveryCode": try.code}), try.want, "recovery code "+try.code)
			if n := h.hasher.Count() - before; n != 1 {
				t.Errorf("a recovery code attempt (%d) took %d hashes, want 1", try.want, n)
			}
		}

		// A set keyed at other parameters (sets made before recovery codes
		// had a cost of their own were keyed at the password's) still works:
		// each row carries its parameters.
		older := argon2id.Params{Memory: 128, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
		for _, code := range adaCodes[4:] {
			old, err := argon2id.CreateHash(strings.ReplaceAll(code, "-", ""), &older)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.db.SQL().Exec("UPDATE recovery_codes SET code_hash = $1 WHERE user_id = $2 AND code_hash = $3",
				old, adaID, storedFor(t, h, adaID, code)); err != nil {
				t.Fatal(err)
			}
		}
		_, tok := loginFirstStep(t, h, ada)
		wantStatus(t, h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": tok, "recoveryCode": adaCodes[6]}), http.StatusOK, "a code keyed at other parameters")

		// Bob's rows as an older version stored them still work, once.
		for _, code := range bobCodes {
			if _, err := h.db.SQL().Exec("UPDATE recovery_codes SET code_hash = $1 WHERE user_id = $2 AND code_hash = $3",
				sha256Hex(strings.ReplaceAll(code, "-", "")), bobID, storedFor(t, h, bobID, code)); err != nil {
				t.Fatal(err)
			}
		}
		_, tok = loginFirstStep(t, h, bob)
		wantStatus(t, h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": tok, "recoveryCode": strings.ToUpper(bobCodes[2])}), http.StatusOK, "an unsalted code from before")
		_, tok = loginFirstStep(t, h, bob)
		wantStatus(t, h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": tok, "recoveryCode": bobCodes[2]}), http.StatusUnauthorized, "the same code again")
		if n := unusedRecoveryCodes(t, h, bobID); n != 9 {
			t.Errorf("%d of Bob's codes left, want 9", n)
		}
		r := bobC.do("POST", "/auth/mfa/recovery-codes", nil)
		wantStatus(t, r, http.StatusOK, "regenerate")
		for _, s := range storedRecoveryCodes(t, h, bobID) {
			if !strings.HasPrefix(s, "$argon2id$") {
				t.Errorf("after regenerating: %.30q…", s)
			}
		}
	})
}

// storedFor finds the stored form of one of a user's codes: the row whose
// argon2id key the code reproduces.
func storedFor(t *testing.T, h *harness, userID, code string) string {
	t.Helper()
	for _, s := range storedRecoveryCodes(t, h, userID) {
		if ok, err := argon2id.ComparePasswordAndHash(strings.ReplaceAll(code, "-", ""), s); err == nil && ok {
			return s
		}
	}
	t.Fatalf("no stored row for a code")
	return ""
}
