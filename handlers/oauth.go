package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/models"
)

// OAuthError is the RFC 6749 §5.2 error shape used by /auth/token and
// /auth/introspect, since OAuth client libraries read it.
type OAuthError struct {
	Error            string `json:"error" example:"invalid_grant" validate:"required"`
	ErrorDescription string `json:"error_description,omitempty" example:"the email or password is incorrect"`
	// MFAToken comes with mfa_required: the second step, for grant_type=mfa_otp.
	MFAToken string `json:"mfa_token,omitempty"`
} //	@name	OAuthError

// TokenRequest is the body of /auth/token, as JSON or a form.
type TokenRequest struct {
	GrantType    string `json:"grant_type" form:"grant_type" enums:"password,refresh_token,mfa_otp" example:"password" validate:"required"`
	Username     string `json:"username" form:"username" example:"ada@example.com" format:"email" maxLength:"254"`
	Email        string `json:"email" form:"email" example:"ada@example.com" format:"email" maxLength:"254"`
	Password     string `json:"password" form:"password" example:"correct horse battery staple" format:"password" maxLength:"256"`
	RefreshToken string `json:"refresh_token" form:"refresh_token"`
	// For grant_type=mfa_otp: the mfa_token of a 403 mfa_required, and a
	// TOTP code or a recovery code.
	MFAToken     string `json:"mfa_token" form:"mfa_token"`
	OTP          string `json:"otp" form:"otp" example:"123456"`
	RecoveryCode string `json:"recovery_code" form:"recovery_code"`
} //	@name	TokenRequest

// TokenResponse is an OAuth 2 access token response.
type TokenResponse struct {
	AccessToken  string `json:"access_token" validate:"required"`
	TokenType    string `json:"token_type" example:"Bearer" validate:"required"`
	ExpiresIn    int64  `json:"expires_in" example:"900" validate:"required"`
	RefreshToken string `json:"refresh_token" validate:"required"`
	User         User   `json:"user" validate:"required"`
} //	@name	TokenResponse

// IntrospectRequest is the body of /auth/introspect.
type IntrospectRequest struct {
	Token         string `json:"token" form:"token" validate:"required" maxLength:"4096"`
	TokenTypeHint string `json:"token_type_hint" form:"token_type_hint"`
} //	@name	IntrospectRequest

// IntrospectResponse is an RFC 7662 answer; only active is set for an
// inactive token.
type IntrospectResponse struct {
	Active        bool   `json:"active" example:"true" validate:"required"`
	Sub           string `json:"sub,omitempty" example:"01935a4e-7c1d-7a8e-9b0f-3c2d1e0f4a5b" format:"uuid"`
	Sid           string `json:"sid,omitempty" example:"01935a4e-7c1d-7a8e-9b0f-3c2d1e0f4a5c" format:"uuid"`
	Role          string `json:"role,omitempty" example:"user"`
	EmailVerified *bool  `json:"email_verified,omitempty" example:"true"`
	Email         string `json:"email,omitempty" example:"ada@example.com" format:"email"`
	Exp           int64  `json:"exp,omitempty" example:"1795412345"`
	Iat           int64  `json:"iat,omitempty" example:"1795411445"`
	// Acr is the session's assurance level, aal1 or aal2; Amr how the user
	// signed in; AuthTime when they last proved who they are.
	Acr      string   `json:"acr,omitempty" enums:"aal1,aal2" example:"aal1"`
	Amr      []string `json:"amr,omitempty" example:"pwd"`
	AuthTime int64    `json:"auth_time,omitempty" example:"1795411445"`
	// AppMetadata is the user's app metadata, set by administrators.
	AppMetadata json.RawMessage `json:"app_metadata,omitempty" swaggertype:"object"`
} //	@name	IntrospectResponse

