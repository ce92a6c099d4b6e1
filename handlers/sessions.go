package handlers

import (
	"context"
	"errors"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/token"
)

// SessionStore is what session handling needs from the store.
type SessionStore interface {
	CreateSession(ctx context.Context, s *models.Session) error
	SessionWithUser(ctx context.Context, id string) (models.Session, models.User, error)
	ReadSessionWithUser(ctx context.Context, id string) (models.Session, models.User, error)
	RotateRefresh(ctx context.Context, id string, gen int64, now, expiresAt time.Time) (bool, error)
	RevokeSession(ctx context.Context, id string, now time.Time) (bool, error)
	RevokeUserSessions(ctx context.Context, userID, except string, now time.Time) (int64, error)
	TouchSession(ctx context.Context, id string, now time.Time) error
}

// Auditor records audit events.
type Auditor interface {
	RecordEvent(ctx context.Context, e *models.AuditEvent) error
}

// Lifetimes are the configured token and session lifetimes.
type Lifetimes struct {
	Access        time.Duration
	Session       time.Duration
	Remember      time.Duration
	MaxAge        time.Duration
	ReuseInterval time.Duration
}

// Sessions starts, authenticates, refreshes and ends sessions, and issues the
// tokens and cookies that carry them.
type Sessions struct {
	Store     SessionStore
	Audit     Auditor
	Keys      *token.KeyRing
	Cookies   token.CookieConfig
	Lifetimes Lifetimes
	Now       func() time.Time
	Metrics   *Metrics
}

// Tokens are a freshly issued access and refresh token pair.
type Tokens struct {
	Access        string
	Refresh       string
	AccessExpires time.Time
}

// lastSeenGranularity bounds how often last_seen_at is written.
const lastSeenGranularity = time.Minute

// Errors clients act on.
var (
	errUnauthenticated = &models.Error{Kind: models.Unauthenticated, Code: "unauthenticated", Message: "sign in to continue"}
	errTokenExpired    = &models.Error{Kind: models.Unauthenticated, Code: "token_expired", Message: "the access token has expired; call /auth/refresh"}
	errInvalidRefresh  = &models.Error{Kind: models.Unauthenticated, Code: "invalid_refresh", Message: "the refresh token is invalid, expired or already used; sign in again"}
)

// Start creates a session for u and issues its tokens.
func (s *Sessions) Start(c *gin.Context, u models.User, remember bool) (models.Session, Tokens, error) {
	now := s.Now()
	lifetime := s.Lifetimes.Session
	if remember {
		lifetime = s.Lifetimes.Remember
	}
	sess := models.Session{
		UserID:     u.ID,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(lifetime),
		RotatedAt:  now,
		Remember:   remember,
		UserAgent:  models.Sanitize(c.Request.UserAgent(), 512),
		IP:         c.ClientIP(),
	}
	if err := s.Store.CreateSession(c.Request.Context(), &sess); err != nil {
		return models.Session{}, Tokens{}, err
	}
	toks, err := s.issue(sess, u, now)
	return sess, toks, err
}

func (s *Sessions) issue(sess models.Session, u models.User, now time.Time) (Tokens, error) {
	accessExp := now.Add(s.Lifetimes.Access)
	access, err := s.Keys.Seal(token.Claims{
		Type: token.TypeAccess, SessionID: sess.ID, Subject: u.ID, Role: string(u.Role),
		IssuedAt: now.Unix(), Expiry: accessExp.Unix(),
	})
	if err != nil {
		return Tokens{}, err
	}
	refresh, err := s.Keys.Seal(token.Claims{
		Type: token.TypeRefresh, SessionID: sess.ID, Gen: sess.RefreshGen,
		IssuedAt: now.Unix(), Expiry: sess.ExpiresAt.Unix(),
	})
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{Access: access, Refresh: refresh, AccessExpires: time.Unix(accessExp.Unix(), 0).UTC()}, nil
}

// SetCookies sets the access and refresh cookies for a session.
func (s *Sessions) SetCookies(c *gin.Context, sess models.Session, t Tokens) {
	now := s.Now()
	h := c.Writer.Header()
	h.Add("Set-Cookie", s.Cookies.Access(t.Access, s.Lifetimes.Access).String())
	h.Add("Set-Cookie", s.Cookies.Refresh(t.Refresh, sess.ExpiresAt.Sub(now)).String())
}

// ClearCookies deletes both cookies.
func (s *Sessions) ClearCookies(c *gin.Context) {
	for _, ck := range s.Cookies.Clear() {
		c.Writer.Header().Add("Set-Cookie", ck.String())
	}
}

