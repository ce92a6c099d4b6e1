package auth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/token"
)

// Authentication methods, as sessions record them (RFC 8176 names).
const (
	AMRPassword = "pwd"
	AMREmail    = "email"
)

// ErrInsufficientAAL refuses a session below the assurance level asked for.
var ErrInsufficientAAL = &models.Error{Kind: models.Forbidden, Code: models.CodeInsufficientAAL, Message: "this needs a session signed in with a second factor"}

// lastSeenGranularity bounds how often last_seen_at is written.
const lastSeenGranularity = time.Minute

// start creates a session for u and issues its tokens, provided u's
// credentials (as read by the check that led here) are still current: a
// login that raced a password change or a disable starts nothing.
func (s *Service) start(ctx context.Context, cl Client, u models.User, remember bool, aal int, amr ...string) (Result, error) {
	now := s.now()
	lifetime := s.lifetimes.Session
	if remember {
		lifetime = s.lifetimes.Remember
	}
	sess := models.Session{
		UserID:     u.ID,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(lifetime),
		RotatedAt:  now,
		Remember:   remember,
		UserAgent:  models.Sanitize(cl.UserAgent, 512),
		IP:         cl.IP,
		AAL:        aal,
		AMR:        strings.Join(amr, ","),
		AuthTime:   now,
	}
	if err := s.store.CreateSession(ctx, &sess, u.CredentialVersion); err != nil {
		if errors.Is(err, models.ErrStaleCredentials) {
			return Result{}, ErrInvalidCreds
		}
		return Result{}, err
	}
	if s.maxSessions > 0 {
		// One more than the bound revokes the least recently used.
		if ids, err := s.store.RevokeExcessSessions(ctx, u.ID, s.maxSessions, now); err != nil {
			s.log(cl).Warn("sessions over the bound not revoked", "error", err.Error())
		} else if len(ids) > 0 {
			s.metrics.Revoked(ReasonSessionLimit, int64(len(ids)))
			ev := reasonEvents[ReasonSessionLimit]
			for _, id := range ids {
				s.record(ctx, cl, event{typ: ev.typ, userID: u.ID, sessionID: id, email: u.Email, detail: ev.detail})
			}
		}
	}
	return s.issue(sess, u, now)
}

// issue seals a new token pair for the session's current generation.
func (s *Service) issue(sess models.Session, u models.User, now time.Time) (Result, error) {
	accessExp := now.Add(s.lifetimes.Access)
	access, err := s.keys.Seal(token.Claims{
		Type: token.TypeAccess, SessionID: sess.ID, Subject: u.ID, Role: string(u.Role), AAL: sess.AAL,
		IssuedAt: now.Unix(), Expiry: accessExp.Unix(),
	})
	if err != nil {
		return Result{}, err
	}
	refresh, err := s.keys.Seal(token.Claims{
		Type: token.TypeRefresh, SessionID: sess.ID, Gen: sess.RefreshGen,
		IssuedAt: now.Unix(), Expiry: sess.ExpiresAt.Unix(),
	})
	if err != nil {
		return Result{}, err
	}
	toks := Tokens{Access: access, Refresh: refresh, AccessExpires: time.Unix(accessExp.Unix(), 0).UTC(), IssuedAt: now}
	return Result{User: u, Session: sess, Tokens: toks}, nil
}

// Authenticate checks an access token and the live state of its session and
// user. Revocation, expiry, disabling and role changes take effect here.
func (s *Service) Authenticate(ctx context.Context, tok string) (*Principal, error) {
	now := s.now()
	claims, err := s.keys.Open(tok, token.TypeAccess, now)
	switch {
	case errors.Is(err, token.ErrExpired):
		return nil, ErrTokenExpired
	case err != nil:
		return nil, ErrUnauthenticated
	}
	sess, user, err := s.store.SessionWithUser(ctx, claims.SessionID, false)
	if err == nil && sess.RevokedAt == nil && !sess.Live(now) {
		// A cached expiry may predate a refresh on another instance (slides
		// are not broadcast); only the database can say it really expired.
		sess, user, err = s.store.SessionWithUser(ctx, claims.SessionID, true)
	}
	switch {
	case models.IsKind(err, models.NotFound):
		return nil, ErrUnauthenticated
	case err != nil:
		return nil, err
	case sess.UserID != claims.Subject || user.ID != claims.Subject || !sess.Live(now) || user.Disabled():
		return nil, ErrUnauthenticated
	}
	if now.Sub(sess.LastSeenAt) >= lastSeenGranularity {
		// Best effort: a failed touch must not fail an authenticated request.
		if err := s.store.TouchSession(ctx, sess.ID, now); err == nil {
			sess.LastSeenAt = now
		}
	}
	return &Principal{User: user, Session: sess, Claims: claims}, nil
}

