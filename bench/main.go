// Command bench measures Portcullis on this machine against bare baselines
// measured in the same run with the same client. It builds the real binary,
// starts it (and each baseline) as a separate process pinned to one core,
// drives it from the other core with a closed-loop keep-alive client, and
// prints requests/s, p50 and p99, each figure's ratio to its baseline, and
// the server's peak RSS.
//
//	go run ./bench                    # PostgreSQL at -pg (a fresh database), all scenarios
//	go run ./bench -db sqlite         # the same on SQLite (no pgx baseline)
//	go run ./bench -scenario flood    # 200 logins from 48 clients while timing /auth/me
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	// Child modes: the bench binary also serves the baselines and measures
	// the raw hash rate, so each runs in its own pinned process.
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "-child=") {
		if err := child(strings.TrimPrefix(os.Args[1], "-child="), os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	scenario string
	db       string
	pgURL    string
	conns    int
	duration time.Duration
	logins   int
	clients  int
	logLevel string
	runs     int
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.scenario, "scenario", "all", "all (hot paths vs baselines) or flood (logins while timing /auth/me)")
	fs.StringVar(&o.db, "db", "postgres", "postgres or sqlite")
	fs.StringVar(&o.pgURL, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL server; a fresh database is created on it and dropped after")
	fs.IntVar(&o.conns, "conns", 64, "connections (closed-loop clients)")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measuring time per scenario and round")
	fs.IntVar(&o.runs, "runs", 3, "rounds; the table reports the median")
	fs.IntVar(&o.logins, "logins", 200, "flood: number of logins")
	fs.IntVar(&o.clients, "clients", 48, "flood: concurrent login clients")
	fs.StringVar(&o.logLevel, "log-level", "info", "the server's AUTH_LOG_LEVEL (info logs every request)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "portcullis-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "portcullis")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build (run from the repository root): %w", err)
	}
	switch o.scenario {
	case "flood":
		srv, err := startProcess(bin, nil, map[string]string{
			"AUTH_DATABASE_URL": "sqlite:" + filepath.Join(dir, "auth.db"),
			// The flood is about hashing, not the per-IP limit: every client
			// here shares one IP, so that limit is raised out of the way.
			"AUTH_RATE_LIMIT_IP": "1000000/m", "AUTH_LOCKOUT_THRESHOLD": "1000000",
		}, false)
		if err != nil {
			return err
		}
		defer srv.stop()
		return flood(srv, o.logins, o.clients, out)
	case "all":
		return hotPaths(o, dir, bin, out)
	}
	return fmt.Errorf("unknown scenario %q", o.scenario)
}

// server is a running process serving HTTP.
type server struct {
	cmd  *exec.Cmd
	base string
}

// startProcess starts bin with args and env on a free loopback port. With
// pin, it runs on core 1 with GOMAXPROCS=1 (the client takes core 0).
func startProcess(bin string, args []string, env map[string]string, pin bool) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	argv := append([]string{bin}, args...)
	if pin {
		argv = pinned(argv)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "AUTH_ADDR="+addr, "AUTH_LOG_LEVEL=warn", "AUTH_SHUTDOWN_DRAIN=0s", "BENCH_ADDR="+addr)
	if pin {
		cmd.Env = append(cmd.Env, "GOMAXPROCS=1")
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	// The server's log goes to a file, as it would to a log collector.
	logf, err := os.CreateTemp("", "portcullis-bench-log-")
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	defer os.Remove(logf.Name())
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, base: "http://" + addr}
	for range 400 {
		if resp, err := http.Get(s.base + "/healthz"); err == nil {
			resp.Body.Close()
			return s, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.stop()
	return nil, errors.New("server did not start")
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
	}
}

// peakRSS reads the process's high-water resident set size (Linux).
func (s *server) peakRSS() (int64, error) { return s.status("VmHWM:") }

// status reads a size field of /proc/PID/status. taskset execs the server,
// so the pid is the server's own.
func (s *server) status(field string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no " + field + " in /proc status")
}

// sampleRSS samples the resident set every 50 ms until the returned function
// is called, which reports the largest sample.
func (s *server) sampleRSS() func() int64 {
	done := make(chan struct{})
	peak := make(chan int64)
	go func() {
		var max int64
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, err := s.status("VmRSS:"); err == nil && rss > max {
				max = rss
			}
			select {
			case <-done:
				peak <- max
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 { close(done); return <-peak }
}

func newClient(conns int) *http.Client {
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true},
	}
}

const password = "correct horse battery staple"

// pinned runs argv on core 1 (the server's core) when taskset is available.
func pinned(argv []string) []string {
	if tp, err := exec.LookPath("taskset"); err == nil {
		return append([]string{tp, "-c", "1"}, argv...)
	}
	return argv
}
