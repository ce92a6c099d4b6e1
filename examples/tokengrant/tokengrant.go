// Package tokengrant is the README's example of the token grant's second
// step with golang.org/x/oauth2: the password grant answers mfa_required
// with an mfa_token, and Exchange sends grant_type=mfa_otp with it and a
// code. Its test runs it against the real router.
package tokengrant

import (
	"context"
	"encoding/json"
	"errors"

	"golang.org/x/oauth2"
)

// SignIn gets a token for email and password from the Portcullis at
// baseURL; for a user with an authenticator app it asks otp for a code.
func SignIn(ctx context.Context, baseURL, email, password string, otp func() (string, error)) (*oauth2.Token, error) {
	conf := &oauth2.Config{Endpoint: oauth2.Endpoint{
		TokenURL:  baseURL + "/auth/token",
		AuthStyle: oauth2.AuthStyleInParams, // no client credentials
	}}
	tok, err := conf.PasswordCredentialsToken(ctx, email, password)
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "mfa_required" {
		return tok, err // signed in, or refused
	}
	var second struct {
		MFAToken string `json:"mfa_token"`
	}
	if err := json.Unmarshal(re.Body, &second); err != nil {
		return nil, err
	}
	code, err := otp()
	if err != nil {
		return nil, err
	}
	// Exchange's grant_type and code are replaced by the second step's.
	return conf.Exchange(ctx, "",
		oauth2.SetAuthURLParam("grant_type", "mfa_otp"),
		oauth2.SetAuthURLParam("mfa_token", second.MFAToken),
		oauth2.SetAuthURLParam("otp", code)) // or "recovery_code"
}
