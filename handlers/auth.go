package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/token"
)

// Register creates an account and signs it in.
//
//	@Summary	Create an account and sign in
//	@ID		register
//	@Description	Creates a user account with the `user` role and signs it in: the answer sets the access cookie (`__Host-session`) and the refresh cookie (`__Secure-refresh`, path /auth). The password must be 8–256 characters and not a common one; every field problem is reported together (422). With AUTH_EMAIL_VERIFICATION=optional (the default) a verification link is mailed. With `required`, nobody is signed in: the answer is 202 for a new address and for one that has an account alike (its owner is mailed instead), and the user signs in after following the link.
//	@Tags		auth
//	@Param		X-Captcha-Token	header		string	false	"the CAPTCHA widget's token, when GET /auth/settings lists this action under signUp.captcha.on"
//	@Param		body	body		RegisterRequest	true	"new account"
//	@Success	201		{object}	AuthResponse	"session cookies are set"
//	@Success	202		{object}	AcceptedResponse	"AUTH_EMAIL_VERIFICATION=required: a link is mailed; no cookie"
//	@Header		201		{string}	Set-Cookie		"__Host-session (access token) and __Secure-refresh (refresh token, Path=/auth); HttpOnly; Secure; SameSite=Lax"
//	@Failure	409		{object}	ErrorResponse	"email_taken"
//	@Failure	422		{object}	ErrorResponse	"validation_failed, or email_domain_not_allowed (fields.email)"
//	@Failure	429		{object}	ErrorResponse	"rate_limited"
//	@Failure	400		{object}	ErrorResponse	"captcha_failed (X-Captcha-Token missing or rejected), or bad_request: the body is not valid JSON of the right types"
//	@Failure	403		{object}	ErrorResponse	"signup_denied (the before-create hook refused, with its message), or csrf_failed: a cross-origin request from an origin not in AUTH_ALLOWED_ORIGINS"
//	@Failure	503		{object}	ErrorResponse	"captcha_unavailable or hook_unavailable (AUTH_CAPTCHA_FAIL / AUTH_HOOK_FAIL=closed; Retry-After: 5), or unavailable"
//	@Router		/auth/register [post]
func Register(svc *auth.Service, ck Cookies) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decode[RegisterRequest](c)
		if !ok {
			return
		}
		res, accepted, err := svc.Register(c.Request.Context(), client(c), req.Email, req.Password, req.Name)
		if err != nil {
			WriteError(c, err)
			return
		}
		if accepted {
			c.JSON(http.StatusAccepted, accepted202)
			return
		}
		ck.Set(c, res)
		c.JSON(http.StatusCreated, authResponse(res))
	}
}

// Login signs a user in with email and password.
//
//	@Summary	Sign in
//	@ID		login
//	@Description	Checks the email and password and starts a session, setting both cookies. Wrong email and wrong password give the same 401. Failed attempts lock the (email, client address) pair after AUTH_LOCKOUT_THRESHOLD, and the email everywhere after AUTH_LOCKOUT_GLOBAL_THRESHOLD: 429 with Retry-After, even for the right password.
//	@Tags		auth
//	@Param		X-Captcha-Token	header		string	false	"the CAPTCHA widget's token, when GET /auth/settings lists this action under signUp.captcha.on"
//	@Param		body	body		LoginRequest	true	"credentials"
//	@Success	200		{object}	SignInResponse	"user and session, with the session cookies set; or, for a user with a second factor, mfaRequired with an mfaToken for POST /auth/mfa/verify (no cookie)"
//	@Header		200		{string}	Set-Cookie		"__Host-session (access token) and __Secure-refresh (refresh token, Path=/auth); HttpOnly; Secure; SameSite=Lax"
//	@Failure	401		{object}	ErrorResponse	"invalid_credentials"
//	@Failure	403		{object}	ErrorResponse	"csrf_failed, or email_not_verified (AUTH_EMAIL_VERIFICATION=required, after a right password)"
//	@Failure	422		{object}	ErrorResponse	"validation_failed"
//	@Failure	429		{object}	ErrorResponse	"rate_limited"
//	@Failure	503		{object}	ErrorResponse	"captcha_unavailable (Retry-After: 5), or unavailable"
//	@Failure	400		{object}	ErrorResponse	"captcha_failed (X-Captcha-Token missing or rejected), or bad_request: the body is not valid JSON of the right types"
//	@Router		/auth/login [post]
func Login(svc *auth.Service, ck Cookies) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decode[LoginRequest](c)
		if !ok {
			return
		}
		in, err := svc.Login(c.Request.Context(), client(c), req.Email, req.Password, auth.LoginOptions{Remember: req.RememberMe})
		signInAnswer(c, ck, in, err)
	}
}

