// Command spa serves the example single-page app on its own origin, so it
// talks to Portcullis cross-origin exactly as a real frontend would:
//
//	AUTH_ALLOWED_ORIGINS=http://localhost:5173 go run .    # Portcullis on :8080
//	go run ./examples/spa                                  # the SPA on http://localhost:5173
package main

import (
	"embed"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"net/http"
	"strconv"
)

//go:embed static
var static embed.FS

// newHandler serves the SPA's files and a config.js naming the API origin.
func newHandler(apiURL string) http.Handler {
	files, _ := fs.Sub(static, "static")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /config.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, "window.PORTCULLIS_API = %s;\n", strconv.Quote(apiURL))
	})
	mux.Handle("GET /", http.FileServerFS(files))
	// The pages mailed links open (and the forgot-password page) are the same
	// app; it shows the right section for the path. Opening one consumes
	// nothing: the page's button POSTs the token.
	for _, page := range []string{"/forgot-password", "/reset-password", "/verify-email", "/sign-in", "/confirm-email-change"} {
		mux.HandleFunc("GET "+page, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			http.ServeFileFS(w, r, files, "index.html")
		})
	}
	return mux
}

func main() {
	addr := flag.String("addr", "localhost:5173", "where to serve the SPA")
	apiURL := flag.String("api", "http://localhost:8080", "Portcullis's URL")
	flag.Parse()
	log.Printf("example SPA on http://%s, talking to %s (start Portcullis with AUTH_ALLOWED_ORIGINS=http://%s)", *addr, *apiURL, *addr)
	log.Fatal(http.ListenAndServe(*addr, newHandler(*apiURL)))
}
