package api

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"
)

// The hand-written access line is what slog's JSONHandler writes for the
// same record, and a value it would have to escape is left to slog.
func TestAccessLineIsSlogs(t *testing.T) {
	at := time.Date(2026, 12, 4, 19, 30, 1, 123456789, time.UTC)
	cases := []accessLine{
		{time: at, method: "GET", route: "/auth/me", status: 200, durationMs: 0.123, clientIP: "127.0.0.1", reqID: "0123abcd", userID: "01935a4e-7c1d-7a8e-9b0f-3c2d1e0f4a5b"},
		{time: at.Add(-123456789), method: "POST", route: "unmatched", status: 404, durationMs: 0, clientIP: "2001:db8::1", reqID: "req:1.2_3-4"},
		{time: at.In(time.FixedZone("x", 5400)), method: "DELETE", route: "/admin/users/:id", status: 503, durationMs: 5000.001, clientIP: "10.0.0.1", reqID: "x"},
		{time: at.Add(500 * time.Millisecond), method: "PATCH", route: "/auth/me", status: 422, durationMs: 12345678.9, clientIP: "::1", reqID: "<&>", userID: "u"},
	}
	for _, l := range cases {
		var want bytes.Buffer
		rec := slog.NewRecord(l.time, slog.LevelInfo, "request", 0)
		rec.AddAttrs(slog.String("method", l.method), slog.String("route", l.route), slog.Int("status", l.status),
			slog.Float64("durationMs", l.durationMs), slog.String("clientIp", l.clientIP), slog.String("requestId", l.reqID))
		if l.userID != "" {
			rec.AddAttrs(slog.String("userId", l.userID))
		}
		if err := slog.NewJSONHandler(&want, nil).Handle(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if !l.write(&got) {
			t.Fatalf("the fast path declined %+v", l)
		}
		if got.String() != want.String() {
			t.Errorf("hand-written:\n%s\nslog:\n%s", got.String(), want.String())
		}
	}
	for _, s := range []string{`a"b`, `a\b`, "a\nb", "é", "\x7f"} {
		var got bytes.Buffer
		if (&accessLine{time: at, method: "GET", route: s, reqID: "x"}).write(&got) || got.Len() > 0 {
			t.Errorf("the fast path wrote a value slog escapes: %q", s)
		}
	}
}