// Authenticate checks an access token and the live state of its session and
// user. Revocation, expiry, disabling and role changes take effect here.
func (s *Sessions) Authenticate(ctx context.Context, tok string) (*Principal, error) {
	now := s.Now()
	claims, err := s.Keys.Open(tok, token.TypeAccess, now)
	switch {
	case errors.Is(err, token.ErrExpired):
		return nil, errTokenExpired
	case err != nil:
		return nil, errUnauthenticated
	}
	sess, user, err := s.Store.SessionWithUser(ctx, claims.SessionID)
	if err == nil && sess.RevokedAt == nil && !sess.Live(now) {
		// A cached expiry may predate a refresh on another instance (slides
		// are not broadcast); only the database can say it really expired.
		sess, user, err = s.Store.ReadSessionWithUser(ctx, claims.SessionID)
	}
	switch {
	case models.IsKind(err, models.NotFound):
		return nil, errUnauthenticated
	case err != nil:
		return nil, err
	case sess.UserID != claims.Subject || user.ID != claims.Subject || !sess.Live(now) || user.Disabled():
		return nil, errUnauthenticated
	}
	if now.Sub(sess.LastSeenAt) >= lastSeenGranularity {
		// Best effort: a failed touch must not fail an authenticated request.
		if err := s.Store.TouchSession(ctx, sess.ID, now); err == nil {
			sess.LastSeenAt = now
		}
	}
	return &Principal{User: user, Session: sess, Claims: claims}, nil
}

// Refresh rotates the session named by a refresh token and issues new tokens.
// A token one generation old presented within the reuse interval of the
// rotation gets the current tokens (tabs racing); any other reuse revokes the
// session and is audited.
func (s *Sessions) Refresh(c *gin.Context, tok string) (models.Session, models.User, Tokens, error) {
	ctx := c.Request.Context()
	now := s.Now()
	claims, err := s.Keys.Open(tok, token.TypeRefresh, now)
	if err != nil {
		s.Metrics.Refresh(RefreshInvalid)
		return models.Session{}, models.User{}, Tokens{}, errInvalidRefresh
	}
	// Fast path: the session's fixed fields (owner, creation time, lifetime)
	// and its user may come from the cache, where revocations and user changes
	// are pushed; the rotation itself is one conditional UPDATE that also
	// checks the generation and that the session is live.
	sess, user, err := s.Store.SessionWithUser(ctx, claims.SessionID)
	switch {
	case models.IsKind(err, models.NotFound):
		s.Metrics.Refresh(RefreshInvalid)
		return models.Session{}, models.User{}, Tokens{}, errInvalidRefresh
	case err != nil:
		return models.Session{}, models.User{}, Tokens{}, err
	case sess.RevokedAt != nil || user.Disabled():
		s.Metrics.Refresh(RefreshInvalid)
		return models.Session{}, models.User{}, Tokens{}, errInvalidRefresh
	}
	lifetime := sess.Lifetime(s.Lifetimes.Session, s.Lifetimes.Remember)
	newExpiry := sess.SlidExpiry(now, lifetime, s.Lifetimes.MaxAge)
	won, err := s.Store.RotateRefresh(ctx, sess.ID, claims.Gen, now, newExpiry)
	if err != nil {
		return models.Session{}, models.User{}, Tokens{}, err
	}
	if won {
		s.Metrics.Refresh(RefreshRotated)
		sess.RefreshGen, sess.RotatedAt, sess.ExpiresAt, sess.LastSeenAt = claims.Gen+1, now, newExpiry, now
		toks, err := s.issue(sess, user, now)
		return sess, user, toks, err
	}
	// Slow path: not the current generation, or no longer live. Decide on
	// the latest state in the database.
	sess, user, err = s.Store.ReadSessionWithUser(ctx, claims.SessionID)
	switch {
	case models.IsKind(err, models.NotFound):
		s.Metrics.Refresh(RefreshInvalid)
		return models.Session{}, models.User{}, Tokens{}, errInvalidRefresh
	case err != nil:
		return models.Session{}, models.User{}, Tokens{}, err
	case !sess.Live(now) || user.Disabled() || claims.Gen >= sess.RefreshGen:
		s.Metrics.Refresh(RefreshInvalid)
		return models.Session{}, models.User{}, Tokens{}, errInvalidRefresh
	case claims.Gen == sess.RefreshGen-1 && now.Sub(sess.RotatedAt) <= s.Lifetimes.ReuseInterval:
		s.Metrics.Refresh(RefreshGrace)
		toks, err := s.issue(sess, user, now)
		return sess, user, toks, err
	}
	// Reuse of an older token: someone else may hold the current one.
	if _, err := s.Store.RevokeSession(ctx, sess.ID, now); err != nil {
		return models.Session{}, models.User{}, Tokens{}, err
	}
	s.Metrics.Refresh(RefreshReuseDetected)
	s.Metrics.Revoked("refresh_reuse", 1)
	s.Record(c, models.EventRefreshReuseDetected, &user.ID, &sess.ID, user.Email, "")
	return models.Session{}, models.User{}, Tokens{}, errInvalidRefresh
}

// Record writes an audit event for the request. A failure is logged and never
// fails the request.
func (s *Sessions) Record(c *gin.Context, typ string, userID, sessionID *string, email, detail string) {
	e := &models.AuditEvent{
		Type: typ, UserID: userID, SessionID: sessionID, Email: email, Detail: detail,
		IP: c.ClientIP(), UserAgent: models.Sanitize(c.Request.UserAgent(), 512), CreatedAt: s.Now(),
	}
	// The event is recorded even if the client has gone away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), 5*time.Second)
	defer cancel()
	if err := s.Audit.RecordEvent(ctx, e); err != nil {
		Logger(c).Warn("audit event not recorded", "type", typ, "error", err.Error())
	}
}