// Refresh rotates the session named by a refresh token and issues new tokens.
// A token one generation old presented within the reuse interval of the
// rotation gets the current tokens (tabs racing); any older reuse revokes the
// session and is audited.
func (s *Service) Refresh(ctx context.Context, cl Client, tok string) (Result, error) {
	now := s.now()
	claims, err := s.keys.Open(tok, token.TypeRefresh, now)
	if err != nil {
		s.metrics.Refresh(RefreshInvalid)
		return Result{}, ErrInvalidRefresh
	}
	// Fast path: the session's fixed fields (owner, creation time, lifetime)
	// and its user may come from the cache, where revocations and user changes
	// are pushed; the rotation itself is one conditional UPDATE that also
	// checks the generation and that the session is live.
	sess, user, err := s.store.SessionWithUser(ctx, claims.SessionID, false)
	if err == nil && sess.RevokedAt == nil && !user.Disabled() {
		newExpiry := sess.SlidExpiry(now, sess.Lifetime(s.lifetimes.Session, s.lifetimes.Remember), s.lifetimes.MaxAge)
		won, rotateErr := s.store.RotateRefresh(ctx, sess.ID, claims.Gen, now, newExpiry)
		if rotateErr != nil {
			return Result{}, rotateErr
		}
		if won {
			s.metrics.Refresh(RefreshRotated)
			sess.RefreshGen, sess.RotatedAt, sess.ExpiresAt, sess.LastSeenAt = claims.Gen+1, now, newExpiry, now
			return s.issue(sess, user, now)
		}
		// Not the current generation, or no longer live: decide on the
		// latest state in the database.
		sess, user, err = s.store.SessionWithUser(ctx, claims.SessionID, true)
	}
	switch {
	case models.IsKind(err, models.NotFound):
		s.metrics.Refresh(RefreshInvalid)
		return Result{}, ErrInvalidRefresh
	case err != nil:
		return Result{}, err
	}
	outcome := s.refreshVerdict(sess, user, claims.Gen, now)
	s.metrics.Refresh(outcome)
	switch outcome {
	case RefreshGrace:
		return s.issue(sess, user, now)
	case RefreshReuseDetected:
		// Someone else may hold the current token: end the session.
		if _, err := s.Revoke(ctx, cl, Revocation{UserID: user.ID, SessionID: sess.ID, Scope: ScopeLocal, Reason: ReasonRefreshReuse, Email: user.Email}); err != nil {
			return Result{}, err
		}
	}
	return Result{}, ErrInvalidRefresh
}

// refreshVerdict decides what a refresh token of generation gen gets when it
// did not win the rotation, from the session's latest state: the current
// tokens (a tab that lost a race within the reuse interval), nothing (a dead
// session or a generation the session never issued), or the session's end
// (reuse of an older token).
func (s *Service) refreshVerdict(sess models.Session, user models.User, gen int64, now time.Time) RefreshOutcome {
	switch {
	case !sess.Live(now) || user.Disabled() || gen >= sess.RefreshGen:
		return RefreshInvalid
	case gen == sess.RefreshGen-1 && now.Sub(sess.RotatedAt) <= s.lifetimes.ReuseInterval:
		return RefreshGrace
	}
	return RefreshReuseDetected
}

// Scope says which of a user's sessions a revocation ends.
type Scope string

// Scopes, named as logout's scope parameter names them.
const (
	ScopeLocal  Scope = "local"  // the named session
	ScopeOthers Scope = "others" // every session but the named one
	ScopeGlobal Scope = "global" // every session
)

// ParseScope reads a logout scope.
func ParseScope(v string) (Scope, error) {
	switch sc := Scope(v); sc {
	case ScopeLocal, ScopeOthers, ScopeGlobal:
		return sc, nil
	}
	return "", models.Errorf(models.BadRequest, "scope must be local, others or global")
}

// Reason is why sessions were revoked: the metric's label, and it picks the
// audit event.
type Reason string

// Revocation reasons.
const (
	ReasonLogout         Reason = "logout"
	ReasonUser           Reason = "user"
	ReasonPasswordChange Reason = "password_change"
	ReasonRefreshReuse   Reason = "refresh_reuse"
	ReasonAdmin          Reason = "admin"
	ReasonPasswordSet    Reason = "password_set"
	ReasonPasswordReset  Reason = "password_reset"
	ReasonEmailChange    Reason = "email_change"
	ReasonMFAEnrolled    Reason = "mfa_enrolled"
	ReasonMFAReset       Reason = "mfa_reset"
	ReasonAddressProven  Reason = "address_proven"
	// ReasonSessionLimit: a new session beyond AUTH_MAX_SESSIONS_PER_USER
	// revoked the least recently used.
	ReasonSessionLimit Reason = "session_limit"
)

