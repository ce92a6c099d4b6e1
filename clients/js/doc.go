// Package js holds the Go side of @portcullis/client's tests: it builds the
// Portcullis binary and runs the package's Node tests against it, and drives
// the client in Chromium tabs. The client itself is TypeScript (src/).
package js
