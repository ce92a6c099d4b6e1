package api_test

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/config"
	"github.com/portcullis-auth/portcullis/handlers"
)

func TestMetricsAfterALoginFlow(t *testing.T) {
	h := newHarness(t, "sqlite::memory:")
	c := h.register("ada@example.com")
	wantStatus(t, c.do("POST", "/auth/logout", nil), http.StatusNoContent, "logout")
	c = login(t, h, "ada@example.com")
	h.client().do("POST", "/auth/login", map[string]any{"email": "ada@example.com", "password": "wrong password"})
	wantStatus(t, c.do("POST", "/auth/refresh", nil), http.StatusOK, "refresh")
	var list handlers.SessionsResponse
	c.do("GET", "/auth/sessions", nil).json(t, &list)
	wantStatus(t, c.do("DELETE", "/auth/sessions/"+list.Sessions[0].ID, nil), http.StatusNoContent, "revoke")

	r := h.client().do("GET", "/metrics", nil)
	wantStatus(t, r, http.StatusOK, "metrics")
	body := string(r.body)
	for _, want := range []string{
		`portcullis_http_requests_total{method="POST",route="/auth/login",status="200"} 1`,
		`portcullis_http_requests_total{method="POST",route="/auth/login",status="401"} 1`,
		`portcullis_http_requests_total{method="DELETE",route="/auth/sessions/:id",status="204"} 1`,
		`portcullis_logins_total{outcome="success"} 1`,
		`portcullis_logins_total{outcome="invalid_credentials"} 1`,
		`portcullis_refreshes_total{outcome="rotated"} 1`,
		`portcullis_sessions_revoked_total{reason="user"} 1`,
		`portcullis_http_request_duration_seconds_bucket{method="GET",route="/auth/sessions"`,
		`portcullis_password_hash_queue_depth`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, list.Sessions[0].ID) {
		t.Error("a session id leaked into a route label")
	}
}

func TestLogsAreJSONAndHoldNoSecrets(t *testing.T) {
	var logs apitest.LogBuffer
	h := newHarness(t, "sqlite::memory:", func(_ *config.Config, d *api.Deps) {
		d.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	c := h.register("ada@example.com")
	secrets := []string{goodPassword, c.cookieValue("/", "__Host-session"), c.cookieValue("/auth", "__Secure-refresh"), h.key.String()}
	c.do("GET", "/auth/me", nil, "X-Request-ID", "trace-123")
	c.do("POST", "/auth/refresh", nil)
	secrets = append(secrets, c.cookieValue("/", "__Host-session"), c.cookieValue("/auth", "__Secure-refresh"))
	h.client().do("POST", "/auth/login", map[string]any{"email": "ada@example.com", "password": "wrong-but-secret-pw"})
	secrets = append(secrets, "wrong-but-secret-pw")
	c.do("POST", "/auth/logout", nil)

	out := logs.String()
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		lines++
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Errorf("log line is not JSON: %s", sc.Text())
			continue
		}
		if m["msg"] == "request" && (m["route"] == nil || m["status"] == nil || m["requestId"] == nil || m["durationMs"] == nil || m["clientIp"] == nil) {
			t.Errorf("request line lacks fields: %s", sc.Text())
		}
	}
	if lines < 5 {
		t.Fatalf("only %d log lines:\n%s", lines, out)
	}
	if !strings.Contains(out, `"requestId":"trace-123"`) || !strings.Contains(out, `"userId":"`) {
		t.Errorf("log lacks the request id or user id:\n%s", out)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("a secret reached the log: %.12s…", s)
		}
	}
	if strings.Contains(out, "argon2id") {
		t.Error("a password hash reached the log")
	}
}

func TestRequestIDs(t *testing.T) {
	h := newHarness(t, "sqlite::memory:")
	c := h.client()
	if got := c.do("GET", "/healthz", nil, "X-Request-ID", "abc-123").header.Get("X-Request-ID"); got != "abc-123" {
		t.Errorf("well-formed id = %q, want it echoed", got)
	}
	got := c.do("GET", "/healthz", nil, "X-Request-ID", "bad id <script>").header.Get("X-Request-ID")
	if got == "" || strings.ContainsAny(got, " <") {
		t.Errorf("malformed id replaced by %q", got)
	}
}
