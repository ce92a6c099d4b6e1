package handlers

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/token"
)

// UserStore is what the account handlers need from the store.
type UserStore interface {
	CreateUser(ctx context.Context, u *models.User) error
	UserByEmail(ctx context.Context, email string) (models.User, error)
	UpdateUserName(ctx context.Context, id, name string, now time.Time) (models.User, error)
	SetPasswordHash(ctx context.Context, id, hash string, now time.Time) error
}

var errInvalidCredentials = &models.Error{Kind: models.Unauthenticated, Code: "invalid_credentials", Message: "the email or password is incorrect"}

// Register creates an account and signs it in.
//
//	@Summary	Create an account and sign in
//	@Tags		auth
//	@Accept		json
//	@Produce	json
//	@Param		body	body		RegisterRequest	true	"new account"
//	@Success	201		{object}	AuthResponse	"session cookies are set"
//	@Header		201		{string}	Set-Cookie		"__Host-session (access token) and __Secure-refresh (refresh token, Path=/auth); HttpOnly; Secure; SameSite=Lax"
//	@Failure	400		{object}	ErrorResponse	"bad_request"
//	@Failure	403		{object}	ErrorResponse	"csrf_failed"
//	@Failure	409		{object}	ErrorResponse	"email_taken"
//	@Failure	413		{object}	ErrorResponse	"payload_too_large"
//	@Failure	415		{object}	ErrorResponse	"unsupported_media_type"
//	@Failure	422		{object}	ErrorResponse	"validation_failed"
//	@Failure	429		{object}	ErrorResponse	"rate_limited"
//	@Failure	503		{object}	ErrorResponse	"unavailable"
//	@Router		/auth/register [post]
func Register(users UserStore, hasher PasswordHasher, sessions *Sessions) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req RegisterRequest
		if err := DecodeJSON(c, &req); err != nil {
			WriteError(c, err)
			return
		}
		email, name := models.NormalizeEmail(req.Email), models.NormalizeName(req.Name)
		fields := models.FieldErrors{}
		if p := models.EmailProblem(email); p != "" {
			fields.Add("email", p)
		}
		if p := models.NameProblem(name); p != "" {
			fields.Add("name", p)
		}
		if p := PasswordProblem(req.Password, email, name); p != "" {
			fields.Add("password", p)
		}
		if err := fields.Err(); err != nil {
			WriteError(c, err)
			return
		}
		ctx := c.Request.Context()
		hash, err := hasher.Hash(ctx, req.Password)
		if err != nil {
			WriteError(c, hashErr(err))
			return
		}
		now := sessions.Now()
		u := models.User{Email: email, Name: name, PasswordHash: hash, Role: models.RoleUser, CreatedAt: now, UpdatedAt: now}
		if err := users.CreateUser(ctx, &u); err != nil {
			if models.IsKind(err, models.Conflict) {
				err = &models.Error{Kind: models.Conflict, Code: "email_taken", Message: "an account with this email already exists"}
			}
			WriteError(c, err)
			return
		}
		sess, toks, err := sessions.Start(c, u, false)
		if err != nil {
			WriteError(c, err)
			return
		}
		sessions.Record(c, models.EventRegister, &u.ID, &sess.ID, u.Email, "")
		sessions.SetCookies(c, sess, toks)
		c.JSON(http.StatusCreated, AuthResponse{User: userView(u), Session: sessionView(sess, toks.AccessExpires)})
	}
}

// Credentials checks email and password pairs for login and the password grant.
type Credentials struct {
	Users    UserStore
	Hasher   PasswordHasher
	Sessions *Sessions
	Lockout  Lockout
}