// Me returns the caller and their session.
//
//	@Summary	The signed-in user and session
//	@ID		getMe
//	@Description	The signed-in user and the current session, from the access cookie or a bearer token. On 401 token_expired, call POST /auth/refresh once and retry.
//	@Tags		auth
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Success	200	{object}	AuthResponse
//	@Failure	401	{object}	ErrorResponse	"unauthenticated or token_expired (call /auth/refresh)"
//	@Router		/auth/me [get]
func Me() gin.HandlerFunc {
	return func(c *gin.Context) {
		p := CurrentPrincipal(c)
		writeAuthResponse(c, http.StatusOK, AuthResponse{User: userView(p.User), Session: sessionView(p.Session, p.Claims.ExpiresAt())})
	}
}

// UpdateMe changes the caller's display name.
//
//	@Summary	Update the signed-in user's profile
//	@ID		updateMe
//	@Description	A partial update: absent fields keep their value (an empty body changes nothing). metadata is a JSON merge patch (RFC 7396: keys merge, null removes one) of the user's own metadata; the result must be an object of at most 4 KiB serialised and 5 levels deep (422). email, role and password are refused with 422 naming the field and where it is changed.
//	@Tags		auth
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		body	body		UpdateMeRequest	true	"new profile fields"
//	@Success	200		{object}	UserResponse
//	@Failure	422		{object}	ErrorResponse	"validation_failed: fields.name, fields.metadata (not an object, over 4 KiB or 5 levels), or fields.email/role/password (changed elsewhere)"
//	@Router		/auth/me [patch]
func UpdateMe(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decode[UpdateMeRequest](c)
		if !ok {
			return
		}
		u, err := svc.UpdateProfile(c.Request.Context(), client(c), CurrentPrincipal(c), auth.ProfileChange{
			Name: req.Name, Email: req.Email != nil, Role: req.Role != nil, Password: req.Password != nil, Metadata: req.Metadata,
		})
		reply(c, http.StatusOK, UserResponse{User: userView(u)}, err)
	}
}

// Refresh rotates the refresh cookie and issues new session cookies.
//
//	@Summary	Rotate the session cookies
//	@ID		refresh
//	@Description	Reads the refresh cookie (path /auth). Call it when a request answers 401 token_expired.
//	@Tags		auth
//	@Success	200	{object}	AuthResponse	"rotated cookies are set"
//	@Header		200	{string}	Set-Cookie		"rotated __Host-session and __Secure-refresh"
//	@Failure	401	{object}	ErrorResponse	"invalid_refresh (both cookies are cleared)"
//	@Router		/auth/refresh [post]
func Refresh(svc *auth.Service, ck Cookies) gin.HandlerFunc {
	return func(c *gin.Context) {
		res, err := svc.Refresh(c.Request.Context(), client(c), ck.Refresh(c))
		if err != nil {
			if models.IsKind(err, models.Unauthenticated) {
				ck.Clear(c)
			}
			WriteError(c, err)
			return
		}
		ck.Set(c, res)
		writeAuthResponse(c, http.StatusOK, authResponse(res))
	}
}

// Logout ends the caller's session, other sessions, or all of them.
//
//	@Summary	Sign out
//	@ID		logout
//	@Description	scope=local (default) ends this session, others ends every other session, global ends all. 204 even without a session; others and global need a live access token (401 token_expired with an expired one or only the refresh cookie, and nothing is revoked).
//	@Tags		auth
//	@Param		scope	query	string	false	"which sessions to end"	Enums(local, others, global)
//	@Success	204	"cookies cleared for local and global (not when the request carries an Authorization header)"
//	@Header		204	{string}	Set-Cookie	"__Host-session and __Secure-refresh with Max-Age=0 (local and global)"
//	@Failure	400	{object}	ErrorResponse	"bad_request"
//	@Failure	401	{object}	ErrorResponse	"token_expired: others and global need a live access token"
//	@Router		/auth/logout [post]
func Logout(svc *auth.Service, ck Cookies) gin.HandlerFunc {
	return func(c *gin.Context) {
		scope, err := auth.ParseScope(c.DefaultQuery("scope", string(auth.ScopeLocal)))
		if err != nil {
			WriteError(c, err)
			return
		}
		// A request with an Authorization header acts on that token's session
		// and touches no cookie, read or written.
		access, fromHeader := token.FromRequest(c.Request, ck.Config.AccessName())
		refresh := ""
		if !fromHeader && access == "" {
			refresh = ck.Refresh(c)
		}
		if err := svc.Logout(c.Request.Context(), client(c), access, refresh, scope); err != nil {
			WriteAuthError(c, err, fromHeader)
			return
		}
		if !fromHeader && scope != auth.ScopeOthers {
			ck.Clear(c)
		}
		c.Status(http.StatusNoContent)
	}
}

// SetPrincipal stores the authenticated caller.
func SetPrincipal(c *gin.Context, p *auth.Principal) {
	if r := requestOf(c); r != nil {
		r.Principal = p
		return
	}
	StartRequest(c, "", nil).Principal = p
}

// CurrentPrincipal returns the authenticated caller, or nil on a route
// without the authentication middleware.
func CurrentPrincipal(c *gin.Context) *auth.Principal {
	if r := requestOf(c); r != nil {
		return r.Principal
	}
	return nil
}
