package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a goroutine-safe writer for captured logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestRunRejectsBadConfigurationWithUsageError(t *testing.T) {
	for _, vars := range []map[string]string{
		{"AUTH_ACCESS_TTL": "forever"},
		{"AUTH_SESSION_KEYS": "k1:tooshort"},
		{"AUTH_ENV": "production"},
	} {
		var stderr syncBuffer
		err := run(context.Background(), []string{"portcullis"}, envOf(vars), strings.NewReader(""), io.Discard, &stderr)
		var usage *usageError
		if !errors.As(err, &usage) {
			t.Errorf("run(%v) = %v, want a usage error (exit 2)", vars, err)
			continue
		}
		if strings.Count(err.Error(), "\n") > 0 || !strings.Contains(err.Error(), "AUTH_") {
			t.Errorf("error %q should be one line naming the variable", err)
		}
	}
}

// startRun starts run in the background and returns the base URL it listens on.
func startRun(t *testing.T, ctx context.Context, vars map[string]string) (string, *syncBuffer, <-chan error) {
	t.Helper()
	vars["AUTH_ADDR"] = "127.0.0.1:0"
	if vars["AUTH_DATABASE_URL"] == "" {
		vars["AUTH_DATABASE_URL"] = "sqlite:" + t.TempDir() + "/auth.db"
	}
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"portcullis"}, envOf(vars), strings.NewReader(""), io.Discard, stderr)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(stderr.String()))
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				return "http://" + line.Addr, stderr, done
			}
		}
		select {
		case err := <-done:
			t.Fatalf("run exited early: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("server did not start:\n%s", stderr.String())
	return "", nil, nil
}

func TestGracefulShutdownDrains(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, stderr, done := startRun(t, ctx, map[string]string{"AUTH_SHUTDOWN_DRAIN": "1s"})
	get := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			return -1
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get("/readyz"); s != 200 {
		t.Fatalf("readyz before shutdown = %d", s)
	}
	cancel()
	// While draining, readiness fails but requests are still served.
	var readyz, healthz int
	for range 50 {
		if readyz = get("/readyz"); readyz == http.StatusServiceUnavailable {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	healthz = get("/healthz")
	if readyz != http.StatusServiceUnavailable || healthz != http.StatusOK {
		t.Errorf("during drain: readyz %d (want 503), healthz %d (want 200)", readyz, healthz)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run returned %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after shutdown")
	}
	if get("/healthz") != -1 {
		t.Error("server still answering after run returned")
	}
	if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
		t.Errorf("log lacks the stopped line:\n%s", stderr.String())
	}
}

func TestZeroConfigurationWarnsAboutTheDevelopmentKey(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	base, stderr, done := startRun(t, ctx, map[string]string{"AUTH_SHUTDOWN_DRAIN": "0s"})
	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	// The binary serves its embedded openapi.yaml byte for byte.
	resp, err = http.Get(base + "/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	file, _ := os.ReadFile("openapi.yaml")
	if len(file) == 0 || !bytes.Equal(served, file) {
		t.Errorf("/openapi.yaml served %d bytes, differing from the %d-byte file", len(served), len(file))
	}
	cancel()
	<-done
	if !strings.Contains(stderr.String(), "AUTH_SESSION_KEYS is not set") {
		t.Errorf("no development-key warning in:\n%s", stderr.String())
	}
}

// TestSlowHeadersAreCut checks the server's header timeout: a client that
// trickles its request headers is disconnected instead of holding a
// connection forever (a slowloris attack).
func TestSlowHeadersAreCut(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 5 s header timeout")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, _, _ := startRun(t, ctx, map[string]string{"AUTH_SHUTDOWN_DRAIN": "0s"})
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	// Keep trickling a header byte a second; the server must hang up.
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	buf := make([]byte, 1)
	closed := make(chan error, 1)
	go func() { _, err := conn.Read(buf); closed <- err }()
	for range 15 {
		select {
		case err := <-closed:
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("server kept a trickling connection open for 15 s")
			}
			return
		case <-time.After(time.Second):
			_, _ = conn.Write([]byte("X"))
		}
	}
	t.Fatal("server kept a trickling connection open for 15 s")
}

func runCmd(t *testing.T, vars map[string]string, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr syncBuffer
	err := run(context.Background(), append([]string{"portcullis"}, args...), envOf(vars), strings.NewReader(stdin), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func TestCLI(t *testing.T) {
	db := "sqlite:" + t.TempDir() + "/auth.db"
	vars := map[string]string{"AUTH_DATABASE_URL": db}

	// keys generate prints an entry AUTH_SESSION_KEYS accepts.
	out, _, err := runCmd(t, vars, "", "keys", "generate", "-kid", "2026-11")
	if err != nil || !strings.HasPrefix(out, "2026-11:") {
		t.Fatalf("keys generate = %q, %v", out, err)
	}
	vars["AUTH_SESSION_KEYS"] = strings.TrimSpace(out)

	// user create reads the password from stdin and makes an admin who can log in.
	out, _, err = runCmd(t, vars, "correct horse battery staple\n", "user", "create", "-email", "Root@Example.com", "-name", "Root", "-role", "admin")
	if err != nil || !strings.Contains(out, "created admin root@example.com") {
		t.Fatalf("user create = %q, %v", out, err)
	}
	_, _, err = runCmd(t, vars, "password\n", "user", "create", "-email", "weak@example.com", "-name", "Weak")
	var usage *usageError
	if !errors.As(err, &usage) || strings.Contains(err.Error(), "password\n") {
		t.Errorf("weak password: %v, want a usage error", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serveVars := map[string]string{"AUTH_DATABASE_URL": db, "AUTH_SESSION_KEYS": vars["AUTH_SESSION_KEYS"], "AUTH_SHUTDOWN_DRAIN": "0s"}
	base, _, _ := startRun(t, ctx, serveVars)
	resp, err := http.Post(base+"/auth/login", "application/json", strings.NewReader(`{"email":"root@example.com","password":"correct horse battery staple"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("admin login: %d", resp.StatusCode)
	}

	// healthcheck: 0 against a healthy server, an error otherwise.
	if _, _, err := runCmd(t, nil, "", "healthcheck", "-url", base+"/healthz"); err != nil {
		t.Errorf("healthcheck against a healthy server: %v", err)
	}
	if _, _, err := runCmd(t, nil, "", "healthcheck", "-url", "http://127.0.0.1:1/healthz"); err == nil {
		t.Error("healthcheck against nothing succeeded")
	}

	// Help is not an error; misuse is a usage error (exit 2).
	for _, args := range [][]string{{"migrate", "-h"}, {"keys", "generate", "-h"}, {"help"}} {
		if _, _, err := runCmd(t, vars, "", args...); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
	for _, args := range [][]string{{"frobnicate"}, {"user"}, {"user", "create", "-bogus"}, {"keys", "generate", "-kid", "bad kid"}, {"migrate", "extra"}} {
		if _, _, err := runCmd(t, vars, "", args...); !errors.As(err, &usage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if out, _, err := runCmd(t, vars, "", "migrate"); err != nil || !strings.Contains(out, "migrations applied") {
		t.Errorf("migrate = %q, %v", out, err)
	}
}

func TestBootstrapAdmin(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	vars := map[string]string{"AUTH_BOOTSTRAP_ADMIN_EMAIL": "boss@example.com", "AUTH_BOOTSTRAP_ADMIN_PASSWORD": "a very secret bootstrap phrase", "AUTH_SHUTDOWN_DRAIN": "0s"}
	base, stderr, _ := startRun(t, ctx, vars)
	resp, err := http.Post(base+"/auth/login", "application/json", strings.NewReader(`{"email":"boss@example.com","password":"a very secret bootstrap phrase"}`))
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ User struct{ Role string } }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 200 || body.User.Role != "admin" {
		t.Errorf("bootstrap admin login: %d role %q", resp.StatusCode, body.User.Role)
	}
	if strings.Contains(stderr.String(), "a very secret bootstrap phrase") {
		t.Error("the bootstrap password was logged")
	}
	_, _, err = runCmd(t, map[string]string{"AUTH_ADDR": "127.0.0.1:0", "AUTH_DATABASE_URL": "sqlite::memory:", "AUTH_BOOTSTRAP_ADMIN_EMAIL": "b@example.com", "AUTH_BOOTSTRAP_ADMIN_PASSWORD": "password"}, "")
	var usage *usageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), "AUTH_BOOTSTRAP_ADMIN") || strings.Contains(err.Error(), `"password"`) {
		t.Errorf("weak bootstrap password: %v, want a usage error", err)
	}
}

// TestBootstrapRefusesATakenEmail: with no administrator and the bootstrap
// email taken by an ordinary user, the service refuses to start (exit 2,
// naming the variable) instead of running without an administrator.
func TestBootstrapRefusesATakenEmail(t *testing.T) {
	vars := map[string]string{"AUTH_ADDR": "127.0.0.1:0", "AUTH_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "auth.db"), "AUTH_SHUTDOWN_DRAIN": "0s"}
	if _, _, err := runCmd(t, vars, "an ordinary passphrase here\n", "user", "create", "-email", "Boss@example.com", "-name", "Boss"); err != nil {
		t.Fatal(err)
	}
	vars["AUTH_BOOTSTRAP_ADMIN_EMAIL"], vars["AUTH_BOOTSTRAP_ADMIN_PASSWORD"] = "boss@example.com", "a very secret bootstrap phrase"
	// A server that starts anyway would run until this deadline and return nil.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := run(ctx, []string{"portcullis"}, envOf(vars), strings.NewReader(""), io.Discard, io.Discard)
	var usage *usageError
	if !errors.As(err, &usage) || !strings.HasPrefix(err.Error(), "AUTH_BOOTSTRAP_ADMIN_EMAIL: ") || strings.Contains(err.Error(), "\n") {
		t.Errorf("bootstrap email of a non-admin: %v, want one usage error line naming AUTH_BOOTSTRAP_ADMIN_EMAIL", err)
	}
}

// TestHashBurstTuning checks what serve does around password-hash bursts:
// GOGC 200 under a limit sized for the workers while they run, the previous
// settings back afterwards, and an operator's GOGC or GOMEMLIMIT untouched.
func TestHashBurstTuning(t *testing.T) {
	gcPercent := func() int { p := debug.SetGCPercent(100); debug.SetGCPercent(p); return p }
	memLimit := func() int64 { return debug.SetMemoryLimit(-1) }
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	const workers = 3
	sized := int64(workers*19<<20) + burstHeadroom
	for _, tc := range []struct {
		env        map[string]string
		burstGC    int
		burstLimit int64
	}{
		{env: nil, burstGC: burstGCPercent, burstLimit: sized},
		{env: map[string]string{"GOGC": "50"}, burstGC: 100, burstLimit: sized},
		{env: map[string]string{"GOMEMLIMIT": "1GiB"}, burstGC: burstGCPercent, burstLimit: math.MaxInt64},
	} {
		hook := hashBurstTuning(envOf(tc.env), workers).OnBusy
		hook(true)
		if got := gcPercent(); got != tc.burstGC {
			t.Errorf("%v: GOGC during a burst %d, want %d", tc.env, got, tc.burstGC)
		}
		if got := memLimit(); got != tc.burstLimit {
			t.Errorf("%v: memory limit during a burst %d, want %d", tc.env, got, tc.burstLimit)
		}
		hook(false)
		if got := gcPercent(); got != 100 {
			t.Errorf("%v: GOGC after the burst %d, want 100 restored", tc.env, got)
		}
		if got := memLimit(); got != math.MaxInt64 {
			t.Errorf("%v: memory limit after the burst %d, want none restored", tc.env, got)
		}
	}
}

// logAddr waits for the log line msg and returns its addr.
func logAddr(t *testing.T, logs *syncBuffer, msg string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(logs.String()))
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == msg {
				return line.Addr
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %q line in:\n%s", msg, logs.String())
	return ""
}

// TestMetricsOnTheirOwnAddress: with AUTH_METRICS_ADDR, /metrics is served
// only there and the main port answers 404 for it.
func TestMetricsOnTheirOwnAddress(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, logs, _ := startRun(t, ctx, map[string]string{"AUTH_METRICS_ADDR": "127.0.0.1:0", "AUTH_SHUTDOWN_DRAIN": "0s"})
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if status, _ := get(base + "/metrics"); status != http.StatusNotFound {
		t.Errorf("main port /metrics: %d, want 404", status)
	}
	get(base + "/healthz")
	status, body := get("http://" + logAddr(t, logs, "metrics listening") + "/metrics")
	if status != http.StatusOK || !strings.Contains(body, `portcullis_http_requests_total{method="GET",route="/healthz",status="200"}`) {
		t.Errorf("metrics address: %d, want 200 with the main port's counts:\n%.400s", status, body)
	}
}

// TestStartPointsToTheDocs: the start-up line names the Swagger UI address,
// GET / describes the service, /swagger and /swagger/ lead to the UI (titled
// "Portcullis API") and HEAD /openapi.yaml works.
func TestStartPointsToTheDocs(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, logs, _ := startRun(t, ctx, map[string]string{"AUTH_SHUTDOWN_DRAIN": "0s"})
	if !strings.Contains(logs.String(), `"swaggerUI":"`+base+`/swagger/index.html"`) {
		t.Errorf("the listening line does not name %s/swagger/index.html:\n%s", base, logs.String())
	}
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Name, Version string
		Links         struct{ SwaggerUI, OpenAPI string }
	}
	_ = json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if resp.StatusCode != 200 || info.Name != "Portcullis" || info.Version == "" || info.Links.SwaggerUI != "/swagger/index.html" || info.Links.OpenAPI != "/openapi.yaml" {
		t.Errorf("GET /: %d %+v", resp.StatusCode, info)
	}
	for _, path := range []string{"/swagger", "/swagger/"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Request.URL.Path != "/swagger/index.html" || !strings.Contains(string(page), "<title>Portcullis API</title>") {
			t.Errorf("%s led to %s: %.200s", path, resp.Request.URL.Path, page)
		}
	}
	head, err := http.Head(base + "/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	if head.StatusCode != 200 || head.Header.Get("Content-Type") != "application/yaml" || head.ContentLength != int64(len(openAPISpec)) {
		t.Errorf("HEAD /openapi.yaml: %d %v length %d", head.StatusCode, head.Header, head.ContentLength)
	}
}

// TestDevelopmentKeyOutlivesARestart: without AUTH_SESSION_KEYS the key is
// kept in auth.keys (0600) beside the SQLite database, so a session cookie
// still works after a restart.
func TestDevelopmentKeyOutlivesARestart(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"AUTH_DATABASE_URL": "sqlite:" + filepath.Join(dir, "auth.db"), "AUTH_SHUTDOWN_DRAIN": "0s", "AUTH_COOKIE_SECURE": "false"}
	start := func() (string, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		base, _, done := startRun(t, ctx, maps.Clone(vars))
		return base, func() { cancel(); <-done }
	}
	base, stop := start()
	resp, err := http.Post(base+"/auth/register", "application/json", strings.NewReader(`{"email":"dev@example.com","password":"correct horse battery staple","name":"Dev"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == "session" {
			cookie = c.Name + "=" + c.Value
		}
	}
	stop()
	if fi, err := os.Stat(filepath.Join(dir, "auth.keys")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("auth.keys: %v, %v; want a 0600 file", fi, err)
	}
	base, stop = start()
	defer stop()
	req, _ := http.NewRequest("GET", base+"/auth/me", nil)
	req.Header.Set("Cookie", cookie)
	me, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	me.Body.Close()
	if cookie == "" || me.StatusCode != http.StatusOK {
		t.Errorf("the session cookie after a restart: %d (cookie %q), want 200", me.StatusCode, cookie)
	}
}

// TestServeLeavesTheGCSettingsAsItFoundThem: a password hash makes serve
// raise GOGC for the burst; once run has returned the settings are the ones
// it started with, and nothing of that server changes them later (other
// tests of this package, and TestHashBurstTuning, share the process).
func TestServeLeavesTheGCSettingsAsItFoundThem(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, _, done := startRun(t, ctx, map[string]string{"AUTH_SHUTDOWN_DRAIN": "0s"})
	resp, err := http.Post(base+"/auth/register", "application/json", strings.NewReader(`{"email":"gc@example.com","password":"correct horse battery staple","name":"GC"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC after serve returned: %d, want 100 as before", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit after serve returned: %d, want none as before", got)
	}
}

// TestServeWritesOneAccessLinePerRequest reads the access lines of a real
// server: one JSON line per request with the request id, route, status and
// duration, and the user id once signed in; a request id the fast writer
// cannot copy as it is is not taken (it fails the id pattern), and a route
// it cannot copy still logs through slog.
func TestServeWritesOneAccessLinePerRequest(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	base, stderr, done := startRun(t, ctx, map[string]string{"AUTH_SHUTDOWN_DRAIN": "0s", "AUTH_COOKIE_SECURE": "false",
		"AUTH_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "auth.db")})
	do := func(method, path, id, body, cookie string) *http.Response {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("X-Request-ID", id)
		req.Header.Set("Content-Type", "application/json")
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	resp := do("POST", "/auth/register", "reg-1", `{"email":"ada@example.com","password":"correct horse battery staple","name":"Ada"}`, "")
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == "session" {
			cookie = "session=" + c.Value
		}
	}
	do("GET", "/auth/me", "me-1", "", cookie)
	do("GET", "/nowhere/\u00e9", "odd-1", "", "")
	cancel()
	<-done
	lines := map[string]map[string]any{}
	for _, line := range strings.Split(stderr.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "request" {
			id, _ := m["requestId"].(string)
			if lines[id] != nil {
				t.Errorf("two access lines for %s", id)
			}
			lines[id] = m
		}
	}
	me := lines["me-1"]
	if me == nil || me["route"] != "/auth/me" || me["status"] != 200.0 || me["method"] != "GET" || me["level"] != "INFO" ||
		me["userId"] == nil || me["clientIp"] != "127.0.0.1" {
		t.Errorf("the /auth/me line: %v", me)
	}
	if d, ok := me["durationMs"].(float64); !ok || d < 0 {
		t.Errorf("durationMs: %v", me["durationMs"])
	}
	if reg := lines["reg-1"]; reg == nil || reg["status"] != 201.0 {
		t.Errorf("the register line: %v", reg)
	}
	if odd := lines["odd-1"]; odd == nil || odd["route"] != "unmatched" || odd["status"] != 404.0 {
		t.Errorf("the unmatched line: %v", odd)
	}
}
