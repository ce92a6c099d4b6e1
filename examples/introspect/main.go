// Command introspect shows how a Go service asks Portcullis whether an access
// token is live (RFC 7662). Run it with:
//
//	PORTCULLIS_URL=http://localhost:8080 INTROSPECT_CLIENT=gateway \
//	INTROSPECT_SECRET=change-me-to-a-long-secret go run ./examples/introspect TOKEN
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Introspection is Portcullis's answer; only Active is set for a dead token.
type Introspection struct {
	Active bool   `json:"active"`
	Sub    string `json:"sub"`
	Sid    string `json:"sid"`
	Role   string `json:"role"`
	Email  string `json:"email"`
	Exp    int64  `json:"exp"`
}

// introspect asks baseURL's /auth/introspect about token, authenticating as
// the client id with its secret.
func introspect(ctx context.Context, hc *http.Client, baseURL, id, secret, token string) (Introspection, error) {
	body := url.Values{"token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(baseURL, "/")+"/auth/introspect", strings.NewReader(body))
	if err != nil {
		return Introspection{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := hc.Do(req)
	if err != nil {
		return Introspection{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return Introspection{}, fmt.Errorf("introspect: %d %s: %s", resp.StatusCode, e.Error, e.Description)
	}
	var out Introspection
	return out, json.NewDecoder(resp.Body).Decode(&out)
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: introspect TOKEN (with PORTCULLIS_URL, INTROSPECT_CLIENT, INTROSPECT_SECRET set)")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := introspect(ctx, http.DefaultClient, os.Getenv("PORTCULLIS_URL"), os.Getenv("INTROSPECT_CLIENT"), os.Getenv("INTROSPECT_SECRET"), os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if !res.Active {
		fmt.Println("inactive")
		os.Exit(1)
	}
	fmt.Printf("active: user %s (%s, %s), session %s\n", res.Sub, res.Email, res.Role, res.Sid)
}