// Check returns the user whose email and password these are. Unknown emails
// cost the same as wrong passwords and get the same error; a locked email
// gets 429 even with the right password.
func (cr *Credentials) Check(c *gin.Context, email, password string) (models.User, error) {
	ctx := c.Request.Context()
	email = models.NormalizeEmail(email)
	lockKey := "email:" + email
	if wait, err := cr.Lockout.Locked(ctx, lockKey); err != nil {
		Logger(c).Warn("lockout store unavailable", "error", err.Error())
	} else if wait > 0 {
		cr.Sessions.Metrics.Login(LoginLocked)
		return models.User{}, RateLimited(wait)
	}
	u, err := cr.Users.UserByEmail(ctx, email)
	if err != nil && !models.IsKind(err, models.NotFound) {
		return models.User{}, err
	}
	ok, rehash, err := cr.Hasher.Verify(ctx, password, u.PasswordHash)
	if err != nil {
		return models.User{}, hashErr(err)
	}
	if !ok || u.Disabled() {
		var uid *string
		if u.ID != "" {
			uid = &u.ID
		}
		cr.Sessions.Metrics.Login(LoginInvalidCredentials)
		safeEmail := models.Sanitize(email, models.MaxEmailLength)
		cr.Sessions.Record(c, models.EventLoginFailed, uid, nil, safeEmail, "")
		locked, err := cr.Lockout.Fail(ctx, lockKey)
		if err != nil {
			Logger(c).Warn("lockout store unavailable", "error", err.Error())
		} else if locked {
			cr.Sessions.Record(c, models.EventLockout, uid, nil, safeEmail, "")
		}
		return models.User{}, errInvalidCredentials
	}
	cr.Sessions.Metrics.Login(LoginSuccess)
	if err := cr.Lockout.Reset(ctx, lockKey); err != nil {
		Logger(c).Warn("lockout store unavailable", "error", err.Error())
	}
	if rehash {
		if h, err := cr.Hasher.Hash(ctx, password); err == nil {
			if err := cr.Users.SetPasswordHash(ctx, u.ID, h, cr.Sessions.Now()); err != nil {
				Logger(c).Warn("password hash upgrade failed", "error", err.Error())
			}
		}
	}
	return u, nil
}

// Login signs a user in with email and password.
//
//	@Summary	Sign in
//	@Tags		auth
//	@Accept		json
//	@Produce	json
//	@Param		body	body		LoginRequest	true	"credentials"
//	@Success	200		{object}	AuthResponse	"session cookies are set"
//	@Header		200		{string}	Set-Cookie		"__Host-session (access token) and __Secure-refresh (refresh token, Path=/auth); HttpOnly; Secure; SameSite=Lax"
//	@Failure	400		{object}	ErrorResponse	"bad_request"
//	@Failure	401		{object}	ErrorResponse	"invalid_credentials"
//	@Failure	403		{object}	ErrorResponse	"csrf_failed"
//	@Failure	413		{object}	ErrorResponse	"payload_too_large"
//	@Failure	415		{object}	ErrorResponse	"unsupported_media_type"
//	@Failure	422		{object}	ErrorResponse	"validation_failed"
//	@Failure	429		{object}	ErrorResponse	"rate_limited"
//	@Failure	503		{object}	ErrorResponse	"unavailable"
//	@Router		/auth/login [post]
func Login(creds *Credentials) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req LoginRequest
		if err := DecodeJSON(c, &req); err != nil {
			WriteError(c, err)
			return
		}
		if err := credentialFields(req.Email, req.Password, "email"); err != nil {
			WriteError(c, err)
			return
		}
		u, err := creds.Check(c, req.Email, req.Password)
		if err != nil {
			WriteError(c, err)
			return
		}
		sess, toks, err := creds.Sessions.Start(c, u, req.RememberMe)
		if err != nil {
			WriteError(c, err)
			return
		}
		creds.Sessions.Record(c, models.EventLoginSucceeded, &u.ID, &sess.ID, u.Email, "")
		creds.Sessions.SetCookies(c, sess, toks)
		c.JSON(http.StatusOK, AuthResponse{User: userView(u), Session: sessionView(sess, toks.AccessExpires)})
	}
}

// credentialFields checks that login fields are present and bounded, before
// any hashing.
func credentialFields(email, password, emailField string) error {
	fields := models.FieldErrors{}
	switch {
	case strings.TrimSpace(email) == "":
		fields.Add(emailField, "is required")
	case len(email) > 4*models.MaxEmailLength:
		fields.Add(emailField, "must be at most 254 characters")
	case models.HasControl(email):
		// Such a string never reaches the database (PostgreSQL refuses NUL).
		fields.Add(emailField, "must not contain control characters")
	}
	if password == "" {
		fields.Add("password", "is required")
	} else if len(password) > models.MaxPasswordBytes {
		fields.Add("password", "must be at most 256 characters")
	}
	return fields.Err()
}

