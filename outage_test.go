package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// throwawayPostgres is a PostgreSQL cluster of the test's own, on a free
// port, that the test can stop and start.
type throwawayPostgres struct {
	t    *testing.T
	bin  string
	dir  string
	port int
}

func (p *throwawayPostgres) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", p.port)
}

// asPostgres runs a PostgreSQL tool as the postgres user (initdb refuses root).
func (p *throwawayPostgres) asPostgres(tool string, args ...string) {
	p.t.Helper()
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(p.bin, tool)}, args...)...)
	if os.Geteuid() != 0 {
		cmd = exec.Command(filepath.Join(p.bin, tool), args...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
	}
}

func (p *throwawayPostgres) start() {
	p.asPostgres("pg_ctl", "-D", p.dir, "-w", "-l", filepath.Join(p.dir, "log"), "-o",
		fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", p.port, p.dir), "start")
}

func (p *throwawayPostgres) stop() { p.asPostgres("pg_ctl", "-D", p.dir, "-w", "-m", "fast", "stop") }

func newThrowawayPostgres(t *testing.T) *throwawayPostgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed; the outage test needs its own cluster")
	}
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("runuser"); err != nil {
			t.Skip("running as root without runuser; initdb refuses root")
		}
	}
	dir, err := os.MkdirTemp("", "portcullis-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("no postgres user to run the throwaway cluster")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	p := &throwawayPostgres{t: t, bin: filepath.Dir(bins[len(bins)-1]), dir: filepath.Join(dir, "data"), port: port}
	p.asPostgres("initdb", "-D", p.dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	p.start()
	t.Cleanup(func() {
		cmd := exec.Command("runuser", "-u", "postgres", "--", filepath.Join(p.bin, "pg_ctl"), "-D", p.dir, "-m", "immediate", "stop")
		_ = cmd.Run()
	})
	return p
}

// TestDatabaseOutage stops PostgreSQL under a running Portcullis: requests
// that need the database answer 503 promptly, /healthz stays 200, and once
// the database is back the service recovers by itself and nothing is lost.
func TestDatabaseOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	pg := newThrowawayPostgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, _, _ := startRun(t, ctx, map[string]string{"AUTH_DATABASE_URL": pg.url(), "AUTH_SHUTDOWN_DRAIN": "0s"})
	client := &http.Client{Timeout: 20 * time.Second}
	post := func(path, body string) (int, string) {
		resp, err := client.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	get := func(path string) int {
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const creds = `{"email":"ada@example.com","password":"correct horse battery staple"}`
	if st, body := post("/auth/register", `{"email":"ada@example.com","password":"correct horse battery staple","name":"Ada"}`); st != 201 {
		t.Fatalf("register: %d %s", st, body)
	}

	pg.stop()
	if st := get("/readyz"); st != http.StatusServiceUnavailable {
		t.Errorf("readyz with the database down: %d, want 503", st)
	}
	start := time.Now()
	st, body := post("/auth/login", creds)
	elapsed := time.Since(start)
	if st != http.StatusServiceUnavailable || !strings.Contains(body, `"unavailable"`) {
		t.Errorf("login with the database down: %d %s, want 503 unavailable", st, body)
	}
	// The request deadline bounds this; a hang would take the client's 20 s.
	if elapsed > 6*time.Second {
		t.Errorf("login with the database down took %s, want under 5 s", elapsed)
	}
	t.Logf("login answered %d in %s with the database down", st, elapsed.Round(time.Millisecond))
	if st := get("/healthz"); st != 200 {
		t.Errorf("healthz with the database down: %d, want 200", st)
	}

	pg.start()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, body = post("/auth/login", creds)
		if st == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("login still %d %s 15 s after the database came back", st, body)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if st := get("/readyz"); st != 200 {
		t.Errorf("readyz after recovery: %d", st)
	}
}
