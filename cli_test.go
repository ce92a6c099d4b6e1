package main

import (
	"context"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/store"
	"github.com/portcullis-auth/portcullis/token"
)

// TestHelpListsEveryCommand: -h and help list each subcommand on a line and
// point to the AUTH_* variables; each subcommand's -h lists its flags.
func TestHelpListsEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"help"}, {"--help"}} {
		out, _, err := runCmd(t, nil, "", args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		for _, cmd := range []string{"serve", "migrate", "user create", "user list", "user set-password", "user set-role", "user disable", "user enable", "keys generate", "healthcheck", "AUTH_"} {
			if !strings.Contains(out, cmd) {
				t.Errorf("%v does not mention %q:\n%s", args, cmd, out)
			}
		}
	}
	for sub, flags := range map[string][]string{
		"user create": {"-email", "-name", "-role"}, "user list": {"-email"}, "user set-password": {"-email"},
		"user set-role": {"-email", "-role"}, "user disable": {"-email"}, "user enable": {"-email"},
		"keys generate": {"-kid"}, "healthcheck": {"-url"},
	} {
		_, help, err := runCmd(t, nil, "", append(strings.Fields(sub), "-h")...)
		if err != nil {
			t.Errorf("%s -h: %v", sub, err)
		}
		for _, f := range flags {
			if !strings.Contains(help, f) {
				t.Errorf("%s -h does not list %s:\n%s", sub, f, help)
			}
		}
	}
}

// operatorFixture is a database the commands work on, and a service over it
// to check what they did.
func operatorFixture(t *testing.T) (map[string]string, *auth.Service) {
	t.Helper()
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "auth.db")
	vars := map[string]string{"AUTH_DATABASE_URL": dbURL}
	db, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	keys, _ := token.NewKeyRing(token.GenerateKey("cli"))
	return vars, auth.New(auth.Deps{Store: db, Keys: keys, Hasher: auth.NewHasher(1, 4, nil),
		Lifetimes: auth.Lifetimes{Access: time.Minute, Session: time.Hour, Remember: time.Hour, MaxAge: time.Hour}})
}

