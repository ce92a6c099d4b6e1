package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// prodVars are the least a production start needs.
func prodVars(extra map[string]string) map[string]string {
	vars := map[string]string{"AUTH_ENV": "production", "AUTH_SESSION_KEYS": "k1:" + strings.Repeat("A", 43), "AUTH_SHUTDOWN_DRAIN": "0s"}
	for k, v := range extra {
		vars[k] = v
	}
	return vars
}

// metricsGet asks url for /metrics with the authorization header auth ("":
// none) and returns the status and body.
func metricsGet(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestMetricsInProduction: production serves /metrics only behind
// AUTH_METRICS_TOKEN on the main port or only on AUTH_METRICS_ADDR (where a
// set token is required too); with neither it answers 404 and warns once,
// naming both variables.
func TestMetricsInProduction(t *testing.T) {
	const tok = "metrics-token-0123456789abcdef"
	start := func(t *testing.T, extra map[string]string) (string, *syncBuffer) {
		ctx, cancel := context.WithCancel(context.Background())
		base, logs, done := startRun(t, ctx, prodVars(extra))
		t.Cleanup(func() { cancel(); <-done })
		return base, logs
	}
	t.Run("neither", func(t *testing.T) {
		base, logs := start(t, nil)
		if status, body := metricsGet(t, base+"/metrics", ""); status != http.StatusNotFound || !strings.Contains(body, `"not_found"`) {
			t.Errorf("/metrics: %d %s, want the JSON 404", status, body)
		}
		var warnings int
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `"level":"WARN"`) && strings.Contains(line, "AUTH_METRICS_TOKEN") && strings.Contains(line, "AUTH_METRICS_ADDR") {
				warnings++
			}
		}
		if warnings != 1 {
			t.Errorf("%d warnings naming AUTH_METRICS_TOKEN and AUTH_METRICS_ADDR, want 1:\n%s", warnings, logs)
		}
	})
	t.Run("token", func(t *testing.T) {
		base, logs := start(t, map[string]string{"AUTH_METRICS_TOKEN": tok})
		for _, auth := range []string{"", "Bearer ", "Bearer wrong-token-0123456789abcdef", "Basic " + tok, tok, "Bearer " + tok + "x"} {
			status, body := metricsGet(t, base+"/metrics", auth)
			if status != http.StatusUnauthorized || !strings.Contains(body, `"unauthenticated"`) || strings.Contains(body, "portcullis_") {
				t.Errorf("Authorization %q: %d %.200s, want the JSON 401", auth, status, body)
			}
		}
		if status, body := metricsGet(t, base+"/metrics", "Bearer "+tok); status != http.StatusOK || !strings.Contains(body, "portcullis_emails_total") {
			t.Errorf("with the token: %d %.200s", status, body)
		}
		if strings.Contains(logs.String(), "/metrics is not served") {
			t.Error("warned although the token serves /metrics")
		}
	})
	t.Run("addr", func(t *testing.T) {
		base, logs := start(t, map[string]string{"AUTH_METRICS_ADDR": "127.0.0.1:0", "AUTH_METRICS_TOKEN": tok})
		if status, _ := metricsGet(t, base+"/metrics", "Bearer "+tok); status != http.StatusNotFound {
			t.Errorf("main port with the token: %d, want 404 (AUTH_METRICS_ADDR moves /metrics)", status)
		}
		addr := "http://" + logAddr(t, logs, "metrics listening")
		if status, _ := metricsGet(t, addr+"/metrics", ""); status != http.StatusUnauthorized {
			t.Errorf("metrics address without the token: %d, want 401", status)
		}
		if status, body := metricsGet(t, addr+"/metrics", "Bearer "+tok); status != http.StatusOK || !strings.Contains(body, "portcullis_http_requests_total") {
			t.Errorf("metrics address with the token: %d %.200s", status, body)
		}
		if status, _ := metricsGet(t, addr+"/healthz", "Bearer "+tok); status != http.StatusNotFound {
			t.Errorf("metrics address serves only /metrics; /healthz: %d", status)
		}
	})
	t.Run("short token", func(t *testing.T) {
		// A server that starts anyway would run until this deadline.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := run(ctx, []string{"portcullis"}, envOf(prodVars(map[string]string{"AUTH_METRICS_TOKEN": "short"})), strings.NewReader(""), io.Discard, io.Discard)
		var usage *usageError
		if !errors.As(err, &usage) || !strings.HasPrefix(err.Error(), "AUTH_METRICS_TOKEN: ") {
			t.Errorf("a short token: %v, want a usage error naming AUTH_METRICS_TOKEN", err)
		}
	})
}
