// Package nextjs holds the Go test of the Next.js example (a Node.js app,
// in this directory): it builds it with `next build`, runs it with
// `next start` in front of the real router, and drives it in Chromium.
package nextjs
