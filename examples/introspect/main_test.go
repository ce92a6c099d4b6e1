package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/client"
)

// TestIntrospectAgainstTheRealRouter runs the example client against
// Portcullis's real router and database.
func TestIntrospectAgainstTheRealRouter(t *testing.T) {
	env := map[string]string{"AUTH_INTROSPECT_CLIENTS": "gateway:change-me-to-a-long-secret", "AUTH_COOKIE_SECURE": "false"}
	srv := httptest.NewServer(apitest.Router(t, env))
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/auth/register", "application/json",
		strings.NewReader(`{"email":"ada@example.com","password":"correct horse battery staple","name":"Ada"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Post(srv.URL+"/auth/token", "application/x-www-form-urlencoded",
		strings.NewReader("grant_type=password&username=ada@example.com&password=correct+horse+battery+staple"))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	ctx := context.Background()
	c := client.New(srv.URL, client.WithHTTPClient(srv.Client()), client.WithIntrospection("gateway", "change-me-to-a-long-secret"))
	line, active, err := describe(ctx, c, tok.AccessToken)
	if err != nil || !active || !strings.Contains(line, "ada@example.com, user") {
		t.Fatalf("introspect live token = %q %v, %v", line, active, err)
	}
	line, active, err = describe(ctx, c, "not-a-token")
	if err != nil || active || line != "inactive" {
		t.Errorf("introspect garbage = %q %v, %v", line, active, err)
	}
	wrong := client.New(srv.URL, client.WithIntrospection("gateway", "wrong"))
	if _, _, err := describe(ctx, wrong, tok.AccessToken); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("wrong secret: %v", err)
	}
}
