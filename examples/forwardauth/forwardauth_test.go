// Package forwardauth holds the reverse-proxy examples shown in README.md and
// tests them against the real router.
package forwardauth

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/api/apitest"
)

// portcullis serves the real router and returns its URL and a signed-in
// user's access cookie.
func portcullis(t *testing.T) (string, string) {
	t.Helper()
	srv := httptest.NewServer(apitest.Router(t, nil))
	t.Cleanup(srv.Close)
	resp, err := http.Post(srv.URL+"/auth/register", "application/json",
		strings.NewReader(`{"email":"ada@example.com","password":"correct horse battery staple","name":"Ada"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-session" {
			return srv.URL, c.Name + "=" + c.Value
		}
	}
	t.Fatal("no session cookie")
	return "", ""
}

// app echoes the identity headers the proxy adds.
func app(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user=%t email=%s role=%s", r.Header.Get("X-Auth-User-Id") != "", r.Header.Get("X-Auth-User-Email"), r.Header.Get("X-Auth-User-Role"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func get(t *testing.T, url, cookie string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestNginxAuthRequest runs nginx with the README's location blocks in front
// of an app, with Portcullis as the auth_request backend.
func TestNginxAuthRequest(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if _, err = os.Stat("/usr/sbin/nginx"); err != nil {
			t.Skip("nginx is not installed (apt-get install nginx); .ci/run installs it")
		}
		nginx = "/usr/sbin/nginx"
	}
	auth, cookie := portcullis(t)
	upstream := app(t)
	block, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	conf := fmt.Sprintf(`daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events {}
http {
    access_log off;
    client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s; uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;
    server {
        listen %[2]s;
%[3]s
    }
}
`, dir, addr, strings.NewReplacer("http://portcullis:8080", auth, "http://app:3000", upstream).Replace(string(block)))
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, nginx, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	base := "http://" + addr
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if i > 100 {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not start: %s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}

	status, body := get(t, base+"/dashboard", cookie)
	if status != 200 || body != "user=true email=ada@example.com role=user" {
		t.Errorf("signed in through nginx: %d %q", status, body)
	}
	if status, _ := get(t, base+"/dashboard", ""); status != 401 {
		t.Errorf("anonymous through nginx: %d, want 401", status)
	}
}

// TestTraefikForwardAuthRequest replays the request Traefik's ForwardAuth
// middleware sends (a GET to the address with the client's headers and
// X-Forwarded-*), since Traefik itself is not installable here, and checks the
// headers named in traefik.yaml come back.
func TestTraefikForwardAuthRequest(t *testing.T) {
	auth, cookie := portcullis(t)
	cfg, err := os.ReadFile("traefik.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"address: http://portcullis:8080/auth/verify", "X-Auth-User-Id", "X-Auth-User-Email", "X-Auth-User-Role", "X-Auth-Session-Id"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("traefik.yaml lacks %q", want)
		}
	}
	send := func(path, cookie string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, auth+path, nil)
		req.Header.Set("X-Forwarded-Method", "POST")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Host", "app.example.com")
		req.Header.Set("X-Forwarded-Uri", "/orders")
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := send("/auth/verify", cookie)
	if resp.StatusCode != 200 || resp.Header.Get("X-Auth-User-Email") != "ada@example.com" || resp.Header.Get("X-Auth-Session-Id") == "" {
		t.Errorf("forward-auth: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := send("/auth/verify?role=admin", cookie); resp.StatusCode != 403 {
		t.Errorf("admin middleware for a user: %d, want 403", resp.StatusCode)
	}
	if resp := send("/auth/verify", ""); resp.StatusCode != 401 {
		t.Errorf("anonymous: %d, want 401", resp.StatusCode)
	}
}

// TestREADMEShowsTheseExamples keeps README.md's blocks identical to the
// tested files.
func TestREADMEShowsTheseExamples(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"nginx.conf", "traefik.yaml"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), string(data)) {
			t.Errorf("README.md does not show %s as it is", f)
		}
	}
}
