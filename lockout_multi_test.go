package main

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/store/storetest"
	"github.com/portcullis-auth/portcullis/token"
)

// TestSecondStepLockoutAcrossInstancesSharingRedis runs two Portcullis
// processes on one PostgreSQL with the lockout in one Redis. The attacker
// knows the password: they sign in on one instance and guess codes on the
// other, then the other way round. A right password forgets no failure on
// either instance, so the tenth wrong code locks the pair and both refuse
// even the password (429 + Retry-After).
func TestSecondStepLockoutAcrossInstancesSharingRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two processes")
	}
	storetest.Redis(t) // skips without AUTH_TEST_REDIS_URL
	pgURL := storetest.PostgresURL(t)
	env := map[string]string{
		"AUTH_DATABASE_URL":     pgURL,
		"AUTH_SESSION_KEYS":     token.GenerateKey("shared").String(),
		"AUTH_DATA_KEYS":        token.GenerateKey("data").String(),
		"AUTH_COOKIE_SECURE":    "false",
		"AUTH_RATE_LIMIT_STORE": "redis",
		"AUTH_REDIS_URL":        os.Getenv(storetest.RedisEnvVar),
		// Other tests share this Redis and this client address.
		"AUTH_RATE_LIMIT_IP": "100000/m",
	}
	a := startProcess(t, env)
	b := startProcess(t, env)
	email := "ada-" + uuid.NewString()[:8] + "@example.com"
	creds := fmt.Sprintf(`{"email":%q,"password":"correct horse battery staple"}`, email)

	ada := &instanceClient{t: t}
	if st, _, body := ada.do("POST", a+"/auth/register", fmt.Sprintf(`{"email":%q,"password":"correct horse battery staple","name":"Ada"}`, email)); st != 201 {
		t.Fatalf("register on A: %d %s", st, body)
	}
	markVerified(t, pgURL, email)
	_, _, body := ada.do("POST", a+"/auth/mfa/totp", `{}`)
	var e struct {
		Factor struct{ ID string }
		Secret string
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Secret == "" {
		t.Fatalf("enrol on A: %s", body)
	}
	if st, _, body := ada.do("POST", a+"/auth/mfa/totp/"+e.Factor.ID+"/verify", fmt.Sprintf(`{"code":%q}`, apitest.TOTP(t, e.Secret, time.Now()))); st != 200 {
		t.Fatalf("verify on A: %d %s", st, body)
	}
	wrong := apitest.TOTP(t, e.Secret, time.Now().Add(time.Hour))

	var seen []int
	for round, pair := range [][2]string{{a, b}, {b, a}} {
		st, _, body := (&instanceClient{t: t}).do("POST", pair[0]+"/auth/login", creds)
		var in struct{ MFAToken string }
		if err := json.Unmarshal([]byte(body), &in); st != 200 || err != nil || in.MFAToken == "" {
			t.Fatalf("round %d, the password: %d %s", round+1, st, body)
		}
		for range 5 {
			st, _, _ := (&instanceClient{t: t}).do("POST", pair[1]+"/auth/mfa/verify", fmt.Sprintf(`{"mfaToken":%q,"code":%q}`, in.MFAToken, wrong))
			seen = append(seen, st)
		}
	}
	if fmt.Sprint(seen) != "[401 401 401 401 401 401 401 401 401 401]" {
		t.Errorf("ten wrong codes over two instances: %v", seen)
	}
	for _, inst := range []string{a, b} {
		st, h, body := (&instanceClient{t: t}).do("POST", inst+"/auth/login", creds)
		if st != 429 || h.Get("Retry-After") == "" {
			t.Errorf("the right password on %s after ten wrong codes: %d %s", inst, st, body)
		}
	}
}