// reasonEvents is the audit event each reason writes.
var reasonEvents = map[Reason]struct {
	typ    models.EventType
	detail string
}{
	ReasonLogout:         {models.EventLogout, ""}, // the detail is the scope
	ReasonUser:           {models.EventSessionRevoked, "by the user"},
	ReasonPasswordChange: {models.EventPasswordChanged, ""},
	ReasonRefreshReuse:   {models.EventRefreshReuseDetected, ""},
	ReasonAdmin:          {models.EventSessionRevoked, "all, by an administrator"},
	ReasonPasswordSet:    {models.EventPasswordChanged, "set by an operator; every session ended"},
	ReasonPasswordReset:  {models.EventPasswordReset, "every session ended"},
	ReasonEmailChange:    {models.EventSessionRevoked, "the email address changed"},
	ReasonMFAEnrolled:    {models.EventMFAEnrolled, "every other session ended"},
	ReasonMFAReset:       {models.EventMFAReset, "every factor removed and every session ended, by an administrator"},
	ReasonAddressProven:  {models.EventSessionRevoked, "the address was proven for the first time: every earlier session ended"},
	ReasonSessionLimit:   {models.EventSessionRevoked, "the least recently used, over the per-user limit"},
}

// Revocation names sessions to end and why.
type Revocation struct {
	UserID    string
	SessionID string // the session ScopeLocal ends and ScopeOthers keeps
	Scope     Scope
	Reason    Reason
	Email     string // recorded with the audit event, when known
}

// Revoke ends the sessions r names, counts them in the metric for its reason
// and writes the reason's audit event: every revocation goes through here.
func (s *Service) Revoke(ctx context.Context, cl Client, r Revocation) (int64, error) {
	now := s.now()
	var (
		n   int64
		err error
	)
	switch r.Scope {
	case ScopeLocal:
		var ok bool
		if ok, err = s.store.RevokeSession(ctx, r.SessionID, now); ok {
			n = 1
		}
	case ScopeOthers:
		n, err = s.store.RevokeUserSessions(ctx, r.UserID, r.SessionID, now)
	case ScopeGlobal:
		n, err = s.store.RevokeUserSessions(ctx, r.UserID, "", now)
	default:
		return 0, models.Errorf(models.Internal, "unknown revocation scope %q", r.Scope)
	}
	if err != nil {
		return 0, err
	}
	s.metrics.Revoked(r.Reason, n)
	ev := reasonEvents[r.Reason]
	if r.Reason == ReasonLogout {
		ev.detail = string(r.Scope)
	}
	s.record(ctx, cl, event{typ: ev.typ, userID: r.UserID, sessionID: r.SessionID, email: r.Email, detail: ev.detail})
	return n, nil
}

// Logout ends the caller's session (ScopeLocal), their other sessions, or all
// of them. The session is the one the access token names, even if the token
// has just expired, else the one the refresh token names. Without a live
// session there is nothing to do and no error. Ending other sessions needs a
// live access token (ErrTokenExpired otherwise, and nothing is revoked): an
// old leaked token must not sign the user out everywhere.
func (s *Service) Logout(ctx context.Context, cl Client, accessToken, refreshToken string, scope Scope) error {
	var (
		claims token.Claims
		err    error
	)
	now := s.now()
	if accessToken != "" {
		claims, err = s.keys.OpenIgnoringExpiry(accessToken, token.TypeAccess)
	} else {
		claims, err = s.keys.OpenIgnoringExpiry(refreshToken, token.TypeRefresh)
	}
	if err != nil {
		return nil
	}
	sess, _, err := s.store.SessionWithUser(ctx, claims.SessionID, false)
	if err != nil || !sess.Live(now) || (claims.Subject != "" && claims.Subject != sess.UserID) {
		return nil
	}
	if live := claims.Type == token.TypeAccess && now.Unix() < claims.Expiry; scope != ScopeLocal && !live {
		return ErrTokenExpired
	}
	_, err = s.Revoke(ctx, cl, Revocation{UserID: sess.UserID, SessionID: sess.ID, Scope: scope, Reason: ReasonLogout})
	return err
}

// EndSession ends one of the caller's own live sessions (id in any spelling
// of a UUID) and reports whether it was the caller's current one; any other
// id is NotFound.
func (s *Service) EndSession(ctx context.Context, cl Client, p *Principal, id string) (current bool, err error) {
	notFound := models.Errorf(models.NotFound, "no such session")
	id, ok := canonicalID(id)
	if !ok {
		return false, notFound
	}
	sess, _, err := s.store.SessionWithUser(ctx, id, false)
	switch {
	case models.IsKind(err, models.NotFound) || (err == nil && (sess.UserID != p.User.ID || !sess.Live(s.now()))):
		return false, notFound
	case err != nil:
		return false, err
	}
	_, err = s.Revoke(ctx, cl, Revocation{UserID: p.User.ID, SessionID: sess.ID, Scope: ScopeLocal, Reason: ReasonUser})
	return err == nil && sess.ID == p.Session.ID, err
}

// Sessions lists a user's live sessions, newest first.
func (s *Service) Sessions(ctx context.Context, userID string) ([]models.Session, error) {
	return s.store.LiveSessions(ctx, userID, s.now())
}
