package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis-auth/portcullis/api/apitest"
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
	got, err := introspect(ctx, srv.Client(), srv.URL, "gateway", "change-me-to-a-long-secret", tok.AccessToken)
	if err != nil || !got.Active || got.Email != "ada@example.com" || got.Role != "user" {
		t.Fatalf("introspect live token = %+v, %v", got, err)
	}
	got, err = introspect(ctx, srv.Client(), srv.URL, "gateway", "change-me-to-a-long-secret", "not-a-token")
	if err != nil || got.Active {
		t.Errorf("introspect garbage = %+v, %v", got, err)
	}
	if _, err := introspect(ctx, srv.Client(), srv.URL, "gateway", "wrong", tok.AccessToken); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("wrong secret: %v", err)
	}
}
