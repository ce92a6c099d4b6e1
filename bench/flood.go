package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// floodRun starts a fresh server (both cores, as deployed) on its own
// database and floods it with logins.
func floodRun(o options, dir, bin string, out io.Writer) error {
	env := map[string]string{
		"AUTH_DATABASE_URL": "sqlite:" + filepath.Join(dir, "flood.db"),
		// The flood is about hashing, not the per-IP limit: every client
		// here shares one IP, so that limit is raised out of the way.
		"AUTH_RATE_LIMIT_IP": "1000000/m", "AUTH_LOCKOUT_THRESHOLD": "1000000",
		"AUTH_LOG_LEVEL": o.logLevel,
	}
	if _, drop, err := freshDatabase(o, env); err != nil {
		return err
	} else {
		defer drop()
	}
	srv, err := startProcess(bin, nil, env, false)
	if err != nil {
		return err
	}
	defer srv.stop()
	return flood(srv, o.logins, o.clients, out)
}

// flood fires logins from many clients while one browser polls /auth/me.
func flood(s *server, logins, clients int, out io.Writer) error {
	browser := newClient(4)
	// The server runs plain HTTP, so it issues Secure cookies a jar would not
	// send back; the load tool sends the token as a bearer header instead.
	// The browser is its own user: 200 sign-ins to one account pass the
	// per-user session cap, which ends that account's oldest sessions.
	for _, email := range []string{"flood@example.com", "browser@example.com"} {
		st, err := postJSON(browser, s.base+"/auth/register", map[string]any{"email": email, "password": password, "name": "Flood"})
		if err != nil || st != http.StatusCreated {
			return fmt.Errorf("register: %d %v", st, err)
		}
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
		c := newClient(4)
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
			c := newClient(4)
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
	if rss >= 200<<20 {
		problems = append(problems, "peak RSS not under 200 MiB")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	fmt.Fprintln(out, "  targets met: statuses only 200/429/503, /auth/me median < 50ms, peak RSS < 200 MiB")
	return nil
}

// bearerToken obtains an access token by logging in and reading the cookie.
func bearerToken(base string) (string, error) {
	resp, err := http.Post(base+"/auth/login", "application/json",
		strings.NewReader(`{"email":"browser@example.com","password":"`+password+`"}`))
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

func postJSON(c *http.Client, url string, body any) (int, error) {
	data, _ := json.Marshal(body)
	return discard(c.Post(url, "application/json", bytes.NewReader(data)))
}

func discard(resp *http.Response, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
