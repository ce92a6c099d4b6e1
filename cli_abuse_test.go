package main

import (
	"crypto/sha1" //nolint:gosec // the range API's key
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestCLIAppliesDomainRulesAndBreachCheck: `user create` and
// `user set-password` meet the email-domain rules and the breached-password
// range check like every other place an address or password is set.
func TestCLIAppliesDomainRulesAndBreachCheck(t *testing.T) {
	var calls atomic.Int32
	breached := sha1Hex("a long root passphrase")
	rng := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		prefix := strings.TrimPrefix(r.URL.Path, "/range/")
		if r.Header.Get("Add-Padding") != "true" || len(prefix) != 5 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if strings.HasPrefix(breached, prefix) {
			_, _ = w.Write([]byte(breached[5:] + ":7\r\n0000000000000000000000000000000000A:0"))
		}
	}))
	t.Cleanup(rng.Close)
	vars, _ := operatorFixture(t)
	vars["AUTH_SIGNUP_DOMAINS_DENY"] = "blocked.example"
	vars["AUTH_BREACHED_PASSWORDS"] = "check"
	vars["AUTH_BREACHED_PASSWORDS_URL"] = rng.URL + "/range/"
	if _, _, err := runCmd(t, vars, "another passphrase here\n", "user", "create", "-email", "op@blocked.example", "-name", "Op"); err == nil ||
		!strings.Contains(err.Error(), "email") {
		t.Errorf("user create at a denied domain: %v", err)
	}
	if _, _, err := runCmd(t, vars, "a long root passphrase\n", "user", "create", "-email", "root@example.com", "-name", "Root"); err == nil ||
		!strings.Contains(err.Error(), "data breach") {
		t.Errorf("user create with a breached password: %v", err)
	}
	if _, errOut, err := runCmd(t, vars, "another passphrase here\n", "user", "create", "-email", "ada@example.com", "-name", "Ada"); err != nil {
		t.Fatalf("user create: %v %s", err, errOut)
	}
	if _, _, err := runCmd(t, vars, "a long root passphrase\n", "user", "set-password", "-email", "ada@example.com"); err == nil ||
		!strings.Contains(err.Error(), "data breach") {
		t.Errorf("set-password with a breached password: %v", err)
	}
	if calls.Load() < 3 {
		t.Errorf("%d range calls", calls.Load())
	}
}

func sha1Hex(pw string) string {
	sum := sha1.Sum([]byte(pw)) //nolint:gosec // the range API's key
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
