package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

// storedMetadata reads a user's metadata columns past the cache.
func storedMetadata(t *testing.T, h *harness, id string) (meta, app string) {
	t.Helper()
	if err := h.db.SQL().QueryRow("SELECT metadata, app_metadata FROM users WHERE id = $1", id).Scan(&meta, &app); err != nil {
		t.Fatal(err)
	}
	return meta, app
}

func jsonEqual(t *testing.T, got []byte, want string, what string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %s is not JSON: %v", what, got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("%s: got %s, want %s", what, gb, wb)
	}
}

// TestUserMetadataMergePatch: PATCH /auth/me merges metadata per RFC 7396
// (null removes a key, objects merge, other values replace), {} when empty
// on every user shape; limits of 4 KiB and depth 5 are 422 and store nothing.
func TestUserMetadataMergePatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL, withEnv(serviceEnv))
		c := h.register(newEmail())
		var me handlers.AuthResponse
		c.do("GET", "/auth/me", nil).json(t, &me)
		jsonEqual(t, me.User.Metadata, `{}`, "new user's metadata")
		jsonEqual(t, me.User.AppMetadata, `{}`, "new user's appMetadata")
		id := me.User.ID

		patch := func(body string) response {
			return c.do("PATCH", "/auth/me", body)
		}
		r := patch(`{"metadata":{"theme":"dark","prefs":{"lang":"en","tz":"UTC"},"tags":["a"]}}`)
		wantStatus(t, r, http.StatusOK, "first patch")
		r = patch(`{"metadata":{"theme":null,"prefs":{"tz":null,"font":12},"tags":["b","c"]}}`)
		wantStatus(t, r, http.StatusOK, "second patch")
		var ur handlers.UserResponse
		r.json(t, &ur)
		want := `{"prefs":{"lang":"en","font":12},"tags":["b","c"]}`
		jsonEqual(t, ur.User.Metadata, want, "merged metadata in the answer")
		meta, app := storedMetadata(t, h, id)
		jsonEqual(t, []byte(meta), want, "merged metadata stored")
		if app != "{}" {
			t.Errorf("app metadata changed by the user: %s", app)
		}
		c.do("GET", "/auth/me", nil).json(t, &me)
		jsonEqual(t, me.User.Metadata, want, "metadata at /auth/me")

		// The user cannot set app metadata (strict bodies: an unknown field).
		if r := patch(`{"appMetadata":{"plan":"pro"}}`); r.status < 400 || r.status >= 500 {
			t.Errorf("the user set appMetadata: %d %s", r.status, r.body)
		}

		deep := `{"metadata":{"a":{"b":{"c":{"d":{"e":{"f":1}}}}}}}`
		big := `{"metadata":{"blob":"` + strings.Repeat("x", 4100) + `"}}`
		for what, body := range map[string]string{
			"six levels": deep, "over 4 KiB": big, "not an object": `{"metadata":[1,2]}`, "a string": `{"metadata":"x"}`,
		} {
			r := patch(body)
			if r.status != http.StatusUnprocessableEntity || r.errorCode(t) != "validation_failed" || !strings.Contains(string(r.body), `"metadata"`) {
				t.Errorf("%s: %d %s", what, r.status, r.body)
			}
		}
		// Five levels fit; a patch that grows the stored object past 4 KiB
		// is refused although the patch alone fits.
		wantStatus(t, patch(`{"metadata":{"a":{"b":{"c":{"d":{"e":1}}}}}}`), http.StatusOK, "five levels")
		wantStatus(t, patch(`{"metadata":{"x":"`+strings.Repeat("y", 2500)+`"}}`), http.StatusOK, "2.5 KiB")
		wantStatus(t, patch(`{"metadata":{"z":"`+strings.Repeat("y", 2500)+`"}}`), http.StatusUnprocessableEntity, "5 KiB in all")
		meta, _ = storedMetadata(t, h, id)
		if strings.Contains(meta, `"z"`) || len(meta) > 4096 {
			t.Errorf("a refused patch was stored: %d bytes", len(meta))
		}
	})
}

