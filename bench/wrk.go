package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The load comes from wrk (Debian's package), pinned to the client's core
// with one thread: a C event loop that drives a bare Gin handler about twice
// as fast as a Go client on the same core. Every request a scenario sends is
// prepared here as raw HTTP/1.1 and read by a Lua script, so the script's
// per-request work is one table lookup, the same for every scenario.

// luaRotate sends the prepared requests in turn (one session per request
// slot, rotating across the connections).
const luaRotate = `
local reqs = {}
local i = 0
function init(args)
  local f = assert(io.open(args[1], "rb"))
  while true do
    local n = f:read("*n")
    if not n then break end
    f:read(1)
    reqs[#reqs + 1] = f:read(n)
  end
  f:close()
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
` + luaDone

// luaRefresh keeps a pool of refresh tokens: each request takes one and each
// rotated response gives its successor back, so no token is sent twice.
// wrk keeps the last of repeated headers; the server sets the refresh
// cookie after the session cookie (checked before the run). When the run
// ends, done writes the tokens left in the pool back to the data file for
// the next run (tokens in flight at the end are lost; the tool tops the pool
// up with fresh sign-ins).
const luaRefresh = `
pool, head, tail = {}, 1, 0
local prefix, suffix, path
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  path = args[1]
  local f = assert(io.open(path, "rb"))
  prefix = f:read("*l"):gsub("\\r\\n", "\r\n")
  suffix = f:read("*l"):gsub("\\r\\n", "\r\n")
  for line in f:lines() do tail = tail + 1; pool[tail] = line end
  f:close()
end
function request()
  if head > tail then return prefix .. "spent" .. suffix end
  local t = pool[head]
  pool[head] = nil
  head = head + 1
  return prefix .. t .. suffix
end
function response(status, headers, body)
  local c = headers["Set-Cookie"] or headers["set-cookie"]
  if status == 200 and c then
    local t = c:match("refresh=([^;]+)")
    if t then tail = tail + 1; pool[tail] = t end
  end
end
function done(summary, latency, requests)
  local f = assert(io.open(os.getenv("BENCH_REFRESH_POOL"), "wb"))
  for _, thread in ipairs(threads) do
    local p, h, t = thread:get("pool"), thread:get("head"), thread:get("tail")
    for k = h, t do if p[k] then f:write(p[k], "\n") end end
  end
  f:close()
  report(summary, latency)
end
` + luaReport

// luaDone prints wrk's own counts as one JSON line.
const luaDone = `
function done(summary, latency, requests) report(summary, latency) end
` + luaReport

const luaReport = `
function report(summary, latency)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`

// wrkResult is what one wrk run reports.
type wrkResult struct {
	Requests   int64 `json:"requests"`
	DurationUS int64 `json:"duration_us"`
	Connect    int64 `json:"connect"`
	Read       int64 `json:"read"`
	Write      int64 `json:"write"`
	Status     int64 `json:"status"`
	Timeout    int64 `json:"timeout"`
	P50US      int64 `json:"p50_us"`
	P99US      int64 `json:"p99_us"`
}

func (r wrkResult) rate() float64 {
	if r.DurationUS == 0 {
		return 0
	}
	return float64(r.Requests-r.errors()) / (float64(r.DurationUS) / 1e6)
}

// errors counts failed requests: non-2xx/3xx answers, timeouts and socket
// errors.
func (r wrkResult) errors() int64 {
	return r.Status + r.Timeout + r.Read + r.Write + r.Connect
}

// kinds says which kinds of failure wrk counted.
func (r wrkResult) kinds() string {
	return fmt.Sprintf("wrk: %d non-2xx/3xx answers, %d timeouts, %d connect, %d read, %d write errors",
		r.Status, r.Timeout, r.Connect, r.Read, r.Write)
}

func (r wrkResult) p50() time.Duration { return time.Duration(r.P50US) * time.Microsecond }
func (r wrkResult) p99() time.Duration { return time.Duration(r.P99US) * time.Microsecond }

// load is one scenario: a base URL and a Lua script with its data file.
type load struct {
	base   string
	script string // path of the Lua script
	data   string // path of its data file
	env    []string
}

// wrkBin finds wrk or says how to install it.
func wrkBin() (string, error) {
	p, err := exec.LookPath("wrk")
	if err != nil {
		return "", errors.New("wrk is not installed: apt-get install -y wrk (the load tool drives every scenario with it)")
	}
	return p, nil
}

// run drives l with conns connections from one wrk thread on the client's
// core for d.
func (l load) run(conns int, d time.Duration) (wrkResult, error) {
	wrk, err := wrkBin()
	if err != nil {
		return wrkResult{}, err
	}
	argv := onCore(clientCore, []string{wrk, "-t1", "-c" + strconv.Itoa(conns), "-d" + d.String(),
		"--timeout", "30s", "-s", l.script, l.base, "--", l.data})
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), l.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w: %s", err, stderr.String())
	}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if strings.HasPrefix(line, "{") {
			var r wrkResult
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				return wrkResult{}, fmt.Errorf("wrk summary %q: %w", line, err)
			}
			return r, nil
		}
	}
	return wrkResult{}, fmt.Errorf("wrk printed no summary: %s", stdout.String())
}

// rawRequest is one HTTP/1.1 request as wrk sends it.
func rawRequest(method, host, path string, headers map[string]string, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, host)
	for k, v := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	if body != "" || method == "POST" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return b.String()
}

// rotating writes a scenario that sends reqs in turn.
func rotating(dir, name, base string, reqs []string) (load, error) {
	var data bytes.Buffer
	for _, r := range reqs {
		fmt.Fprintf(&data, "%d\n%s", len(r), r)
	}
	return writeLoad(dir, name, base, luaRotate, data.Bytes())
}

// refreshing writes the refresh scenario: the request around the token, then
// the pool of refresh tokens, one per line. After each run, leftTokens
// reads what the pool held at the end.
func refreshing(dir, base, host, cookie string, tokens []string) (load, error) {
	req := rawRequest("POST", host, "/auth/refresh", map[string]string{"Cookie": cookie + "=TOKEN"}, "")
	prefix, suffix, _ := strings.Cut(req, "TOKEN")
	esc := func(s string) string { return strings.ReplaceAll(s, "\r\n", `\r\n`) }
	data := esc(prefix) + "\n" + esc(suffix) + "\n" + strings.Join(tokens, "\n") + "\n"
	l, err := writeLoad(dir, "refresh", base, luaRefresh, []byte(data))
	l.env = []string{"BENCH_REFRESH_POOL=" + filepath.Join(dir, "refresh.left")}
	return l, err
}

// leftTokens reads the refresh tokens the last run left unspent.
func leftTokens(dir string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "refresh.left"))
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(data)), nil
}

func writeLoad(dir, name, base, script string, data []byte) (load, error) {
	l := load{base: base, script: filepath.Join(dir, name+".lua"), data: filepath.Join(dir, name+".data")}
	if err := os.WriteFile(l.script, []byte(script), 0o600); err != nil {
		return l, err
	}
	return l, os.WriteFile(l.data, data, 0o600)
}
