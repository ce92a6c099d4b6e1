package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis-auth/portcullis/handlers"
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
		_ = context.Background()
	})
}