// Me returns the caller and their session.
//
//	@Summary	The signed-in user and session
//	@Tags		auth
//	@Produce	json
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Success	200	{object}	AuthResponse
//	@Failure	401	{object}	ErrorResponse	"unauthenticated or token_expired (call /auth/refresh)"
//	@Failure	503	{object}	ErrorResponse	"unavailable"
//	@Router		/auth/me [get]
func Me() gin.HandlerFunc {
	return func(c *gin.Context) {
		p := CurrentPrincipal(c)
		c.JSON(http.StatusOK, AuthResponse{User: userView(p.User), Session: sessionView(p.Session, p.Claims.ExpiresAt())})
	}
}

// UpdateMe changes the caller's display name.
//
//	@Summary	Update the signed-in user's profile
//	@Tags		auth
//	@Accept		json
//	@Produce	json
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		body	body		UpdateMeRequest	true	"new profile fields"
//	@Success	200		{object}	UserResponse
//	@Failure	400		{object}	ErrorResponse	"bad_request"
//	@Failure	401		{object}	ErrorResponse	"unauthenticated or token_expired"
//	@Failure	403		{object}	ErrorResponse	"csrf_failed"
//	@Failure	413		{object}	ErrorResponse	"payload_too_large"
//	@Failure	415		{object}	ErrorResponse	"unsupported_media_type"
//	@Failure	422		{object}	ErrorResponse	"validation_failed"
//	@Failure	503		{object}	ErrorResponse	"unavailable"
//	@Router		/auth/me [patch]
func UpdateMe(users UserStore, now func() time.Time) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req UpdateMeRequest
		if err := DecodeJSON(c, &req); err != nil {
			WriteError(c, err)
			return
		}
		fields := models.FieldErrors{}
		var name string
		if req.Name == nil {
			fields.Add("name", "is required")
		} else if name = models.NormalizeName(*req.Name); models.NameProblem(name) != "" {
			fields.Add("name", models.NameProblem(name))
		}
		if err := fields.Err(); err != nil {
			WriteError(c, err)
			return
		}
		u, err := users.UpdateUserName(c.Request.Context(), CurrentPrincipal(c).User.ID, name, now())
		if err != nil {
			WriteError(c, err)
			return
		}
		c.JSON(http.StatusOK, UserResponse{User: userView(u)})
	}
}

// Refresh rotates the refresh cookie and issues new session cookies.
//
//	@Summary	Rotate the session cookies
//	@Description	Reads the refresh cookie (path /auth). Call it when a request answers 401 token_expired.
//	@Tags		auth
//	@Produce	json
//	@Success	200	{object}	AuthResponse	"rotated cookies are set"
//	@Header		200	{string}	Set-Cookie		"rotated __Host-session and __Secure-refresh"
//	@Failure	401	{object}	ErrorResponse	"invalid_refresh (both cookies are cleared)"
//	@Failure	403	{object}	ErrorResponse	"csrf_failed"
//	@Failure	503	{object}	ErrorResponse	"unavailable"
//	@Router		/auth/refresh [post]
func Refresh(sessions *Sessions) gin.HandlerFunc {
	return func(c *gin.Context) {
		token, _ := cookieValue(c, sessions.Cookies.RefreshName())
		sess, u, toks, err := sessions.Refresh(c, token)
		if err != nil {
			if models.IsKind(err, models.Unauthenticated) {
				sessions.ClearCookies(c)
			}
			WriteError(c, err)
			return
		}
		sessions.SetCookies(c, sess, toks)
		c.JSON(http.StatusOK, AuthResponse{User: userView(u), Session: sessionView(sess, toks.AccessExpires)})
	}
}

