package api_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/config"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/store/storetest"
	"github.com/portcullis-auth/portcullis/webhook"
)

// receiver is a webhook endpoint that verifies every request with the
// official Standard Webhooks library and records what it accepted.
type receiver struct {
	t   *testing.T
	srv *httptest.Server
	wh  *standardwebhooks.Webhook

	mu       sync.Mutex
	fail     int  // answer 500 to this many more requests
	down     bool // drop the connection, answering nothing
	requests int
	got      []hookSeen // accepted (2xx) deliveries, in arrival order
}

type hookSeen struct {
	id     string
	typ    string
	userID string
}

func newReceiver(t *testing.T, secret string) *receiver {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, wh: wh}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.requests++
		if r.down {
			if hj, ok := w.(http.Hijacker); ok {
				conn, _, _ := hj.Hijack()
				_ = conn.Close()
			}
			return
		}
		if err := r.wh.Verify(body, req.Header); err != nil {
			r.t.Errorf("a delivery failed verification: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.fail > 0 {
			r.fail--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var p auth.HookPayload
		if err := json.Unmarshal(body, &p); err != nil || p.Timestamp == "" || p.Data.UserID == "" {
			r.t.Errorf("payload %s: %v", body, err)
		}
		r.got = append(r.got, hookSeen{id: req.Header.Get("webhook-id"), typ: p.Type, userID: p.Data.UserID})
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) set(fail int, down bool) {
	r.mu.Lock()
	r.fail, r.down = fail, down
	r.mu.Unlock()
}

func (r *receiver) seen() []hookSeen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// hookHarness is a mail harness with webhooks to a receiver and a delivery
// worker the test drives by hand (RunOnce), on the harness clock, retrying
// at once.
type hookHarness struct {
	*mailHarness
	recv   *receiver
	worker *webhook.Worker
}

func newHookHarness(t *testing.T, dbURL string) *hookHarness {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	recv := newReceiver(t, secret)
	w := &webhook.Worker{Key: key, Schedule: []time.Duration{0}}
	m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "optional", "AUTH_LOCKOUT_THRESHOLD": "3",
		"AUTH_WEBHOOK_URLS": recv.srv.URL + "/hooks", "AUTH_WEBHOOK_SECRET": secret},
		withDataKeys(mustDataKeys(t)), func(_ *config.Config, d *api.Deps) { d.WebhookKick = w.Kick })
	w.Store, w.Now = m.db, m.clock.Now
	return &hookHarness{mailHarness: m, recv: recv, worker: w}
}

// drain runs the worker until nothing is due, at most n turns.
func (hh *hookHarness) drain(n int) {
	for range n {
		if hh.worker.RunOnce(context.Background()) == 0 {
			return
		}
	}
}

// pendingRows counts deliveries not yet delivered.
func (hh *hookHarness) pendingRows() int {
	return count(hh.t, hh.harness, "SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'")
}

// storedOrder is every delivery's event id, per user, in the order written.
func (hh *hookHarness) storedOrder() map[string][]string {
	rows, err := hh.db.SQL().Query("SELECT user_id, event_id FROM webhook_deliveries ORDER BY id")
	if err != nil {
		hh.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var u, e string
		if err := rows.Scan(&u, &e); err != nil {
			hh.t.Fatal(err)
		}
		out[u] = append(out[u], e)
	}
	return out
}

// makeEvents causes every event type for a new user, and returns its id.
func (hh *hookHarness) makeEvents(t *testing.T) string {
	h := hh.harness
	email := newEmail()
	c, _, _ := enrolled(t, h, email) // user.created, session.created, user.email_verified, mfa.enrolled, session.revoked
	id := userID(t, c)
	wantStatus(t, c.do("PATCH", "/auth/me", map[string]any{"name": "Ada King", "metadata": map[string]any{"k": 1}}), http.StatusOK, "user.updated")
	wantStatus(t, c.do("POST", "/auth/password", map[string]any{"currentPassword": goodPassword, "newPassword": "another long passphrase"}),
		http.StatusNoContent, "password.changed")
	var fs handlers.FactorsResponse
	c.do("GET", "/auth/mfa", nil).json(t, &fs)
	wantStatus(t, c.do("DELETE", "/auth/mfa/"+fs.Factors[0].ID, nil), http.StatusNoContent, "mfa.removed")
	other := login2(t, h, email, "another long passphrase")
	wantStatus(t, other.do("POST", "/auth/logout", nil), http.StatusNoContent, "session.revoked")
	for i := range 3 {
		h.client().do("POST", "/auth/login", map[string]any{"email": email, "password": fmt.Sprintf("wrong guess %d", i)})
	}
	// Deleting the account deletes its undelivered events but its own
	// user.deleted: deliver them first.
	hh.drain(100)
	wantStatus(t, c.do("DELETE", "/auth/me", nil), http.StatusNoContent, "user.deleted")
	return id
}

var allHookTypes = []string{auth.HookUserCreated, auth.HookUserUpdated, auth.HookUserDeleted, auth.HookUserEmailVerified, auth.HookSessionCreated,
	auth.HookSessionRevoked, auth.HookPasswordChanged, auth.HookMFAEnrolled, auth.HookMFARemoved, auth.HookLoginLocked}

