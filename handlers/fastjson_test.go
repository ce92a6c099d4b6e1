package handlers

import (
	"encoding/json"
	"testing"
	"time"
)

func sampleAuthResponse(s1, s2 string, meta, app []byte, amr []string, aal int, verified bool, t time.Time) AuthResponse {
	return AuthResponse{
		User: User{ID: s1, Email: s2, Name: s1 + s2, Role: s2, EmailVerified: verified, Metadata: meta, AppMetadata: app, CreatedAt: Time{t}},
		Session: Session{ID: s2, CreatedAt: Time{t}, ExpiresAt: Time{t.Add(time.Hour)}, AccessExpiresAt: Time{t.Add(-time.Minute)},
			AAL: aal, AMR: amr, AuthTime: Time{t.In(time.FixedZone("x", 3600))}},
	}
}

// The hand-written encoder writes what encoding/json writes, byte for byte.
func TestAuthResponseJSONIsEncodingJSONs(t *testing.T) {
	now := time.Date(2026, 12, 4, 19, 30, 1, 123456789, time.UTC)
	cases := []AuthResponse{
		sampleAuthResponse("01935a4e-7c1d-7a8e-9b0f-3c2d1e0f4a5b", "ada@example.com", []byte("{}"), []byte("{}"), []string{"pwd"}, 1, true, now),
		sampleAuthResponse("", "", []byte(`{"a":[1,2,{"b":null}],"c":"d"}`), []byte(`{"roles":["x"]}`), []string{}, 2, false, time.Time{}),
		sampleAuthResponse(`<script>&"\`, "é\u2028\x00\x7f\xff", []byte(`{ "x" : "<&>" , "y":"\u00e9 é" }`), []byte("{}"), nil, 0, true, now),
		sampleAuthResponse("a\tb\nc", "Zoë O'Brien", []byte(`{"k":"v w"}`), []byte(`{"html":"</script>"}`), []string{"pwd", "otp", "<x>"}, 2, true, now.Add(1000*time.Hour)),
	}
	for _, r := range cases {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.appendJSON(nil); string(got) != string(want) {
			t.Errorf("hand-written:\n%s\nencoding/json:\n%s", got, want)
		}
	}
}

// FuzzAuthResponseJSON compares the two encoders on arbitrary strings and
// metadata objects.
func FuzzAuthResponseJSON(f *testing.F) {
	f.Add("id", "ada@example.com", `{"a":1}`, "pwd", 1, true, int64(0))
	f.Add("<&>", "\u2028\xff", `{ "b" : [ "é", null ] }`, "", 2, false, int64(1e18))
	f.Fuzz(func(t *testing.T, s1, s2, meta, amr string, aal int, verified bool, ns int64) {
		var m map[string]any
		if json.Unmarshal([]byte(meta), &m) != nil || m == nil {
			meta = "{}"
		}
		r := sampleAuthResponse(s1, s2, []byte(meta), []byte("{}"), []string{amr}, aal, verified, time.Unix(0, ns))
		want, err := json.Marshal(r)
		if err != nil {
			t.Skip(err) // a time outside what encoding/json can write
		}
		if got := r.appendJSON(nil); string(got) != string(want) {
			t.Fatalf("hand-written:\n%s\nencoding/json:\n%s", got, want)
		}
	})
}

// FuzzWireTime holds the digit-by-digit layout to the time package's.
func FuzzWireTime(f *testing.F) {
	f.Add(int64(0))
	f.Add(int64(1796412601123456789))
	f.Add(int64(-62135596800000000))
	f.Fuzz(func(t *testing.T, ns int64) {
		for _, tm := range []time.Time{time.Unix(0, ns), time.Unix(ns/1e9, 0).In(time.FixedZone("y", -7200)), time.Unix(ns, ns%1e9)} {
			if got, want := string(appendWireTime(nil, tm)), formatWire(tm); got != want {
				t.Fatalf("appendWireTime(%v) = %s, time.Format says %s", tm, got, want)
			}
		}
	})
}

// formatWire is the wire layout by the time package, what appendWireTime
// writes faster.
func formatWire(t time.Time) string { return t.UTC().Format(wireTime) }