// TestAppMetadataReachesVerifyAndIntrospection: an administrator's
// appMetadata patch is visible at the user's next /auth/verify (header
// X-Auth-User-App-Metadata, base64url JSON) and in introspection, past the
// session cache; a non-admin cannot set it.
func TestAppMetadataReachesVerifyAndIntrospection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL, withEnv(serviceEnv))
		root := makeAdmin(t, h, "root-"+newEmail())
		ada := h.register(newEmail())
		id := userID(t, ada)

		r := ada.do("GET", "/auth/verify", nil)
		wantStatus(t, r, http.StatusOK, "verify before")
		if v := r.header.Get("X-Auth-User-App-Metadata"); v != "" {
			t.Errorf("empty app metadata sent as %q", v)
		}
		wantStatus(t, h.register(newEmail()).do("PATCH", "/admin/users/"+id, map[string]any{"appMetadata": map[string]any{"plan": "pro"}}),
			http.StatusForbidden, "a non-admin sets appMetadata")

		r = root.do("PATCH", "/admin/users/"+id, map[string]any{"appMetadata": map[string]any{"plan": "pro", "seats": 3}})
		wantStatus(t, r, http.StatusOK, "admin sets appMetadata")
		var au handlers.AdminUserResponse
		r.json(t, &au)
		jsonEqual(t, au.User.AppMetadata, `{"plan":"pro","seats":3}`, "admin answer")
		wantStatus(t, root.do("PATCH", "/admin/users/"+id, map[string]any{"appMetadata": map[string]any{"seats": nil}}), http.StatusOK, "remove seats")

		r = ada.do("GET", "/auth/verify", nil)
		wantStatus(t, r, http.StatusOK, "verify after")
		raw, err := base64.RawURLEncoding.DecodeString(r.header.Get("X-Auth-User-App-Metadata"))
		if err != nil {
			t.Fatalf("header %q: %v", r.header.Get("X-Auth-User-App-Metadata"), err)
		}
		jsonEqual(t, raw, `{"plan":"pro"}`, "verify header")
		in := introspect(t, h, ada.cookieValue("/", "__Host-session"))
		jsonEqual(t, in.AppMetadata, `{"plan":"pro"}`, "introspection")
		var me handlers.AuthResponse
		ada.do("GET", "/auth/me", nil).json(t, &me)
		jsonEqual(t, me.User.AppMetadata, `{"plan":"pro"}`, "the user's own view")
		_, app := storedMetadata(t, h, id)
		jsonEqual(t, []byte(app), `{"plan":"pro"}`, "stored")

		r = root.do("PATCH", "/admin/users/"+id, map[string]any{"appMetadata": map[string]any{"a": map[string]any{"b": map[string]any{"c": map[string]any{"d": map[string]any{"e": map[string]any{}}}}}}})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "appMetadata") {
			t.Errorf("six levels of appMetadata: %d %s", r.status, r.body)
		}
	})
}

// userTables are the tables whose user_id names a user.
var userTables = []string{"sessions", "mfa_factors", "recovery_codes", "mfa_challenges", "passkeys", "identities",
	"webauthn_challenges", "one_time_tokens", "email_outbox", "audit_events"}

func rowsNaming(t *testing.T, h *harness, table, id string) int {
	t.Helper()
	return count(t, h, "SELECT count(*) FROM "+table+" WHERE CAST(user_id AS TEXT) = $1", id)
}

// secretsOf collects every value stored in a column that holds a secret or
// its hash, in the rows that name the user.
func secretsOf(t *testing.T, h *harness, id string) []string {
	t.Helper()
	var out []string
	for _, q := range []string{
		"SELECT password_hash FROM users WHERE CAST(id AS TEXT) = $1",
		"SELECT secret FROM mfa_factors WHERE CAST(user_id AS TEXT) = $1",
		"SELECT code_hash FROM recovery_codes WHERE CAST(user_id AS TEXT) = $1",
		"SELECT token_hash FROM one_time_tokens WHERE CAST(user_id AS TEXT) = $1",
	} {
		rows, err := h.db.SQL().Query(q, id)
		if err != nil {
			t.Logf("%s: %v", q, err)
			continue
		}
		for rows.Next() {
			var v *string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			if v != nil && len(*v) >= 8 {
				out = append(out, *v)
			}
		}
		_ = rows.Close()
	}
	return out
}

