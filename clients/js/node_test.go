package js

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// node finds node and the package's installed dependencies, or skips:
// `go test ./...` must pass on a machine without Node. .ci/run runs `npm ci`.
func node(t *testing.T) string {
	t.Helper()
	if os.Getenv("PORTCULLIS_JS") == "off" {
		t.Skip("JavaScript client tests switched off (PORTCULLIS_JS=off)")
	}
	exe, err := exec.LookPath("node")
	if err != nil {
		t.Skip("JavaScript client tests skipped: node not found (Node 20 or later); .ci/run installs it")
	}
	if _, err := os.Stat("node_modules/typescript/bin/tsc"); err != nil {
		t.Skip("JavaScript client tests skipped: run `npm ci` in clients/js first (.ci/run does)")
	}
	return exe
}

func run(t *testing.T, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	if testing.Verbose() && len(out) > 0 {
		t.Logf("%s", out)
	}
}

// build compiles the client (tsc) once per test binary.
func build(t *testing.T, nodeExe string) {
	t.Helper()
	run(t, nil, nodeExe, "node_modules/typescript/bin/tsc", "-p", "tsconfig.json")
}

// portcullisBinary builds the service for the tests to start.
func portcullisBinary(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "portcullis")
	run(t, nil, "go", "build", "-o", exe, "../..")
	return exe
}

// TestGeneratedTypesAreCurrent fails when src/openapi.ts was not regenerated
// after openapi.yaml changed.
func TestGeneratedTypesAreCurrent(t *testing.T) {
	nodeExe := node(t)
	run(t, nil, nodeExe, "scripts/check-generated.mjs")
}

// TestNodeSuite runs test/*.test.mjs (Node's test runner) against a real
// Portcullis binary each suite starts on a loopback port with SQLite.
func TestNodeSuite(t *testing.T) {
	nodeExe := node(t)
	build(t, nodeExe)
	files, _ := filepath.Glob("test/*.test.mjs")
	run(t, []string{"PORTCULLIS_BIN=" + portcullisBinary(t)}, nodeExe, append([]string{"--test"}, files...)...)
}