// Logout ends the caller's session, other sessions, or all of them.
//
//	@Summary	Sign out
//	@Description	scope=local (default) ends this session, others ends every other session, global ends all. Always 204, even without a session.
//	@Tags		auth
//	@Param		scope	query	string	false	"which sessions to end"	Enums(local, others, global)
//	@Success	204	"cookies cleared for local and global"
//	@Header		204	{string}	Set-Cookie	"__Host-session and __Secure-refresh with Max-Age=0 (local and global)"
//	@Failure	400	{object}	ErrorResponse	"bad_request"
//	@Failure	403	{object}	ErrorResponse	"csrf_failed"
//	@Failure	503	{object}	ErrorResponse	"unavailable"
//	@Router		/auth/logout [post]
func Logout(sessions *Sessions) gin.HandlerFunc {
	return func(c *gin.Context) {
		scope := c.DefaultQuery("scope", "local")
		if scope != "local" && scope != "others" && scope != "global" {
			WriteError(c, models.Errorf(models.BadRequest, "scope must be local, others or global"))
			return
		}
		sess, ok := sessions.identify(c)
		if ok {
			ctx, now := c.Request.Context(), sessions.Now()
			var (
				n   int64
				err error
			)
			switch scope {
			case "local":
				var ok bool
				if ok, err = sessions.Store.RevokeSession(ctx, sess.ID, now); ok {
					n = 1
				}
			case "others":
				n, err = sessions.Store.RevokeUserSessions(ctx, sess.UserID, sess.ID, now)
			case "global":
				n, err = sessions.Store.RevokeUserSessions(ctx, sess.UserID, "", now)
			}
			if err != nil {
				WriteError(c, err)
				return
			}
			sessions.Metrics.Revoked("logout", n)
			sessions.Record(c, models.EventLogout, &sess.UserID, &sess.ID, "", scope)
		}
		if scope != "others" {
			sessions.ClearCookies(c)
		}
		c.Status(http.StatusNoContent)
	}
}

// identify finds the caller's live session for logout: from the access token
// even if it has just expired, else from the refresh cookie.
func (s *Sessions) identify(c *gin.Context) (models.Session, bool) {
	ctx, now := c.Request.Context(), s.Now()
	var claims token.Claims
	var err error
	if tok, _ := BearerOrCookie(c, s.Cookies.AccessName()); tok != "" {
		claims, err = s.Keys.OpenIgnoringExpiry(tok, token.TypeAccess)
	} else {
		tok, _ := cookieValue(c, s.Cookies.RefreshName())
		claims, err = s.Keys.OpenIgnoringExpiry(tok, token.TypeRefresh)
	}
	if err != nil {
		return models.Session{}, false
	}
	sess, _, err := s.Store.SessionWithUser(ctx, claims.SessionID)
	if err != nil || !sess.Live(now) || (claims.Subject != "" && claims.Subject != sess.UserID) {
		return models.Session{}, false
	}
	return sess, true
}

// BearerOrCookie returns the access token of a request. An Authorization
// header takes precedence over the cookie and is then the only credential
// looked at, so a request never mixes two identities. fromHeader reports
// whether an Authorization header was present.
func BearerOrCookie(c *gin.Context, cookieName string) (token string, fromHeader bool) {
	if h := c.GetHeader("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return "", true
		}
		return strings.TrimSpace(tok), true
	}
	tok, _ := cookieValue(c, cookieName)
	return tok, false
}

// SetPrincipal stores the authenticated caller.
func SetPrincipal(c *gin.Context, p *Principal) {
	if r := requestOf(c); r != nil {
		r.Principal = p
		return
	}
	StartRequest(c, "", nil).Principal = p
}

// CurrentPrincipal returns the authenticated caller, or nil on a route
// without the authentication middleware.
func CurrentPrincipal(c *gin.Context) *Principal {
	if r := requestOf(c); r != nil {
		return r.Principal
	}
	return nil
}

// cookieValue returns a cookie's raw value. Unlike gin's Context.Cookie it
// does not URL-unescape it: tokens are base64url and never escaped.
func cookieValue(c *gin.Context, name string) (string, error) {
	ck, err := c.Request.Cookie(name)
	if err != nil {
		return "", err
	}
	return ck.Value, nil
}