// TestDeleteAndExportMyAccount: the export holds no secret; DELETE /auth/me
// removes every row naming the user (only the deletion's own notice
// remains, naming no user), keeps the audit trail with the email replaced
// by a keyed hash, clears the cookies, and the address registers again.
func TestDeleteAndExportMyAccount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "optional"}, withDataKeys(mustDataKeys(t)))
		h := m.harness
		makeAdmin(t, h, "root-"+newEmail())
		email := newEmail()
		c, secret, _ := enrolled(t, h, email)
		id := userID(t, c)
		ctx := context.Background()
		now := h.clock.Now()
		if err := h.db.LinkIdentity(ctx, &models.Identity{UserID: id, Provider: "mock", Issuer: "https://idp.example.com", Subject: "sub-" + id,
			Email: email, CreatedAt: now, LastUsedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := h.db.CreatePasskey(ctx, &models.Passkey{UserID: id, CredentialID: "cred-" + id, PublicKey: []byte{1, 2, 3}, Name: "Laptop", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, c.do("POST", "/auth/passkeys/register/options", map[string]any{}), http.StatusOK, "passkey options")
		loginFirstStep(t, h, email) // an MFA challenge in flight
		wantStatus(t, h.client().do("POST", "/auth/password/forgot", map[string]any{"email": email}), http.StatusAccepted, "forgot")
		m.mailFor(email, "Reset your password", 0)
		wantStatus(t, c.do("PATCH", "/auth/me", map[string]any{"metadata": map[string]any{"theme": "dark"}}), http.StatusOK, "metadata")
		for _, table := range []string{"sessions", "mfa_factors", "recovery_codes", "mfa_challenges", "passkeys", "identities",
			"webauthn_challenges", "one_time_tokens", "audit_events"} {
			if rowsNaming(t, h, table, id) == 0 {
				t.Fatalf("the test set up no row in %s", table)
			}
		}

		// The export: names and dates, never a secret.
		r := c.do("GET", "/auth/me/export", nil)
		wantStatus(t, r, http.StatusOK, "export")
		if !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") {
			t.Errorf("Content-Disposition %q", r.header.Get("Content-Disposition"))
		}
		var x handlers.ExportResponse
		r.json(t, &x)
		if x.User.ID != id || len(x.Sessions) == 0 || len(x.Identities) != 1 || len(x.Factors) != 1 || len(x.Passkeys) != 1 || len(x.Events) == 0 {
			t.Errorf("export: %s", r.body)
		}
		jsonEqual(t, x.User.Metadata, `{"theme":"dark"}`, "exported metadata")
		secrets := append(secretsOf(t, h, id), secret)
		if len(secrets) < 14 { // hash, sealed secret, 10 codes, token, TOTP secret
			t.Fatalf("only %d secrets found to search for", len(secrets))
		}
		for _, s := range secrets {
			if strings.Contains(string(r.body), s) {
				t.Errorf("the export holds a secret: %.12s…", s)
			}
		}
		for _, word := range []string{"argon2", "$2a$", "hash", "secret"} {
			if strings.Contains(strings.ToLower(string(r.body)), strings.ToLower(word)) {
				t.Errorf("the export mentions %q", word)
			}
		}

		// A wrong password is refused and deletes nothing.
		r = c.do("DELETE", "/auth/me", map[string]any{"currentPassword": "not my password at all"})
		wantStatus(t, r, http.StatusUnprocessableEntity, "wrong password")
		r = c.do("DELETE", "/auth/me", nil)
		wantStatus(t, r, http.StatusNoContent, "delete me")
		if ck := r.cookie("__Host-session"); ck == nil || ck.MaxAge >= 0 && ck.Value != "" {
			t.Errorf("session cookie not cleared: %v", ck)
		}
		wantStatus(t, c.do("GET", "/auth/me", nil), http.StatusUnauthorized, "the old session")

		for _, table := range userTables {
			n := rowsNaming(t, h, table, id)
			if table == "audit_events" {
				continue
			}
			if n != 0 {
				t.Errorf("%d rows of %s still name the user", n, table)
			}
		}
		if n := count(t, h, "SELECT count(*) FROM users WHERE email = $1", email); n != 0 {
			t.Errorf("user row left: %d", n)
		}
		if n := count(t, h, "SELECT count(*) FROM email_outbox WHERE recipient = $1 AND kind <> 'account_deleted'", email); n != 0 {
			t.Errorf("%d pending mails to the address left", n)
		}
		if n := count(t, h, "SELECT count(*) FROM email_outbox WHERE recipient = $1 AND kind = 'account_deleted' AND user_id IS NULL", email); n != 1 {
			t.Errorf("account_deleted notices: %d", n)
		}
		if n := count(t, h, "SELECT count(*) FROM one_time_tokens WHERE email = $1", email); n != 0 {
			t.Errorf("tokens to the address left: %d", n)
		}
		// The audit trail stays, with the email hashed.
		if n := rowsNaming(t, h, "audit_events", id); n < 3 {
			t.Errorf("audit trail of the user: %d events", n)
		}
		if n := count(t, h, "SELECT count(*) FROM audit_events WHERE email = $1", email); n != 0 {
			t.Errorf("%d audit events keep the email", n)
		}
		if n := count(t, h, "SELECT count(*) FROM audit_events WHERE CAST(user_id AS TEXT) = $1 AND type = 'account_deleted' AND email LIKE 'hmac:%'", id); n != 1 {
			t.Errorf("account_deleted events: %d", n)
		}
		if msg := m.mailFor(email, "Your account was deleted", 1); !strings.Contains(msg.Text, email) {
			t.Errorf("notice: %+v", msg)
		}
		// The address registers again, as a new user.
		again := h.register(email)
		if userID(t, again) == id {
			t.Error("the same id came back")
		}
	})
}