// TestOperatorCommands covers the way out for an operator: list, set a
// forgotten password (which ends the user's sessions), change roles within
// the last-admin rule, disable and enable; and a duplicate email said plainly.
func TestOperatorCommands(t *testing.T) {
	ctx := context.Background()
	vars, svc := operatorFixture(t)
	mustRun := func(stdin string, args ...string) string {
		t.Helper()
		out, errOut, err := runCmd(t, vars, stdin, args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut)
		}
		return out
	}
	mustRun("a long root passphrase\n", "user", "create", "-email", "root@example.com", "-name", "Root", "-role", "admin")
	mustRun("ada's old passphrase\n", "user", "create", "-email", "ada@example.com", "-name", "Ada")
	_, _, err := runCmd(t, vars, "another passphrase here\n", "user", "create", "-email", "ADA@example.com", "-name", "Ada Two")
	if err == nil || err.Error() != "a user with the email ada@example.com already exists" {
		t.Errorf("duplicate email: %v, want one plain sentence", err)
	}

	out := mustRun("", "user", "list")
	if !strings.Contains(out, "root@example.com") || !strings.Contains(out, "ada@example.com") || !strings.Contains(out, "admin") {
		t.Errorf("user list:\n%s", out)
	}
	if out := mustRun("", "user", "list", "-email", "ada"); strings.Contains(out, "root@") || !strings.Contains(out, "ada@") {
		t.Errorf("user list -email ada:\n%s", out)
	}

	signedIn, err := svc.Login(ctx, auth.Client{}, "ada@example.com", "ada's old passphrase", auth.LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mustRun("ada's brand new passphrase\n", "user", "set-password", "-email", "ada@example.com")
	if _, err := svc.Authenticate(ctx, signedIn.Tokens.Access); err == nil {
		t.Error("a session from before set-password still works")
	}
	if _, err := svc.Login(ctx, auth.Client{}, "ada@example.com", "ada's old passphrase", auth.LoginOptions{}); err == nil {
		t.Error("the old password still works")
	}
	if _, err := svc.Login(ctx, auth.Client{}, "ada@example.com", "ada's brand new passphrase", auth.LoginOptions{}); err != nil {
		t.Errorf("the new password: %v", err)
	}

	mustRun("", "user", "set-role", "-email", "ada@example.com", "-role", "admin")
	mustRun("", "user", "set-role", "-email", "root@example.com", "-role", "user")
	_, _, err = runCmd(t, vars, "", "user", "disable", "-email", "ada@example.com")
	if err == nil || !strings.Contains(err.Error(), "last active administrator") {
		t.Errorf("disabling the last admin: %v", err)
	}
	mustRun("", "user", "disable", "-email", "root@example.com")
	if _, err := svc.Login(ctx, auth.Client{}, "root@example.com", "a long root passphrase", auth.LoginOptions{}); err == nil {
		t.Error("a disabled user signed in")
	}
	mustRun("", "user", "enable", "-email", "root@example.com")
	if _, err := svc.Login(ctx, auth.Client{}, "root@example.com", "a long root passphrase", auth.LoginOptions{}); err != nil {
		t.Errorf("the re-enabled user: %v", err)
	}
	_, _, err = runCmd(t, vars, "", "user", "disable", "-email", "nobody@example.com")
	if err == nil || err.Error() != "no user has the email nobody@example.com" {
		t.Errorf("unknown email: %v", err)
	}
	var usage *usageError
	for _, args := range [][]string{{"user", "set-role", "-email", "ada@example.com", "-role", "owner"}, {"user", "disable"}, {"user", "rename"}} {
		if _, _, err := runCmd(t, vars, "", args...); !errors.As(err, &usage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

// TestPasswordPromptOnATerminal runs user create with a real pseudo-terminal
// as standard input: the password is asked for twice and never echoed.
func TestPasswordPromptOnATerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	var (
		echoed strings.Builder
		mu     sync.Mutex
	)
	go func() { // everything the terminal shows
		buf := make([]byte, 1024)
		for {
			n, err := ptmx.Read(buf)
			mu.Lock()
			echoed.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	vars, svc := operatorFixture(t)
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"portcullis", "user", "create", "-email", "tty@example.com", "-name", "Tty"},
			envOf(vars), tty, &stdout, &stderr)
	}()
	const secret = "typed on a terminal"
	for _, prompt := range []string{"Password: ", "Password again: "} {
		waitFor(t, func() bool { return strings.Count(stderr.String(), prompt) >= 1 })
		if _, err := io.WriteString(ptmx, secret+"\r"); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("user create on a terminal: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("user create did not finish")
	}
	mu.Lock()
	shown := echoed.String()
	mu.Unlock()
	if strings.Contains(shown, secret) || strings.Contains(stderr.String(), secret) {
		t.Errorf("the password was echoed: terminal %q, stderr %q", shown, stderr.String())
	}
	if _, err := svc.Login(context.Background(), auth.Client{}, "tty@example.com", secret, auth.LoginOptions{}); err != nil {
		t.Errorf("the password typed on the terminal: %v", err)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// TestDatabaseErrorsAtStartSayWhatFailed: a refused connection, a wrong role
// and an SQLite path that cannot be created each stop the start with one line
// naming the cause and AUTH_DATABASE_URL (exit 1), with no password and no
// "temporarily unavailable".
func TestDatabaseErrorsAtStartSayWhatFailed(t *testing.T) {
	cases := map[string]struct{ url, want string }{
		"refused":         {"postgres://postgres:s3cret-pw@127.0.0.1:1/test", "connection refused"},
		"no directory":    {"sqlite:" + filepath.Join(t.TempDir(), "missing", "dir", "auth.db"), "no such file or directory"},
		"not a directory": {"sqlite:" + filepath.Join(mustFile(t), "auth.db"), "not a directory"},
	}
	if base := os.Getenv("AUTH_TEST_DATABASE_URL"); base != "" {
		u, _ := url.Parse(base)
		u.User = url.UserPassword("no_such_role", "s3cret-pw")
		cases["wrong role"] = struct{ url, want string }{u.String(), `role "no_such_role" does not exist`}
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			vars := map[string]string{"AUTH_ADDR": "127.0.0.1:0", "AUTH_DATABASE_URL": tc.url, "AUTH_SESSION_KEYS": token.GenerateKey("k").String()}
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			err := run(ctx, []string{"portcullis"}, envOf(vars), strings.NewReader(""), io.Discard, io.Discard)
			var usage *usageError
			switch {
			case err == nil || errors.As(err, &usage):
				t.Fatalf("err = %v, want a start-up failure (exit 1)", err)
			case strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "AUTH_DATABASE_URL"):
				t.Errorf("err = %q, want one line naming %q and AUTH_DATABASE_URL", err, tc.want)
			case strings.Contains(err.Error(), "s3cret-pw") || strings.Contains(err.Error(), "temporarily unavailable"):
				t.Errorf("err = %q leaks the password or says temporarily unavailable", err)
			}
		})
	}
}

func mustFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigurationMessages: a bad value says what is wrong once (the
// variable is named once, by the prefix), a short key says how to make one,
// a bad or unreachable Redis is one line, and a misspelt variable is warned
// about with the closest real one.
func TestConfigurationMessages(t *testing.T) {
	for _, tc := range []struct {
		vars  map[string]string
		want  string
		usage bool
	}{
		{map[string]string{"AUTH_SESSION_KEYS": "k1:YWJj"}, "AUTH_SESSION_KEYS: key \"k1\" must be 32 bytes, not 3; generate one with `portcullis keys generate`", true},
		{map[string]string{"AUTH_REDIS_URL": "http://cache:6379"}, "AUTH_REDIS_URL: must be a redis:// or rediss:// URL", true},
		{map[string]string{"AUTH_BOOTSTRAP_ADMIN_EMAIL": "a@example.com"}, "AUTH_BOOTSTRAP_ADMIN_EMAIL: must be set together with AUTH_BOOTSTRAP_ADMIN_PASSWORD", true},
		{map[string]string{"AUTH_REDIS_URL": "redis://:pw@127.0.0.1:1/0"}, "AUTH_REDIS_URL: cannot reach Redis at 127.0.0.1:1: connection refused; is it running?", false},
	} {
		tc.vars["AUTH_ADDR"] = "127.0.0.1:0"
		tc.vars["AUTH_DATABASE_URL"] = "sqlite::memory:"
		var stderr syncBuffer
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := run(ctx, []string{"portcullis"}, envOf(tc.vars), strings.NewReader(""), io.Discard, &stderr)
		cancel()
		var usage *usageError
		if err == nil || err.Error() != tc.want || errors.As(err, &usage) != tc.usage {
			t.Errorf("%v: err = %v (usage %v), want %q (usage %v)", tc.vars, err, errors.As(err, &usage), tc.want, tc.usage)
		}
		for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
			if line != "" && !strings.HasPrefix(line, "{") {
				t.Errorf("a line that is not the service's own log: %q", line)
			}
		}
	}
	t.Setenv("AUTH_SESION_KEYS", "typo")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, logs, _ := startRun(t, ctx, map[string]string{"AUTH_SHUTDOWN_DRAIN": "0s"})
	if !strings.Contains(logs.String(), "AUTH_SESION_KEYS is not a Portcullis variable and is ignored; did you mean AUTH_SESSION_KEYS?") {
		t.Errorf("no warning about the misspelt variable:\n%s", logs.String())
	}
}

// TestKeysReencrypt: after a new AUTH_DATA_KEYS key is put first, `keys
// reencrypt` moves every TOTP secret to it, and sign-in with the second
// factor works with the old key gone.
func TestKeysReencrypt(t *testing.T) {
	ctx := context.Background()
	vars, _ := operatorFixture(t)
	if _, _, err := runCmd(t, vars, "a long passphrase for tess\n", "user", "create", "-email", "tess@example.com", "-name", "Tess"); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, vars["AUTH_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	oldKey, newKey := token.GenerateKey("old"), token.GenerateKey("new")
	now := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { return now }
	service := func(data ...token.Key) *auth.Service {
		ring, err := token.NewKeyRing(data...)
		if err != nil {
			t.Fatal(err)
		}
		keys, _ := token.NewKeyRing(token.GenerateKey("session"))
		return auth.New(auth.Deps{Store: db, Keys: keys, Hasher: auth.NewHasher(1, 4, nil), DataKeys: ring, Now: clock,
			Lifetimes: auth.Lifetimes{Access: time.Minute, Session: time.Hour, Remember: time.Hour, MaxAge: time.Hour}})
	}
	svc := service(oldKey)
	in, err := svc.Login(ctx, auth.Client{}, "tess@example.com", "a long passphrase for tess", auth.LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, in.Tokens.Access)
	if err != nil {
		t.Fatal(err)
	}
	e, err := svc.EnrollTOTP(ctx, p, "Phone")
	if err != nil {
		t.Fatal(err)
	}
	code := apitest.TOTP(t, e.Secret, now)
	if _, _, err := svc.VerifyTOTP(ctx, auth.Client{}, p, e.Factor.ID, code); err != nil {
		t.Fatal(err)
	}
	vars["AUTH_DATA_KEYS"] = newKey.String() + "," + oldKey.String()
	out, _, err := runCmd(t, vars, "", "keys", "reencrypt")
	if err != nil || !strings.Contains(out, "re-encrypted 1 secrets") {
		t.Fatalf("keys reencrypt: %q %v", out, err)
	}
	now = now.Add(time.Minute)
	svc = service(newKey) // the old key is gone
	in, err = svc.Login(ctx, auth.Client{}, "tess@example.com", "a long passphrase for tess", auth.LoginOptions{})
	if err != nil || in.MFA == nil {
		t.Fatalf("login: %+v %v", in, err)
	}
	code = apitest.TOTP(t, e.Secret, now)
	if res, err := svc.VerifyMFA(ctx, auth.Client{}, in.MFA.Token, code, ""); err != nil || res.Session.AAL != 2 {
		t.Errorf("the second step with only the new key: %v", err)
	}

	// In production, a database that holds TOTP factors does not start
	// without AUTH_DATA_KEYS: nobody with a factor could sign in.
	startCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	prod := map[string]string{"AUTH_DATABASE_URL": vars["AUTH_DATABASE_URL"], "AUTH_ENV": "production",
		"AUTH_SESSION_KEYS": token.GenerateKey("prod").String(), "AUTH_ADDR": "127.0.0.1:0"}
	err = run(startCtx, []string{"portcullis"}, envOf(prod), strings.NewReader(""), io.Discard, &syncBuffer{})
	var usage *usageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), "AUTH_DATA_KEYS") || strings.Contains(err.Error(), "\n") {
		t.Errorf("a production start without data keys: %v, want one line naming AUTH_DATA_KEYS (exit 2)", err)
	}
}

