// Command bench measures Portcullis under load on this machine. It builds and
// starts the real binary on a loopback port, drives it with a keep-alive HTTP
// client, and reports statuses, latencies and the server's peak RSS.
//
//	go run ./bench -scenario flood     # 200 logins from 48 clients while timing /auth/me
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	scenario := fs.String("scenario", "flood", "what to measure: flood")
	logins := fs.Int("logins", 200, "flood: number of logins")
	clients := fs.Int("clients", 48, "flood: concurrent login clients")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "portcullis-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := startServer(dir, map[string]string{
		"AUTH_DATABASE_URL": "sqlite:" + filepath.Join(dir, "auth.db"),
		// The flood is about hashing, not the per-IP limit: every client here
		// shares one IP, so that limit is raised out of the way.
		"AUTH_RATE_LIMIT_IP":     "1000000/m",
		"AUTH_LOCKOUT_THRESHOLD": "1000000",
	})
	if err != nil {
		return err
	}
	defer srv.stop()
	switch *scenario {
	case "flood":
		return flood(srv, *logins, *clients, out)
	}
	return fmt.Errorf("unknown scenario %q", *scenario)
}

// server is a running Portcullis process.
type server struct {
	cmd  *exec.Cmd
	base string
}

func startServer(dir string, env map[string]string) (*server, error) {
	bin := filepath.Join(dir, "portcullis")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "AUTH_ADDR="+addr, "AUTH_LOG_LEVEL=warn", "AUTH_SHUTDOWN_DRAIN=0s")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, base: "http://" + addr}
	for range 200 {
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
func (s *server) peakRSS() (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

func newClient(jar bool) *http.Client {
	c := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256},
	}
	if jar {
		c.Jar, _ = cookiejar.New(nil)
	}
	return c
}

func postJSON(c *http.Client, url string, body any) (int, error) {
	data, _ := json.Marshal(body)
	resp, err := c.Post(url, "application/json", bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

const password = "correct horse battery staple"

// flood fires logins from many clients while one browser polls /auth/me.
func flood(s *server, logins, clients int, out io.Writer) error {
	browser := newClient(true)
	// The server runs plain HTTP, so it issues Secure cookies a jar would not
	// send back; the load tool sends the token as a bearer header instead.
	st, err := postJSON(browser, s.base+"/auth/register", map[string]any{"email": "flood@example.com", "password": password, "name": "Flood"})
	if err != nil || st != http.StatusCreated {
		return fmt.Errorf("register: %d %v", st, err)
	}
	token, err := bearerToken(s.base)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(context.Background())
	var meLat []time.Duration
	meStatus := map[int]int{}
	var meWG sync.WaitGroup
	meWG.Add(1)
	go func() {
		defer meWG.Done()
		c := newClient(false)
		for ctx.Err() == nil {
			req, _ := http.NewRequest(http.MethodGet, s.base+"/auth/me", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			start := time.Now()
			resp, err := c.Do(req)
			if err != nil {
				meStatus[-1]++
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			meLat = append(meLat, time.Since(start))
			meStatus[resp.StatusCode]++
			time.Sleep(10 * time.Millisecond)
		}
	}()

	var mu sync.Mutex
	loginStatus := map[int]int{}
	jobs := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient(false)
			for range jobs {
				st, err := postJSON(c, s.base+"/auth/login", map[string]any{"email": "flood@example.com", "password": password})
				if err != nil {
					st = -1
				}
				mu.Lock()
				loginStatus[st]++
				mu.Unlock()
			}
		}()
	}
	for i := range logins {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	cancel()
	meWG.Wait()
	rss, err := s.peakRSS()
	if err != nil {
		return err
	}

	slices.Sort(meLat)
	fmt.Fprintf(out, "flood: %d logins from %d clients in %s (%.1f logins/s)\n", logins, clients, elapsed.Round(time.Millisecond), float64(logins)/elapsed.Seconds())
	fmt.Fprintf(out, "  login statuses: %v\n", loginStatus)
	fmt.Fprintf(out, "  /auth/me during the flood: %d requests, statuses %v, p50 %s, p99 %s, max %s\n",
		len(meLat), meStatus, pct(meLat, 50), pct(meLat, 99), pct(meLat, 100))
	fmt.Fprintf(out, "  server peak RSS: %.1f MiB\n", float64(rss)/(1<<20))

	var problems []string
	for st := range loginStatus {
		if st != 200 && st != 429 && st != 503 {
			problems = append(problems, fmt.Sprintf("login status %d", st))
		}
	}
	for st := range meStatus {
		if st != 200 {
			problems = append(problems, fmt.Sprintf("/auth/me status %d", st))
		}
	}
	if p50 := pct(meLat, 50); p50 > 50*time.Millisecond {
		problems = append(problems, fmt.Sprintf("/auth/me median %s over 50ms", p50))
	}
	if rss > 300<<20 {
		problems = append(problems, "peak RSS over 300 MiB")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	fmt.Fprintln(out, "  targets met: statuses only 200/429/503, /auth/me median < 50ms, peak RSS < 300 MiB")
	return nil
}

// bearerToken obtains an access token by logging in and reading the cookie.
func bearerToken(base string) (string, error) {
	data, _ := json.Marshal(map[string]any{"email": "flood@example.com", "password": password})
	resp, err := http.Post(base+"/auth/login", "application/json", bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if strings.HasSuffix(c.Name, "session") {
			return c.Value, nil
		}
	}
	return "", fmt.Errorf("login: %d, no session cookie", resp.StatusCode)
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := (len(d) - 1) * p / 100
	return d[i].Round(10 * time.Microsecond)
}