// TestDeleteNeedsProofAndKeepsAnAdmin: a stale session needs the password
// (a user without a factor), the last active administrator cannot delete
// themselves nor be deleted (409 last_admin), an administrator deletes a
// user with a fresh session only.
func TestDeleteNeedsProofAndKeepsAnAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL, withEnv(map[string]string{"AUTH_RATE_LIMIT_IP": "100000/m"}))
		root := makeAdmin(t, h, "root-"+newEmail())
		rootID := userID(t, root)
		ada := h.register(newEmail())
		adaID := userID(t, ada)
		h.clock.Advance(11 * time.Minute)

		r := ada.do("DELETE", "/auth/me", nil)
		if r.status != http.StatusForbidden || r.errorCode(t) != "reauthentication_required" {
			t.Errorf("a stale session without the password: %d %s", r.status, r.body)
		}
		r = root.do("DELETE", "/auth/me", map[string]any{"currentPassword": goodPassword})
		if r.status != http.StatusConflict || r.errorCode(t) != "last_admin" {
			t.Errorf("the last admin deletes themselves: %d %s", r.status, r.body)
		}
		r = root.do("DELETE", "/admin/users/"+adaID, nil)
		if r.status != http.StatusForbidden || r.errorCode(t) != "reauthentication_required" {
			t.Errorf("a stale admin deletes a user: %d %s", r.status, r.body)
		}
		wantStatus(t, root.do("POST", "/auth/reauthenticate", map[string]any{"password": goodPassword}), http.StatusOK, "reauthenticate")
		r = root.do("DELETE", "/admin/users/"+rootID, nil)
		if r.status != http.StatusConflict || r.errorCode(t) != "last_admin" {
			t.Errorf("the last admin deleted by themselves: %d %s", r.status, r.body)
		}
		wantStatus(t, h.register(newEmail()).do("DELETE", "/admin/users/"+adaID, nil), http.StatusForbidden, "a non-admin deletes")
		wantStatus(t, root.do("DELETE", "/admin/users/"+adaID, nil), http.StatusNoContent, "admin deletes Ada")
		wantStatus(t, ada.do("GET", "/auth/me", nil), http.StatusUnauthorized, "Ada's session")
		wantStatus(t, root.do("DELETE", "/admin/users/"+adaID, nil), http.StatusNotFound, "twice")
		if n := count(t, h, "SELECT count(*) FROM users WHERE CAST(id AS TEXT) = $1", adaID); n != 0 {
			t.Errorf("Ada is still stored")
		}
		if n := rowsNaming(t, h, "sessions", adaID); n != 0 {
			t.Errorf("Ada's sessions are still stored: %d", n)
		}
		// A user without a factor proves it with the password on a stale session.
		bob := h.register(newEmail())
		h.clock.Advance(11 * time.Minute)
		wantStatus(t, bob.do("DELETE", "/auth/me", map[string]any{"currentPassword": goodPassword}), http.StatusNoContent, "Bob with his password")
	})
}

