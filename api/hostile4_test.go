package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portcullis-auth/portcullis/api/apitest"
)

// TestHostile4SwaggerUIPrefixPoisonedByFirstRequest: DESIGN.md's route
// table promises Swagger UI at GET /swagger/index.html. gin-swagger's
// CustomWrapHandler fixes the webdav handler's Prefix once, from the first
// request whose RequestURI ends in one of its file names, taking whatever
// precedes the name. The perf branch hands it a fresh webdav.Handler
// (swaggerUIFiles) but keeps that wiring, so one anonymous request such as
// GET /swagger/x/swagger-ui.css, sent before anyone opens the UI (right
// after a start or deploy), sets the prefix to "/swagger/x/": from then on
// every real asset (/swagger/swagger-ui.css, swagger-ui-bundle.js, ...)
// answers 404 and the UI is a blank page until the process restarts. The
// same holds on perf-start (swaggo/files v1): not introduced by the perf
// branch, but not removed by its rewrite of this handler either.
func TestHostile4SwaggerUIPrefixPoisonedByFirstRequest(t *testing.T) {
	h := apitest.Router(t, nil)
	get := func(path string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code
	}
	// The attacker's request comes first.
	get("/swagger/x/swagger-ui.css")
	get("/swagger/index.html?q=/swagger-ui-bundle.js")
	for _, p := range []string{"/swagger/index.html", "/swagger/swagger-ui.css", "/swagger/swagger-ui-bundle.js",
		"/swagger/swagger-ui-standalone-preset.js", "/swagger/favicon-32x32.png"} {
		if code := get(p); code != http.StatusOK {
			t.Errorf("GET %s after GET /swagger/x/swagger-ui.css: %d, want 200 (Swagger UI broken for everyone)", p, code)
		}
	}
}

// TestHostile4SwaggerUIQueryPoisons: the prefix is read from the raw
// RequestURI, query included, so even a request for the index page with a
// crafted query string is enough.
func TestHostile4SwaggerUIQueryPoisons(t *testing.T) {
	h := apitest.Router(t, nil)
	get := func(path string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code
	}
	get("/swagger/index.html?utm=/swagger-ui.css")
	if code := get("/swagger/swagger-ui.css"); code != http.StatusOK {
		t.Errorf("GET /swagger/swagger-ui.css after GET /swagger/index.html?utm=/swagger-ui.css: %d, want 200", code)
	}
}