// TestOperatorCommandsRefuseAMissingDatabase: the commands that read or
// change existing users (and keys reencrypt) refuse an SQLite file that does
// not exist, naming it, and leave none behind; serve, migrate and user
// create still create one.
func TestOperatorCommandsRefuseAMissingDatabase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "auth.db")
	vars := map[string]string{"AUTH_DATABASE_URL": "sqlite:" + path, "AUTH_DATA_KEYS": "k1:" + strings.Repeat("A", 43)}
	for _, args := range [][]string{
		{"user", "list"},
		{"user", "set-password", "-email", "ada@example.com"},
		{"user", "set-role", "-email", "ada@example.com", "-role", "admin"},
		{"user", "disable", "-email", "ada@example.com"},
		{"user", "enable", "-email", "ada@example.com"},
		{"keys", "reencrypt"},
	} {
		out, _, err := runCmd(t, vars, "a long new passphrase\n", args...)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "does not exist") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v on a missing database: %v (output %q), want one line naming %s", args, err, out, path)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%v left a database file behind: %v", args, err)
		}
	}
	if _, _, err := runCmd(t, vars, "a long root passphrase\n", "user", "create", "-email", "root@example.com", "-name", "Root"); err != nil {
		t.Fatalf("user create on a new database: %v", err)
	}
	if out, _, err := runCmd(t, vars, "", "user", "list"); err != nil || !strings.Contains(out, "root@example.com") {
		t.Errorf("user list once it exists: %v\n%s", err, out)
	}
	other := map[string]string{"AUTH_DATABASE_URL": "sqlite:" + filepath.Join(dir, "migrated.db")}
	if _, _, err := runCmd(t, other, "", "migrate"); err != nil {
		t.Errorf("migrate on a new database: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "migrated.db")); err != nil {
		t.Errorf("migrate created no database: %v", err)
	}
}