// TestWebhooksSignedOnceEach: every event type reaches the receiver with a
// signature the official Standard Webhooks library accepts, each event
// once, in the order written.
func TestWebhooksSignedOnceEach(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		hh := newHookHarness(t, dbURL)
		id := hh.makeEvents(t)
		hh.drain(100)
		if n := hh.pendingRows(); n != 0 {
			t.Fatalf("%d deliveries still pending", n)
		}
		got := hh.recv.seen()
		types, ids := map[string]int{}, map[string]int{}
		var mine []string
		for _, g := range got {
			ids[g.id]++
			if g.userID == id {
				types[g.typ]++
				mine = append(mine, g.id)
			}
		}
		for _, typ := range allHookTypes {
			if types[typ] == 0 {
				t.Errorf("no %s event", typ)
			}
		}
		for wid, n := range ids {
			if n != 1 {
				t.Errorf("event %s delivered %d times", wid, n)
			}
		}
		// Only the deletion's own user.deleted delivery names the user now.
		stored := hh.storedOrder()[id]
		if len(stored) != 1 {
			t.Errorf("%d delivery rows name the deleted user, want 1 (user.deleted)", len(stored))
		}
		if len(mine) < len(allHookTypes) {
			t.Errorf("received %d events of the user", len(mine))
		}
	})
}

// TestWebhooksRetriedInOrder: a receiver answering 500 three times, then
// one that is down for a while: every event still arrives, and each user's
// events arrive in the order they were written.
func TestWebhooksRetriedInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		hh := newHookHarness(t, dbURL)
		h := hh.harness
		hh.recv.set(3, false)
		a, b := h.register(newEmail()), h.register(newEmail())
		for i := range 3 {
			wantStatus(t, a.do("PATCH", "/auth/me", map[string]any{"metadata": map[string]any{"n": i}}), http.StatusOK, "a")
			wantStatus(t, b.do("PATCH", "/auth/me", map[string]any{"metadata": map[string]any{"n": i}}), http.StatusOK, "b")
		}
		want := hh.storedOrder()
		hh.drain(100)
		inOrder := func(what string) {
			t.Helper()
			got := map[string][]string{}
			for _, g := range hh.recv.seen() {
				got[g.userID] = append(got[g.userID], g.id)
			}
			for user, ids := range want {
				if !slices.Equal(got[user], ids) {
					t.Errorf("%s: user %s received %v, want in order %v", what, user, got[user], ids)
				}
			}
		}
		inOrder("after three 500s")
		// Down for a while: attempts fail, nothing is lost.
		hh.recv.set(0, true)
		wantStatus(t, a.do("PATCH", "/auth/me", map[string]any{"name": "Later"}), http.StatusOK, "while down")
		for range 5 {
			hh.worker.RunOnce(context.Background())
		}
		if n := count(t, h, "SELECT count(*) FROM webhook_deliveries WHERE state = 'pending' AND attempts >= 5"); n != 1 {
			t.Errorf("%d deliveries retried five times while down, want 1", n)
		}
		hh.recv.set(0, false)
		hh.drain(100)
		want = hh.storedOrder()
		inOrder("after the receiver came back")
		if hh.recv.requests < len(hh.recv.seen())+3+5 {
			t.Errorf("%d requests for %d deliveries: the failures were not retried", hh.recv.requests, len(hh.recv.seen()))
		}
	})
}

// TestWebhookFailedForGoodAndRetried: a delivery that fails for 24 hours
// fails for good and releases the events behind it; it is listed under
// status=failed and a retry (202) delivers it with the same webhook-id.
func TestWebhookFailedForGoodAndRetried(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		hh := newHookHarness(t, dbURL)
		h := hh.harness
		rootEmail := "root-" + newEmail()
		makeAdmin(t, h, rootEmail)
		hh.drain(100)
		hh.recv.set(1_000_000, false)
		ada := h.register(newEmail())
		adaID := userID(t, ada)
		hh.worker.RunOnce(context.Background())
		h.clock.Advance(25 * time.Hour)
		hh.drain(100)
		if n := count(t, h, "SELECT count(*) FROM webhook_deliveries WHERE state = 'failed' AND user_id = $1", adaID); n != 2 {
			t.Fatalf("%d of Ada's deliveries failed for good, want 2 (user.created, session.created)", n)
		}
		hh.recv.set(0, false)
		root := login2(t, h, rootEmail, goodPassword)
		hh.drain(100)
		r := root.do("GET", "/admin/webhooks/deliveries?status=failed", nil)
		wantStatus(t, r, http.StatusOK, "list failed")
		var list handlers.WebhookDeliveriesResponse
		r.json(t, &list)
		if list.Total != 2 || len(list.Deliveries) != 2 || list.Deliveries[0].State != "failed" || list.Deliveries[0].LastStatus != 500 {
			t.Fatalf("failed deliveries: %s", r.body)
		}
		wantStatus(t, h.register(newEmail()).do("GET", "/admin/webhooks/deliveries", nil), http.StatusForbidden, "a non-admin lists")
		wantStatus(t, root.do("GET", "/admin/webhooks/deliveries?status=bogus", nil), http.StatusBadRequest, "a bad status")
		before := len(hh.recv.seen())
		for _, d := range list.Deliveries {
			wantStatus(t, root.do("POST", fmt.Sprintf("/admin/webhooks/deliveries/%d/retry", d.ID), nil), http.StatusAccepted, "retry")
		}
		wantStatus(t, root.do("POST", "/admin/webhooks/deliveries/999999/retry", nil), http.StatusNotFound, "retry an unknown delivery")
		hh.drain(100)
		seen := hh.recv.seen()[before:]
		for _, d := range list.Deliveries {
			n := 0
			for _, s := range seen {
				if s.id == d.EventID {
					n++
				}
			}
			if n != 1 {
				t.Errorf("delivery %d (%s) received %d times after its retry, want once", d.ID, d.EventID, n)
			}
		}
		r = root.do("GET", "/admin/webhooks/deliveries?status=failed", nil)
		r.json(t, &list)
		if list.Total != 0 {
			t.Errorf("failed after the retries: %s", r.body)
		}
	})
}
