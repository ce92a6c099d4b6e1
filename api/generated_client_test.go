package api_test

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-auth/portcullis/api/apitest"
)

// clientProgram drives the generated client through a whole session:
// register → me → refresh → logout → me again.
const clientProgram = `package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"

	"portcullis-clienttest/client"
)

func check(ok bool, what string, args ...any) {
	if !ok {
		fmt.Printf("FAIL: "+what+"\n", args...)
		os.Exit(1)
	}
}

func main() {
	ctx := context.Background()
	jar, _ := cookiejar.New(nil)
	c, err := client.NewClientWithResponses(os.Args[1], client.WithHTTPClient(&http.Client{Jar: jar}))
	check(err == nil, "client: %v", err)

	reg, err := c.RegisterWithResponse(ctx, nil, client.RegisterJSONRequestBody{
		Email: "generated@example.com", Name: "Generated Client", Password: "correct horse battery staple",
	})
	check(err == nil && reg.JSON201 != nil, "register: %v %s", err, reg.Body)
	user, sess := reg.JSON201.User, reg.JSON201.Session

	me, err := c.GetMeWithResponse(ctx)
	check(err == nil && me.JSON200 != nil && me.JSON200.User.Id == user.Id && string(me.JSON200.User.Email) == "generated@example.com",
		"me: %v %s", err, me.Body)

	ref, err := c.RefreshWithResponse(ctx)
	check(err == nil && ref.JSON200 != nil && ref.JSON200.Session.Id == sess.Id && ref.JSON200.Session.AccessExpiresAt.After(sess.CreatedAt),
		"refresh: %v %s", err, ref.Body)

	out, err := c.LogoutWithResponse(ctx, &client.LogoutParams{})
	check(err == nil && out.StatusCode() == 204, "logout: %v %d", err, out.StatusCode())

	gone, err := c.GetMeWithResponse(ctx)
	check(err == nil && gone.JSON401 != nil && gone.JSON401.Error.Code == "unauthenticated" && gone.JSON401.Error.Message != "",
		"me after logout: %v %s", err, gone.Body)
	fmt.Println("ok")
}
`

// TestGeneratedClientDrivesASession generates a typed Go client from
// openapi.yaml with oapi-codegen (pinned as a Go tool), compiles it in a
// module of its own, and drives register → me → refresh → logout through it
// against the real router: the proof that the document is usable.
func TestGeneratedClientDrivesASession(t *testing.T) {
	if testing.Short() {
		t.Skip("generating and compiling a client takes a while")
	}
	dir := t.TempDir()
	spec, err := filepath.Abs("../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	run := func(in string, args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = in
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if err := os.MkdirAll(filepath.Join(dir, "client"), 0o755); err != nil {
		t.Fatal(err)
	}
	run("..", "tool", "oapi-codegen", "-generate", "types,client", "-package", "client", "-o", filepath.Join(dir, "client", "client.gen.go"), spec)
	files := map[string]string{"go.mod": "module portcullis-clienttest\n\ngo 1.26\n", "main.go": clientProgram}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(dir, "get", "github.com/oapi-codegen/runtime@v1.9.0")
	run(dir, "mod", "tidy")
	run(dir, "build", "-o", "drive", ".")

	srv := httptest.NewServer(apitest.Router(t, map[string]string{"AUTH_COOKIE_SECURE": "false"}))
	defer srv.Close()
	out, err := exec.Command(filepath.Join(dir, "drive"), srv.URL).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("the generated client: %v\n%s", err, out)
	}
}

// TestGeneratedClientNarrowsInTypeScript generates TypeScript types from
// openapi.yaml with openapi-typescript and type-checks, with tsc --strict, a
// client (testdata/tsclient/client.ts, using openapi-fetch) that tells the two
// answers of a sign-in apart with 'mfaRequired' in r and switches on an error
// code, without a cast. The tools come from testdata/tsclient's lock file:
// run `npm ci --prefix api/testdata/tsclient` first (.ci/run does).
func TestGeneratedClientNarrowsInTypeScript(t *testing.T) {
	if testing.Short() {
		t.Skip("generating and type-checking a TypeScript client takes a while")
	}
	tools, err := filepath.Abs("testdata/tsclient")
	if err != nil {
		t.Fatal(err)
	}
	modules := filepath.Join(tools, "node_modules")
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: the TypeScript client check is skipped (install Node.js 20+, then npm ci --prefix api/testdata/tsclient)")
	}
	if _, err := os.Stat(filepath.Join(modules, ".bin", "tsc")); err != nil {
		t.Skip("api/testdata/tsclient/node_modules is absent: the TypeScript client check is skipped (run npm ci --prefix api/testdata/tsclient)")
	}
	spec, err := filepath.Abs("../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	program, err := os.ReadFile(filepath.Join(tools, "client.ts"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "client.ts"), program, 0o644); err != nil {
		t.Fatal(err)
	}
	// The program resolves openapi-fetch from the locked install.
	if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	node := func(tool string, args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(modules, ".bin", tool), args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
		}
	}
	node("openapi-typescript", spec, "-o", filepath.Join(dir, "schema.d.ts"))
	node("tsc", "--strict", "--noEmit", "--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler",
		"--lib", "es2022,dom", "client.ts")
}
