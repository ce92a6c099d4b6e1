package handlers

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/models"
)

// OAuthError is the RFC 6749 §5.2 error shape used by /auth/token and
// /auth/introspect, since OAuth client libraries read it.
type OAuthError struct {
	Error            string `json:"error" example:"invalid_grant"`
	ErrorDescription string `json:"error_description,omitempty" example:"the email or password is incorrect"`
}

// TokenRequest is the body of /auth/token, as JSON or a form.
type TokenRequest struct {
	GrantType    string `json:"grant_type" form:"grant_type" enums:"password,refresh_token" example:"password"`
	Username     string `json:"username" form:"username" example:"ada@example.com"`
	Email        string `json:"email" form:"email" example:"ada@example.com"`
	Password     string `json:"password" form:"password" example:"correct horse battery staple"`
	RefreshToken string `json:"refresh_token" form:"refresh_token"`
}

// TokenResponse is an OAuth 2 access token response.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type" example:"Bearer"`
	ExpiresIn    int64  `json:"expires_in" example:"900"`
	RefreshToken string `json:"refresh_token"`
	User         User   `json:"user"`
}

// IntrospectRequest is the body of /auth/introspect.
type IntrospectRequest struct {
	Token         string `json:"token" form:"token"`
	TokenTypeHint string `json:"token_type_hint" form:"token_type_hint"`
}

// IntrospectResponse is an RFC 7662 answer; only active is set for an
// inactive token.
type IntrospectResponse struct {
	Active bool   `json:"active" example:"true"`
	Sub    string `json:"sub,omitempty" example:"01935a4e-7c1d-7a8e-9b0f-3c2d1e0f4a5b"`
	Sid    string `json:"sid,omitempty" example:"01935a4e-7c1d-7a8e-9b0f-3c2d1e0f4a5c"`
	Role   string `json:"role,omitempty" example:"user"`
	Email  string `json:"email,omitempty" example:"ada@example.com"`
	Exp    int64  `json:"exp,omitempty" example:"1795412345"`
	Iat    int64  `json:"iat,omitempty" example:"1795411445"`
}

