package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/gin-gonic/gin"
	"github.com/google/go-cmp/cmp"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/config"
)

const specPath = "../openapi.yaml"

var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

// spec loads openapi.yaml once for the contract checks.
func spec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		specDoc, specErr = loader.LoadFromFile(specPath)
		if specErr != nil {
			return
		}
		if specErr = specDoc.Validate(context.Background()); specErr != nil {
			return
		}
		routed := *specDoc
		routed.Servers = nil // match any host, as the test servers listen on random ports
		specRouter, specErr = gorillamux.NewRouter(&routed)
	})
	if specErr != nil {
		t.Fatalf("openapi.yaml: %v", specErr)
	}
	return specDoc, specRouter
}

// checkContract validates one exchange against openapi.yaml: the response's
// status, body and documented headers must match the operation. A request the
// spec calls invalid must have been refused with a 4xx.
func checkContract(t *testing.T, method, path string, reqHeader http.Header, reqBody []byte, r response) {
	t.Helper()
	_, router := spec(t)
	req, _ := http.NewRequest(method, "http://portcullis.test"+path, bytes.NewReader(reqBody))
	req.Header = reqHeader.Clone()
	route, params, err := router.FindRoute(req)
	if err != nil {
		// Unknown paths and methods are not operations; TestRoutesMatchSpec
		// checks every registered route is documented.
		return
	}
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil && (r.status < 400 || r.status >= 500) {
		t.Errorf("contract: %s %s was invalid per openapi.yaml yet answered %d: %v", method, path, r.status, err)
	}
	in.Request.Body = io.NopCloser(bytes.NewReader(reqBody))
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: r.status, Header: r.header, Body: io.NopCloser(bytes.NewReader(r.body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("contract: %s %s answered %d, which openapi.yaml does not allow: %v\nbody: %s", method, path, r.status, err, r.body)
	}
	// An error's code must be one the operation documents for that status.
	if code := errorCode(r.body); r.status >= 400 && code != "" {
		doc := route.Operation.Responses.Status(r.status)
		if doc == nil || doc.Value.Description == nil || !strings.Contains(*doc.Value.Description, "`"+code+"`") {
			t.Errorf("contract: %s %s answered %d %s, a code openapi.yaml does not list for it", method, path, r.status, code)
		}
	}
}

// errorCode is the code of either error shape, or "".
func errorCode(body []byte) string {
	var envelope struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &envelope) != nil || len(envelope.Error) == 0 {
		return ""
	}
	var oauth string
	if json.Unmarshal(envelope.Error, &oauth) == nil {
		return oauth
	}
	var e struct{ Code string }
	_ = json.Unmarshal(envelope.Error, &e)
	return e.Code
}

// routeKey normalises "/auth/sessions/:id" and "/auth/sessions/{id}".
var paramPattern = regexp.MustCompile(`[:{]([a-zA-Z]+)}?`)

func routeKey(method, path string) string {
	return strings.ToUpper(method) + " " + paramPattern.ReplaceAllString(path, "{$1}")
}

// documentationRoutes are served for the docs themselves and not documented.
var documentationRoutes = map[string]bool{"GET /swagger/*any": true, "GET /swagger": true, "GET /openapi.yaml": true, "HEAD /openapi.yaml": true}

func TestRoutesMatchSpec(t *testing.T) {
	cfg, _ := config.Load(func(string) string { return "" })
	engine, ok := api.New(api.Deps{Config: cfg}).(*gin.Engine)
	if !ok {
		t.Fatal("api.New does not return a *gin.Engine")
	}
	var registered []string
	for _, r := range engine.Routes() {
		if k := routeKey(r.Method, r.Path); !documentationRoutes[k] {
			registered = append(registered, k)
		}
	}
	doc, _ := spec(t)
	var inSpec []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			inSpec = append(inSpec, routeKey(method, path))
		}
	}
	var swagger struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	data, err := os.ReadFile("../docs/swagger.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &swagger); err != nil {
		t.Fatal(err)
	}
	var inSwagger []string
	for path, ops := range swagger.Paths {
		for method := range ops {
			inSwagger = append(inSwagger, routeKey(method, path))
		}
	}
	sort.Strings(registered)
	sort.Strings(inSpec)
	sort.Strings(inSwagger)
	if diff := cmp.Diff(registered, inSpec); diff != "" {
		t.Errorf("routes (-registered +openapi.yaml):\n%s", diff)
	}
	if diff := cmp.Diff(registered, inSwagger); diff != "" {
		t.Errorf("routes (-registered +docs/swagger.json):\n%s", diff)
	}
}

func TestOpenAPIServedByteForByte(t *testing.T) {
	file, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, "sqlite::memory:", func(_ *config.Config, d *api.Deps) { d.OpenAPI = file })
	r := h.client().do("GET", "/openapi.yaml", nil)
	wantStatus(t, r, http.StatusOK, "openapi.yaml")
	if !bytes.Equal(r.body, file) {
		t.Error("/openapi.yaml differs from the repository's file")
	}
	doc, err := openapi3.NewLoader().LoadFromData(r.body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Errorf("served spec does not validate: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi = %q, want 3.0.x", doc.OpenAPI)
	}
	// Every path in DESIGN.md's API table.
	for _, p := range []string{
		"/auth/register", "/auth/login", "/auth/logout", "/auth/me", "/auth/refresh", "/auth/token", "/auth/password",
		"/auth/sessions", "/auth/sessions/{id}", "/auth/activity", "/auth/introspect", "/auth/verify",
		"/admin/users", "/admin/users/{id}", "/admin/users/{id}/sessions", "/admin/audit", "/healthz", "/readyz",
	} {
		if doc.Paths.Find(p) == nil {
			t.Errorf("openapi.yaml lacks %s", p)
		}
	}
	for _, name := range []string{"CookieAuth", "BearerAuth", "IntrospectBasic"} {
		if doc.Components.SecuritySchemes[name] == nil {
			t.Errorf("openapi.yaml lacks the %s security scheme", name)
		}
	}
	if s := doc.Components.SecuritySchemes["CookieAuth"].Value; s.In != "cookie" {
		t.Errorf("CookieAuth is in %q, want cookie", s.In)
	}
	r = h.client().do("GET", "/swagger/index.html", nil)
	wantStatus(t, r, http.StatusOK, "Swagger UI")
	if !strings.Contains(string(r.body), "swagger-ui") {
		t.Error("Swagger UI page lacks swagger-ui")
	}
}
