package main

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/store/storetest"
	"github.com/portcullis-auth/portcullis/token"
)

// TestMain lets the test binary stand in for the portcullis binary, so the
// multi-instance test can start real processes without building one. The
// run ends with how many PostgreSQL cases were skipped, if any.
func TestMain(m *testing.M) {
	if os.Getenv("PORTCULLIS_TEST_AS_MAIN") == "1" {
		os.Args = os.Args[:1]
		main()
		return
	}
	os.Exit(storetest.Main(m))
}

// startProcess starts a Portcullis process with env and returns its URL.
// The process picks its own port (AUTH_ADDR=127.0.0.1:0) and the test reads
// it from the "listening" log line, so no other process can take it between
// a probe and the start.
func startProcess(t *testing.T, env map[string]string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PORTCULLIS_TEST_AS_MAIN=1", "AUTH_ADDR=127.0.0.1:0", "AUTH_SHUTDOWN_DRAIN=0s", "AUTH_LOG_LEVEL=info")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logs, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	addrs := make(chan string, 1)
	go func() {
		// Pass warnings and errors on; the first "listening" line names the port.
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			var line struct{ Level, Msg, Addr string }
			_ = json.Unmarshal(sc.Bytes(), &line)
			switch {
			case line.Msg == "listening":
				addrs <- line.Addr
			case line.Level != "INFO" && line.Level != "DEBUG":
				fmt.Fprintln(os.Stderr, sc.Text())
			}
		}
		close(addrs)
	}()
	var addr string
	select {
	case a, ok := <-addrs:
		if !ok {
			t.Fatal("the instance exited before listening")
		}
		addr = a
	case <-time.After(30 * time.Second):
		t.Fatal("the instance did not start listening within 30 s")
	}
	base := "http://" + addr
	for i := 0; ; i++ {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		if i > 300 {
			t.Fatalf("instance at %s did not become ready", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type instanceClient struct {
	t      *testing.T
	cookie string
}

func (c *instanceClient) do(method, url, body string) (int, http.Header, string) {
	c.t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cookie != "" {
		req.Header.Set("Cookie", c.cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for _, ck := range resp.Cookies() {
		if ck.Name == "session" && ck.MaxAge >= 0 {
			c.cookie = "session=" + ck.Value
		}
	}
	return resp.StatusCode, resp.Header, string(data)
}

// within polls check every 20 ms and fails unless it holds within limit.
func within(t *testing.T, limit time.Duration, what string, check func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !check() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// TestTwoInstancesOnOnePostgreSQL runs two Portcullis processes with the
// same keys on one database: cookies work on both, and a logout, a demotion
// or a lockout on one holds on the other within a second.
func TestTwoInstancesOnOnePostgreSQL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two processes")
	}
	dbURL := storetest.PostgresURL(t)
	env := map[string]string{
		"AUTH_DATABASE_URL":             dbURL,
		"AUTH_SESSION_KEYS":             token.GenerateKey("shared").String(),
		"AUTH_COOKIE_SECURE":            "false",
		"AUTH_RATE_LIMIT_STORE":         "database",
		"AUTH_BOOTSTRAP_ADMIN_EMAIL":    "root@example.com",
		"AUTH_BOOTSTRAP_ADMIN_PASSWORD": "a long root passphrase",
	}
	a := startProcess(t, env)
	b := startProcess(t, env)

	ada := &instanceClient{t: t}
	if st, _, body := ada.do("POST", a+"/auth/register", `{"email":"ada@example.com","password":"correct horse battery staple","name":"Ada"}`); st != 201 {
		t.Fatalf("register on A: %d %s", st, body)
	}
	if st, _, _ := ada.do("GET", b+"/auth/me", ""); st != 200 {
		t.Fatalf("A's cookie on B: %d", st)
	}
	old := &instanceClient{t: t, cookie: ada.cookie}
	if st, _, _ := ada.do("POST", a+"/auth/logout", ""); st != 204 {
		t.Fatalf("logout on A: %d", st)
	}
	d := within(t, time.Second, "B rejects the logged-out cookie", func() bool {
		st, _, _ := old.do("GET", b+"/auth/me", "")
		return st == 401
	})
	t.Logf("B rejected the logged-out cookie after %s", d.Round(time.Millisecond))

	root := &instanceClient{t: t}
	if st, _, body := root.do("POST", a+"/auth/login", `{"email":"root@example.com","password":"a long root passphrase"}`); st != 200 {
		t.Fatalf("root login: %d %s", st, body)
	}
	bob := &instanceClient{t: t}
	_, _, body := bob.do("POST", a+"/auth/register", `{"email":"bob@example.com","password":"correct horse battery staple","name":"Bob"}`)
	var reg struct{ User struct{ ID string } }
	_ = json.Unmarshal([]byte(body), &reg)
	if st, _, _ := root.do("PATCH", a+"/admin/users/"+reg.User.ID, `{"role":"admin"}`); st != 200 {
		t.Fatalf("promote on A: %d", st)
	}
	if st, _, _ := bob.do("GET", b+"/admin/users", ""); st != 200 {
		t.Fatalf("promoted Bob on B: %d", st)
	}
	if st, _, _ := root.do("PATCH", a+"/admin/users/"+reg.User.ID, `{"role":"user"}`); st != 200 {
		t.Fatalf("demote on A: %d", st)
	}
	d = within(t, time.Second, "B enforces the demotion", func() bool {
		st, _, _ := bob.do("GET", b+"/admin/users", "")
		return st == 403
	})
	t.Logf("B enforced the demotion after %s", d.Round(time.Millisecond))

	// Failed logins on both instances add up to one lockout.
	x := &instanceClient{t: t}
	for i := range 10 {
		inst := a
		if i%2 == 1 {
			inst = b
		}
		if st, _, _ := x.do("POST", inst+"/auth/login", fmt.Sprintf(`{"email":"ada@example.com","password":"wrong %d"}`, i)); st != 401 {
			t.Fatalf("failure %d: %d", i, st)
		}
	}
	for _, inst := range []string{a, b} {
		st, h, _ := x.do("POST", inst+"/auth/login", `{"email":"ada@example.com","password":"correct horse battery staple"}`)
		if st != 429 || h.Get("Retry-After") == "" {
			t.Errorf("locked email on %s: %d", inst, st)
		}
	}
}

// TestSecondFactorAcrossInstances: a session B has cached ends within a
// second when its user turns on an authenticator app on A, and a code
// accepted on A is refused on B (one time step, once, for every instance).
func TestSecondFactorAcrossInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two processes")
	}
	pgURL := storetest.PostgresURL(t)
	env := map[string]string{
		"AUTH_DATABASE_URL":     pgURL,
		"AUTH_SESSION_KEYS":     token.GenerateKey("shared").String(),
		"AUTH_DATA_KEYS":        token.GenerateKey("data").String(),
		"AUTH_COOKIE_SECURE":    "false",
		"AUTH_RATE_LIMIT_STORE": "database",
	}
	a := startProcess(t, env)
	b := startProcess(t, env)
	const creds = `{"email":"ada@example.com","password":"correct horse battery staple"}`

	ada := &instanceClient{t: t}
	if st, _, body := ada.do("POST", a+"/auth/register", `{"email":"ada@example.com","password":"correct horse battery staple","name":"Ada"}`); st != 201 {
		t.Fatalf("register on A: %d %s", st, body)
	}
	markVerified(t, pgURL, "ada@example.com") // an unverified address cannot enrol a factor
	laptop := &instanceClient{t: t}
	if st, _, _ := laptop.do("POST", b+"/auth/login", creds); st != 200 {
		t.Fatalf("login on B: %d", st)
	}
	if st, _, _ := laptop.do("GET", b+"/auth/me", ""); st != 200 {
		t.Fatalf("the laptop's session on B: %d", st)
	}

	_, _, body := ada.do("POST", a+"/auth/mfa/totp", `{}`)
	var e struct {
		Factor struct{ ID string }
		Secret string
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Secret == "" {
		t.Fatalf("enrol on A: %s", body)
	}
	now := time.Now()
	if st, _, body := ada.do("POST", a+"/auth/mfa/totp/"+e.Factor.ID+"/verify", fmt.Sprintf(`{"code":%q}`, apitest.TOTP(t, e.Secret, now))); st != 200 {
		t.Fatalf("verify on A: %d %s", st, body)
	}
	d := within(t, time.Second, "B ends the laptop's session", func() bool {
		st, _, _ := laptop.do("GET", b+"/auth/me", "")
		return st == 401
	})
	t.Logf("B ended the session after %s", d.Round(time.Millisecond))

	// The next time step's code, spent on A, is no good on B.
	next := apitest.TOTP(t, e.Secret, now.Add(30*time.Second))
	first := func(inst string) string {
		_, _, body := (&instanceClient{t: t}).do("POST", inst+"/auth/login", creds)
		var in struct{ MFAToken string }
		if err := json.Unmarshal([]byte(body), &in); err != nil || in.MFAToken == "" {
			t.Fatalf("first step on %s: %s", inst, body)
		}
		return in.MFAToken
	}
	onA, onB := first(a), first(b)
	if st, _, body := (&instanceClient{t: t}).do("POST", a+"/auth/mfa/verify", fmt.Sprintf(`{"mfaToken":%q,"code":%q}`, onA, next)); st != 200 {
		t.Fatalf("the code on A: %d %s", st, body)
	}
	if st, _, _ := (&instanceClient{t: t}).do("POST", b+"/auth/mfa/verify", fmt.Sprintf(`{"mfaToken":%q,"code":%q}`, onB, next)); st != 401 {
		t.Errorf("the same code replayed on B: %d", st)
	}
}

// markVerified records that email's owner proved the address, as following
// the verification link would: an unverified address cannot enrol a factor
// while mail is sent (DESIGN.md, "First proof of an address").
func markVerified(t *testing.T, dbURL, email string) {
	t.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if res, err := db.Exec(`UPDATE users SET email_verified = true WHERE email = $1`, email); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("mark %s verified: %d rows", email, n)
	}
}