// WriteOAuthError writes err in the OAuth shape and aborts.
func WriteOAuthError(c *gin.Context, err error) {
	status, code := Status(err)
	oauth := models.CodeInvalidRequest
	switch {
	case status == http.StatusTooManyRequests:
		oauth = models.CodeSlowDown
	case status == http.StatusServiceUnavailable:
		oauth = models.CodeTemporarilyUnavailable
	case status >= 500:
		oauth = models.CodeServerError
	case code == models.CodeInvalidCredentials || code == models.CodeInvalidRefresh:
		oauth, status = models.CodeInvalidGrant, http.StatusBadRequest
	case code == models.CodeInvalidClient || code == models.CodeUnsupportedGrantType || code == models.CodeEmailNotVerified ||
		code == models.CodeInvalidCode || code == models.CodeInvalidMFAToken:
		oauth = code
	}
	body := OAuthError{Error: string(oauth)}
	switch e := clientError(c, status, err).(type) {
	case *models.Error:
		body.ErrorDescription = e.Message
	case *requestError:
		body.ErrorDescription = e.message
	}
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Basic realm="portcullis"`)
	}
	c.AbortWithStatusJSON(status, body)
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
	return errNotJSONOrForm
}

// Token issues bearer tokens for services (OAuth 2 password and refresh_token grants).
//
//	@Summary	Get bearer tokens
//	@ID		issueToken
//	@Description	grant_type=password with username (the email; email is accepted too) and password, or grant_type=refresh_token with refresh_token. JSON or form body. Sets no cookie. Refresh tokens rotate with the same reuse rules as the cookie flow. Unknown parameters are ignored (RFC 6749 §3.2); a missing one is 400 invalid_request and counts nothing.
//	@Tags		services
//	@Accept		json,x-www-form-urlencoded
//	@Param		body	body		TokenRequest	true	"grant"
//	@Success	200		{object}	TokenResponse
//	@Failure	400		{object}	OAuthError	"invalid_request, invalid_grant or unsupported_grant_type"
//	@Failure	401		{object}	OAuthError	"invalid_code or invalid_mfa_token (grant_type=mfa_otp)"
//	@Failure	403		{object}	OAuthError	"email_not_verified (AUTH_EMAIL_VERIFICATION=required, after a right password); mfa_required (with mfa_token: finish with grant_type=mfa_otp); invalid_request (a browser request from an origin not in AUTH_ALLOWED_ORIGINS)"
//	@Failure	429		{object}	OAuthError	"slow_down"
//	@Router		/auth/token [post]
func Token(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req TokenRequest
		err := decodeOAuth(c, &req, func(v url.Values) {
			req = TokenRequest{GrantType: v.Get("grant_type"), Username: v.Get("username"), Email: v.Get("email"),
				Password: v.Get("password"), RefreshToken: v.Get("refresh_token"),
				MFAToken: v.Get("mfa_token"), OTP: v.Get("otp"), RecoveryCode: v.Get("recovery_code")}
		})
		if err != nil {
			WriteOAuthError(c, err)
			return
		}
		ctx := c.Request.Context()
		var res auth.Result
		switch req.GrantType {
		case "password":
			email := req.Username
			if email == "" {
				email = req.Email
			}
			var in auth.SignIn
			in, err = svc.Login(ctx, client(c), email, req.Password, auth.LoginOptions{Grant: true})
			if models.IsKind(err, models.Invalid) {
				err = models.Errorf(models.BadRequest, "username and password are required")
			}
			if err == nil && in.MFA != nil {
				c.JSON(http.StatusForbidden, OAuthError{Error: string(models.CodeMFARequired), MFAToken: in.MFA.Token,
					ErrorDescription: "a second factor is required: use grant_type=mfa_otp with mfa_token and otp or recovery_code"})
				return
			}
			res = in.Result
		case "mfa_otp":
			// A missing parameter is the request's fault, not a wrong code:
			// it reaches no check and counts nothing.
			switch {
			case req.MFAToken == "":
				err = models.Errorf(models.BadRequest, "mfa_token is required")
			case (req.OTP == "") == (req.RecoveryCode == ""):
				err = models.Errorf(models.BadRequest, "exactly one of otp and recovery_code is required")
			default:
				res, err = svc.VerifyMFA(ctx, client(c), req.MFAToken, req.OTP, req.RecoveryCode)
				if models.IsKind(err, models.Invalid) {
					err = models.Errorf(models.BadRequest, "otp must be 6 digits; recovery_code 10 letters and digits")
				}
			}
		case "refresh_token":
			if req.RefreshToken == "" {
				WriteOAuthError(c, models.Errorf(models.BadRequest, "refresh_token is required"))
				return
			}
			res, err = svc.Refresh(ctx, client(c), req.RefreshToken)
		case "":
			err = models.Errorf(models.BadRequest, "grant_type is required")
		default:
			err = errUnsupportedGrant
		}
		if err != nil {
			WriteOAuthError(c, err)
			return
		}
		c.Header("Pragma", "no-cache")
		c.JSON(http.StatusOK, TokenResponse{
			AccessToken: res.Tokens.Access, TokenType: "Bearer", RefreshToken: res.Tokens.Refresh, User: userView(res.User),
			ExpiresIn: int64(svc.Lifetimes().Access / time.Second),
		})
	}
}

// Introspect answers RFC 7662 token introspection for authenticated clients.
//
//	@Summary	Introspect an access token (RFC 7662)
//	@ID		introspectToken
//	@Description	HTTP Basic with an AUTH_INTROSPECT_CLIENTS entry. Answers active:false, without saying why, for anything but a live access token. Unknown parameters are ignored; a missing token is 400 invalid_request.
//	@Tags		services
//	@Accept		x-www-form-urlencoded,json
//	@Security	IntrospectBasic
//	@Param		body	body		IntrospectRequest	true	"the token"
//	@Success	200		{object}	IntrospectResponse
//	@Failure	400		{object}	OAuthError	"invalid_request"
//	@Failure	401		{object}	OAuthError	"invalid_client"
//	@Failure	403		{object}	OAuthError	"invalid_request (a browser request from an origin not in AUTH_ALLOWED_ORIGINS)"
//	@Failure	429		{object}	OAuthError	"slow_down: too many failed client authentications from this address"
//	@Router		/auth/introspect [post]
func Introspect(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, secret, ok := c.Request.BasicAuth()
		if err := svc.AuthenticateClient(c.Request.Context(), client(c), id, secret, ok); err != nil {
			WriteOAuthError(c, err)
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
		p, err := svc.Authenticate(c.Request.Context(), req.Token)
		switch {
		case models.IsKind(err, models.Unauthenticated):
			c.JSON(http.StatusOK, IntrospectResponse{Active: false})
			return
		case err != nil:
			WriteOAuthError(c, err)
			return
		}
		c.JSON(http.StatusOK, IntrospectResponse{
			Active: true, Sub: p.User.ID, Sid: p.Session.ID, Role: string(p.User.Role), Email: p.User.Email, EmailVerified: &p.User.EmailVerified,
			Exp: p.Claims.Expiry, Iat: p.Claims.IssuedAt,
			Acr: fmt.Sprintf("aal%d", p.Session.AAL), Amr: p.Session.Methods(), AuthTime: p.Session.AuthTime.Unix(),
			AppMetadata: models.MetadataJSON(p.User.AppMetadata),
		})
	}
}
