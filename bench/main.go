// Command bench measures Portcullis on this machine against bare baselines
// measured in the same run with the same client. It builds the real binary,
// starts it (and each baseline) as a separate process pinned to one core,
// drives it from the other core with wrk, and prints requests/s, p50 and
// p99, each figure's ratio to its baseline from interleaved rounds (median
// and spread), the client's measured ceiling, and the server's peak RSS.
//
//	go run ./bench                    # PostgreSQL at -pg (a fresh database): hot paths, then the login flood
//	go run ./bench -scenario hot      # the hot paths only
//	go run ./bench -scenario flood    # 200 logins from 48 clients while timing /auth/me
//	go run ./bench -db sqlite         # on SQLite (no pgx baseline)
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	// loginDuration is the login window and the raw hash rate's (see -login-duration).
	loginDuration time.Duration
	logins        int
	clients       int
	logLevel      string
	runs          int
	pgDB          string
	only          map[string]bool
	smoke         bool
}

// wants reports whether a scenario is measured in this run.
func (o options) wants(name string) bool { return len(o.only) == 0 || o.only[name] }

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.scenario, "scenario", "all", "all, hot (hot paths vs baselines) or flood (logins while timing /auth/me)")
	fs.StringVar(&o.db, "db", "postgres", "postgres or sqlite")
	fs.StringVar(&o.pgURL, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL server; a fresh database is created on it and dropped after")
	fs.IntVar(&o.conns, "conns", 64, "connections (closed-loop clients)")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measuring time per scenario and round")
	fs.DurationVar(&o.loginDuration, "login-duration", 20*time.Second,
		"measuring time for login and the raw hash rate per round: at ~40 logins/s a 5 s window is a few hundred logins, and each run loses the logins hashed but not yet answered when wrk stops (measured: 30-40)")
	fs.IntVar(&o.runs, "runs", 5, "interleaved rounds; the table reports the median (at least 5)")
	fs.IntVar(&o.logins, "logins", 200, "flood: number of logins")
	fs.IntVar(&o.clients, "clients", 48, "flood: concurrent login clients")
	fs.StringVar(&o.logLevel, "log-level", "info", "the server's AUTH_LOG_LEVEL (info logs every request)")
	smoke := fs.Bool("smoke", false, "one round of 1 s on SQLite, no flood, no targets: checks that the tool still runs (CI)")
	only := fs.String("only", "", "hot: measure only these of me,verify,refresh,login (with their baselines), to iterate quickly")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *smoke {
		o.smoke, o.runs, o.duration, o.loginDuration, o.scenario, o.db = true, 1, time.Second, time.Second, "hot", "sqlite"
	}
	if *only != "" {
		o.only = map[string]bool{}
		for _, n := range strings.Split(*only, ",") {
			o.only[n] = true
		}
	}
	if _, err := wrkBin(); err != nil {
		return err
	}
	if o.runs < 5 && !o.smoke {
		fmt.Fprintf(os.Stderr, "bench: %d rounds: a median of fewer than 5 is not a figure to publish\n", o.runs)
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
	var hotErr, floodErr error
	switch o.scenario {
	case "all", "hot", "flood":
	default:
		return fmt.Errorf("unknown scenario %q", o.scenario)
	}
	if o.scenario != "flood" {
		hotErr = hotPaths(o, dir, bin, out)
		if hotErr != nil {
			fmt.Fprintln(out, "hot paths:", hotErr)
		}
	}
	if o.scenario != "hot" {
		fmt.Fprintln(out)
		floodErr = floodRun(o, dir, bin, out)
	}
	return errors.Join(hotErr, floodErr)
}

// server is a running process serving HTTP.
type server struct {
	cmd  *exec.Cmd
	base string
	log  string // the file its log goes to, removed by stop
}

// startProcess starts bin with args and env on a free loopback port. With
// pin, it runs on the server's core with GOMAXPROCS=1 (wrk takes the other).
func startProcess(bin string, args []string, env map[string]string, pin bool) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	argv := append([]string{bin}, args...)
	if pin {
		argv = onCore(serverCore, argv)
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
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		os.Remove(logf.Name())
		return nil, err
	}
	s := &server{cmd: cmd, base: "http://" + addr, log: logf.Name()}
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
	os.Remove(s.log)
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

// The server and every baseline run on one core, the load generator on the
// other.
const (
	clientCore = 0
	serverCore = 1
)

// onCore runs argv on one core when taskset is available.
func onCore(core int, argv []string) []string {
	if tp, err := exec.LookPath("taskset"); err == nil {
		return append([]string{tp, "-c", strconv.Itoa(core)}, argv...)
	}
	return argv
}

// logSize is how far the server's log has been written, so a scenario's
// lines can be read after it.
func (s *server) logSize() int64 {
	fi, err := os.Stat(s.log)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// answersSince summarises the server's log from offset: how many requests
// it answered with each status other than 2xx, and the distinct messages
// it logged at WARN or ERROR (at most five), so a scenario's failures say
// what they were.
func (s *server) answersSince(offset int64) string {
	f, err := os.Open(s.log)
	if err != nil {
		return "server log unreadable: " + err.Error()
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return "server log unreadable: " + err.Error()
	}
	statuses := map[int]int{}
	var msgs []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Level  string `json:"level"`
			Msg    string `json:"msg"`
			Status int    `json:"status"`
			Err    string `json:"error"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		if line.Msg == "request" && (line.Status < 200 || line.Status >= 300) {
			statuses[line.Status]++
		}
		if line.Level == "WARN" || line.Level == "ERROR" {
			m := line.Level + " " + line.Msg
			if line.Err != "" {
				m += ": " + line.Err
			}
			if !seen[m] && len(msgs) < 5 {
				seen[m] = true
				msgs = append(msgs, m)
			}
		}
	}
	var parts []string
	for _, st := range slices.Sorted(maps.Keys(statuses)) {
		parts = append(parts, fmt.Sprintf("%d answered %d", statuses[st], st))
	}
	if len(parts) == 0 {
		parts = append(parts, "no request answered other than 2xx")
	}
	if len(msgs) > 0 {
		parts = append(parts, "logged: "+strings.Join(msgs, " | "))
	}
	return "server log: " + strings.Join(parts, ", ")
}