// WriteOAuthError writes err in the OAuth shape and aborts.
func WriteOAuthError(c *gin.Context, err error) {
	status, code := Status(err)
	oauth := OAuthError{Error: "invalid_request"}
	switch {
	case status == http.StatusTooManyRequests:
		oauth.Error = "slow_down"
	case status == http.StatusServiceUnavailable:
		oauth.Error = "temporarily_unavailable"
	case status >= 500:
		oauth.Error = "server_error"
	case code == "invalid_credentials" || code == "invalid_refresh":
		oauth.Error, status = "invalid_grant", http.StatusBadRequest
	case code == "invalid_client" || code == "unsupported_grant_type":
		oauth.Error = code
	}
	if e := clientError(c, status, err); e != nil {
		oauth.ErrorDescription = e.Message
	}
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Basic realm="portcullis"`)
	}
	c.AbortWithStatusJSON(status, oauth)
}

// decodeOAuth reads a JSON or form body into a map of string fields.
func decodeOAuth(c *gin.Context, dst any, form func(url.Values)) error {
	switch {
	case IsMediaType(c.Request, "application/json"):
		return DecodeJSON(c, dst)
	case IsMediaType(c.Request, "application/x-www-form-urlencoded"):
		data, err := ReadBody(c)
		if err != nil {
			return err
		}
		vals, err := url.ParseQuery(string(data))
		if err != nil {
			return models.Errorf(models.BadRequest, "the form body is malformed")
		}
		form(vals)
		return nil
	}
	return models.Errorf(models.UnsupportedMedia, "the request body must be application/json or application/x-www-form-urlencoded")
}

// Token issues bearer tokens for services (OAuth 2 password and refresh_token grants).
//
//	@Summary	Get bearer tokens
//	@Description	grant_type=password with username (the email; email is accepted too) and password, or grant_type=refresh_token with refresh_token. JSON or form body. Sets no cookie. Refresh tokens rotate with the same reuse rules as the cookie flow.
//	@Tags		services
//	@Accept		json,x-www-form-urlencoded
//	@Produce	json
//	@Param		body	body		TokenRequest	true	"grant"
//	@Success	200		{object}	TokenResponse
//	@Failure	400		{object}	OAuthError	"invalid_request, invalid_grant or unsupported_grant_type"
//	@Failure	413		{object}	OAuthError	"invalid_request"
//	@Failure	415		{object}	OAuthError	"invalid_request"
//	@Failure	429		{object}	OAuthError	"slow_down"
//	@Failure	503		{object}	OAuthError	"temporarily_unavailable"
//	@Router		/auth/token [post]
func Token(creds *Credentials) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req TokenRequest
		err := decodeOAuth(c, &req, func(v url.Values) {
			req = TokenRequest{GrantType: v.Get("grant_type"), Username: v.Get("username"), Email: v.Get("email"),
				Password: v.Get("password"), RefreshToken: v.Get("refresh_token")}
		})
		if err != nil {
			WriteOAuthError(c, err)
			return
		}
		sessions := creds.Sessions
		var (
			sess models.Session
			u    models.User
			toks Tokens
		)
		switch req.GrantType {
		case "password":
			email := req.Username
			if email == "" {
				email = req.Email
			}
			if err := credentialFields(email, req.Password, "username"); err != nil {
				WriteOAuthError(c, models.Errorf(models.BadRequest, "username and password are required"))
				return
			}
			if u, err = creds.Check(c, email, req.Password); err == nil {
				if sess, toks, err = sessions.Start(c, u, false); err == nil {
					sessions.Record(c, models.EventLoginSucceeded, &u.ID, &sess.ID, u.Email, "token")
				}
			}
		case "refresh_token":
			if req.RefreshToken == "" {
				WriteOAuthError(c, models.Errorf(models.BadRequest, "refresh_token is required"))
				return
			}
			sess, u, toks, err = sessions.Refresh(c, req.RefreshToken)
		case "":
			err = models.Errorf(models.BadRequest, "grant_type is required")
		default:
			err = &models.Error{Kind: models.BadRequest, Code: "unsupported_grant_type", Message: "grant_type must be password or refresh_token"}
		}
		if err != nil {
			WriteOAuthError(c, err)
			return
		}
		c.Header("Pragma", "no-cache")
		c.JSON(http.StatusOK, TokenResponse{
			AccessToken: toks.Access, TokenType: "Bearer", RefreshToken: toks.Refresh, User: userView(u),
			ExpiresIn: int64(sessions.Lifetimes.Access / time.Second),
		})
	}
}

// Introspect answers RFC 7662 token introspection for authenticated clients.
//
//	@Summary	Introspect an access token (RFC 7662)
//	@Description	HTTP Basic with an AUTH_INTROSPECT_CLIENTS entry. Answers active:false, without saying why, for anything but a live access token.
//	@Tags		services
//	@Accept		x-www-form-urlencoded,json
//	@Produce	json
//	@Security	IntrospectBasic
//	@Param		body	body		IntrospectRequest	true	"the token"
//	@Success	200		{object}	IntrospectResponse
//	@Failure	400		{object}	OAuthError	"invalid_request"
//	@Failure	401		{object}	OAuthError	"invalid_client"
//	@Failure	413		{object}	OAuthError	"invalid_request"
//	@Failure	415		{object}	OAuthError	"invalid_request"
//	@Failure	503		{object}	OAuthError	"temporarily_unavailable"
//	@Router		/auth/introspect [post]
func Introspect(clients map[string]string, sessions *Sessions) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !clientAuthenticated(c, clients) {
			WriteOAuthError(c, &models.Error{Kind: models.Unauthenticated, Code: "invalid_client", Message: "client authentication failed"})
			return
		}
		var req IntrospectRequest
		err := decodeOAuth(c, &req, func(v url.Values) {
			req = IntrospectRequest{Token: v.Get("token"), TokenTypeHint: v.Get("token_type_hint")}
		})
		if err != nil {
			WriteOAuthError(c, err)
			return
		}
		if req.Token == "" {
			WriteOAuthError(c, models.Errorf(models.BadRequest, "token is required"))
			return
		}
		p, err := sessions.Authenticate(c.Request.Context(), req.Token)
		switch {
		case models.IsKind(err, models.Unauthenticated):
			c.JSON(http.StatusOK, IntrospectResponse{Active: false})
			return
		case err != nil:
			WriteOAuthError(c, err)
			return
		}
		c.JSON(http.StatusOK, IntrospectResponse{
			Active: true, Sub: p.User.ID, Sid: p.Session.ID, Role: string(p.User.Role), Email: p.User.Email,
			Exp: p.Claims.Expiry, Iat: p.Claims.IssuedAt,
		})
	}
}

// clientAuthenticated checks HTTP Basic credentials in constant time, doing
// the same work for unknown client names.
func clientAuthenticated(c *gin.Context, clients map[string]string) bool {
	id, secret, ok := c.Request.BasicAuth()
	if !ok {
		return false
	}
	want, known := clients[id]
	got, exp := sha256.Sum256([]byte(secret)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(got[:], exp[:]) == 1 && known
}