// TestAdminCreatesUsers: with a password the user is verified and signs
// in; without one the invitation mail's link sets the password (a reset
// that proves the address) and the user signs in; creating an admin needs a
// fresh session; a non-admin cannot create users.
func TestAdminCreatesUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "optional"})
		h := m.harness
		root := makeAdmin(t, h, "root-"+newEmail())

		withPw := newEmail()
		r := root.do("POST", "/admin/users", map[string]any{"email": withPw, "name": "Ada", "password": goodPassword})
		wantStatus(t, r, http.StatusCreated, "create with a password")
		var au handlers.AdminUserResponse
		r.json(t, &au)
		if !au.User.EmailVerified || au.User.Role != "user" {
			t.Errorf("created: %+v", au.User)
		}
		login2(t, h, withPw, goodPassword)
		r = root.do("POST", "/admin/users", map[string]any{"email": withPw, "name": "Ada again", "password": goodPassword})
		if r.status != http.StatusConflict || r.errorCode(t) != "email_taken" {
			t.Errorf("a taken email: %d %s", r.status, r.body)
		}
		wantStatus(t, root.do("POST", "/admin/users", map[string]any{"email": newEmail(), "name": "Bo", "password": "short"}),
			http.StatusUnprocessableEntity, "a weak password")

		wantStatus(t, root.do("POST", "/admin/users", map[string]any{"email": newEmail(), "name": "Admin", "role": "admin", "password": goodPassword}),
			http.StatusCreated, "a fresh admin creates an admin")
		wantStatus(t, login2(t, h, withPw, goodPassword).do("POST", "/admin/users", map[string]any{"email": newEmail(), "name": "X", "password": goodPassword}),
			http.StatusForbidden, "a non-admin creates a user")
		late := newEmail()
		wantStatus(t, root.do("POST", "/admin/users", map[string]any{"email": late, "name": "Late"}), http.StatusCreated, "invite late")
		_, lateTok := m.mailFor(late, "You are invited", 0).Link()
		h.clock.Advance(11 * time.Minute)
		r = root.do("POST", "/admin/users", map[string]any{"email": newEmail(), "name": "Boss", "role": "admin", "password": goodPassword})
		if r.status != http.StatusForbidden || r.errorCode(t) != "reauthentication_required" {
			t.Errorf("a stale admin creates an admin: %d %s", r.status, r.body)
		}

		invited := newEmail()
		r = root.do("POST", "/admin/users", map[string]any{"email": invited, "name": "Invited"})
		wantStatus(t, r, http.StatusCreated, "invite")
		r.json(t, &au)
		if au.User.EmailVerified {
			t.Error("an invited user starts verified")
		}
		if hash := count(t, h, "SELECT count(*) FROM users WHERE email = $1 AND password_hash = ''", invited); hash != 1 {
			t.Error("the invited user has a password")
		}
		msg := m.mailFor(invited, "You are invited", 0)
		link, tok := msg.Link()
		if !strings.HasPrefix(link, "https://app.example.com/reset-password?token=") {
			t.Errorf("invitation link %q", link)
		}
		if n := count(t, h, "SELECT count(*) FROM one_time_tokens WHERE purpose = 'invite' AND email = $1", invited); n != 1 {
			t.Errorf("invite tokens: %d", n)
		}
		// Six days later the link still works.
		h.clock.Advance(6 * 24 * time.Hour)
		wantStatus(t, h.client().do("POST", "/auth/password/reset", map[string]any{"token": tok, "password": "the invited passphrase"}),
			http.StatusNoContent, "set the password")
		wantStatus(t, h.client().do("POST", "/auth/password/reset", map[string]any{"token": tok, "password": "another passphrase here"}),
			http.StatusBadRequest, "the link twice")
		c := login2(t, h, invited, "the invited passphrase")
		var me handlers.AuthResponse
		c.do("GET", "/auth/me", nil).json(t, &me)
		if !me.User.EmailVerified {
			t.Error("the invitation did not verify the address")
		}

		// An expired invitation.
		h.clock.Advance(24*time.Hour + time.Minute)
		wantStatus(t, h.client().do("POST", "/auth/password/reset", map[string]any{"token": lateTok, "password": "the invited passphrase"}),
			http.StatusBadRequest, "an expired invitation")

	})
}

// TestSessionCap: with 100 live sessions, the 101st revokes the least
// recently used one (by last use, including batched touches), which stops
// working; the others, the new one included, go on.
func TestSessionCap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		email := newEmail()
		first := h.register(email)
		id := userID(t, first)
		u, err := h.db.UserByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		now := h.clock.Now()
		var lru string
		for i := range 99 {
			// Each used i+1 minutes ago; the last one least recently.
			at := now.Add(-time.Duration(i+1) * time.Minute)
			s := &models.Session{UserID: id, CreatedAt: now.Add(-3 * time.Hour), LastSeenAt: at, ExpiresAt: now.Add(time.Hour), RotatedAt: at,
				AAL: 1, AMR: "pwd", AuthTime: at, UserAgent: "seeded"}
			if err := h.db.CreateSession(context.Background(), s, u.CredentialVersion); err != nil {
				t.Fatal(err)
			}
			lru = s.ID
		}
		live := func() int {
			return count(t, h, "SELECT count(*) FROM sessions WHERE CAST(user_id AS TEXT) = $1 AND revoked_at IS NULL", id)
		}
		if n := live(); n != 100 {
			t.Fatalf("%d live sessions, want 100", n)
		}
		// The first session was created before the seeded ones were last
		// used: only its use now (a batched touch) keeps it from being the
		// least recent.
		if _, err := h.db.SQL().Exec("UPDATE sessions SET last_seen_at = $1 WHERE user_agent <> 'seeded'", now.Add(-5*time.Hour)); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(time.Minute)
		wantStatus(t, first.do("GET", "/auth/me", nil), http.StatusOK, "use the first session")
		newest := login2(t, h, email, goodPassword)
		if n := live(); n != 100 {
			t.Errorf("%d live sessions after the 101st, want 100", n)
		}
		if n := count(t, h, "SELECT count(*) FROM sessions WHERE CAST(id AS TEXT) = $1 AND revoked_at IS NOT NULL", lru); n != 1 {
			t.Error("the least recently used session is still live")
		}
		wantStatus(t, first.do("GET", "/auth/me", nil), http.StatusOK, "the first session")
		wantStatus(t, newest.do("GET", "/auth/me", nil), http.StatusOK, "the new session")
		if n := count(t, h, "SELECT count(*) FROM audit_events WHERE type = 'session_revoked' AND CAST(session_id AS TEXT) = $1", lru); n != 1 {
			t.Errorf("session_revoked events for the LRU session: %d", n)
		}
	})
}
