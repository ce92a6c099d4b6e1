// Package auth is the domain core of Portcullis: accounts, credential checks,
// the session lifecycle (start, authenticate, refresh, revoke), the password
// policy and the hasher, and the audit trail they leave. It knows no web
// framework and no ORM: methods take ctx and plain values and return models
// values and *models.Error; the storage it needs is declared here as small
// interfaces, which package store satisfies.
package auth

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/token"
)

// Client is who sent a request, as recorded on sessions and audit events.
type Client struct {
	IP        string
	UserAgent string
	// RequestID ties the service's log lines to the request.
	RequestID string
}

// Lifetimes are the configured token and session lifetimes.
type Lifetimes struct {
	Access        time.Duration
	Session       time.Duration
	Remember      time.Duration
	MaxAge        time.Duration
	ReuseInterval time.Duration
}

// Tokens are a freshly issued access and refresh token pair.
type Tokens struct {
	Access        string
	Refresh       string
	AccessExpires time.Time
	// IssuedAt is when they were sealed: the session's expiry minus it is
	// the refresh token's lifetime to the second.
	IssuedAt time.Time
}

// Result is a signed-in user: their session and its new tokens.
type Result struct {
	User    models.User
	Session models.Session
	Tokens  Tokens
}

// Principal is the authenticated caller of a request.
type Principal struct {
	User    models.User
	Session models.Session
	Claims  token.Claims
}

// UserStore keeps accounts.
type UserStore interface {
	CreateUser(ctx context.Context, u *models.User) error
	UserByEmail(ctx context.Context, email string) (models.User, error)
	UserByID(ctx context.Context, id string) (models.User, error)
	ListUsers(ctx context.Context, emailLike string, offset, limit int) ([]models.User, int64, error)
	CountActiveAdmins(ctx context.Context) (int64, error)
	UpdateUserName(ctx context.Context, id, name string, now time.Time) (models.User, error)
	// ChangePassword sets a new hash and moves the credential version on.
	ChangePassword(ctx context.Context, id, hash string, now time.Time) error
	// UpgradePasswordHash rehashes the same password unless the credential
	// version moved on since version was read.
	UpgradePasswordHash(ctx context.Context, id, hash string, version int64) error
	// UpdateUser applies ch in one transaction. Before writing it calls
	// check with the user as stored and the number of other active
	// administrators, both read under locks; an error from check aborts.
	// Disabling revokes the user's sessions and moves the credential version
	// on in the same transaction.
	UpdateUser(ctx context.Context, id string, ch models.UserChange, now time.Time, check func(before models.User, otherAdmins int) error) (models.User, error)
	// UpdateMetadata replaces the user's metadata (or app metadata) with
	// apply's result from the stored value, with the row locked; an error
	// from apply aborts.
	UpdateMetadata(ctx context.Context, id string, app bool, now time.Time, apply func(current []byte) ([]byte, error)) (models.User, error)
}

// SessionStore keeps sessions.
type SessionStore interface {
	// CreateSession inserts s only while its user is enabled and still at
	// credentialVersion, else returns models.ErrStaleCredentials.
	CreateSession(ctx context.Context, s *models.Session, credentialVersion int64) error
	// SessionWithUser loads a session and its user; fresh asks for the
	// database's state, bypassing any cache.
	SessionWithUser(ctx context.Context, id string, fresh bool) (models.Session, models.User, error)
	// RotateRefresh advances a live session from generation gen to gen+1
	// in one conditional write and reports whether this call won.
	RotateRefresh(ctx context.Context, id string, gen int64, now, expiresAt time.Time) (bool, error)
	RevokeSession(ctx context.Context, id string, now time.Time) (bool, error)
	RevokeUserSessions(ctx context.Context, userID, except string, now time.Time) (int64, error)
	TouchSession(ctx context.Context, id string, now time.Time) error
	LiveSessions(ctx context.Context, userID string, now time.Time) ([]models.Session, error)
	// RevokeExcessSessions revokes the user's live sessions beyond the keep
	// most recently used, and returns their ids.
	RevokeExcessSessions(ctx context.Context, userID string, keep int, now time.Time) ([]string, error)
}

// AuditLog keeps audit events.
type AuditLog interface {
	RecordEvent(ctx context.Context, e *models.AuditEvent) error
	Events(ctx context.Context, f models.EventFilter) ([]models.AuditEvent, error)
}

// Store is all the storage the service uses.
type Store interface {
	UserStore
	SessionStore
	AuditLog
	EmailStore
	MFAStore
	PasskeyStore
	IdentityStore
	LifecycleStore
	WebhookStore
}

// Lockout counts password attempts per key, whether or not an account
// exists, so that a lockout reveals nothing. Reserve counts an attempt before
// its proof is checked, so parallel attempts cannot exceed limit: it returns
// how long to wait when the key is locked or limit attempts are pending. Fail
// records that a reserved attempt failed and locks the key once limit are
// counted, reporting whether this call locked it. Release returns an attempt
// whose proof was never checked; Reset forgets the key after a success (an
// active lock stays); Clear forgets every key starting with prefix, locks
// included.
type Lockout interface {
	Reserve(ctx context.Context, key string, limit int) (time.Duration, error)
	Fail(ctx context.Context, key string, limit int) (locked bool, err error)
	Release(ctx context.Context, key string) error
	Reset(ctx context.Context, key string) error
	Clear(ctx context.Context, prefix string) error
}

// LockoutLimits are the failed proofs that lock an email for one client
// address and for every address, and the failed service-client
// authentications that lock a client address.
type LockoutLimits struct {
	Pair   int
	Global int
	Client int
}

// Deps are the service's dependencies.
type Deps struct {
	Store   Store
	Keys    *token.KeyRing
	Hasher  *Hasher
	Lockout Lockout // nil: no lockout
	// LockoutLimits zero means 10 per (email, address), 100 per email and
	// 60 per service-client address.
	LockoutLimits LockoutLimits
	// Clients are the service clients (AUTH_INTROSPECT_CLIENTS): name to secret.
	Clients   map[string]string
	Lifetimes Lifetimes
	Now       func() time.Time // nil: the system clock, in milliseconds
	Metrics   Metrics          // nil: none
	Logger    *slog.Logger     // nil: none
	// Email is how users are mailed; its zero value sends nothing.
	Email Email
	// DataKeys seal TOTP secrets at rest (AUTH_DATA_KEYS); nil: TOTP is
	// not available.
	DataKeys *token.KeyRing
	// ReauthWindow is how recent a proof a sensitive operation needs
	// (AUTH_REAUTH_WINDOW); zero: 10 minutes.
	ReauthWindow time.Duration
	// MaxSessions bounds a user's live sessions
	// (AUTH_MAX_SESSIONS_PER_USER); zero: no bound.
	MaxSessions int
	// Webhooks are where account events go (AUTH_WEBHOOK_URLS).
	Webhooks Webhooks
	// EmailHooks, when set (tests only), force races of the email flows.
	EmailHooks *EmailHooks
	// Hooks let tests see and order the steps of a proof.
	Hooks Hooks
	// WebAuthn is the passkeys' relying party; an empty ID leaves passkeys
	// off (503).
	WebAuthn RelyingParty
	// OIDC configures sign-in with OpenID Connect providers.
	OIDC OIDC
	// Abuse are the abuse controls (abuse.go); the zero value: all off.
	Abuse Abuse
}

// Hooks let tests count the work of a proof and force the interleavings of
// parallel requests (no sleeps). Nil fields do nothing; production sets none.
type Hooks struct {
	// CodeChecked runs once a second-factor code (TOTP or recovery code)
	// has been checked, before anything is spent; ok says whether it
	// matched.
	CodeChecked func(ok bool)
	// OIDCStateChecked runs when a callback's state matched its flow
	// cookie, before the state is spent.
	OIDCStateChecked func()
	// BreachChecked runs when the background breach check after a
	// password sign-in has finished.
	BreachChecked func()
}

func (h Hooks) breachChecked() {
	if h.BreachChecked != nil {
		h.BreachChecked()
	}
}

// codeChecked calls the CodeChecked hook, if any.
func (h Hooks) codeChecked(ok bool) {
	if h.CodeChecked != nil {
		h.CodeChecked(ok)
	}
}

// Service is the domain core. Its methods are safe for concurrent use.
type Service struct {
	store        Store
	keys         *token.KeyRing
	hasher       *Hasher
	lockout      Lockout
	limits       LockoutLimits
	clients      map[string]string
	lifetimes    Lifetimes
	now          func() time.Time
	metrics      Metrics
	logger       *slog.Logger
	email        Email
	dataKeys     *token.KeyRing
	reauthWindow time.Duration
	maxSessions  int
	webhooks     Webhooks
	hooks        Hooks
	// tokenKeys store mailed tokens and codes as HMACs: one key derived
	// from each session key, the current one first.
	tokenKeys  [][]byte
	emailHooks *EmailHooks
	// webauthn is the passkeys' relying party; nil: passkeys are off.
	webauthn *webauthn.WebAuthn
	oidc     OIDC
	// abuse are the abuse controls; disposable the blocked domains.
	abuse       Abuse
	disposable  []string
	breachCache breachCache
	breachSlots chan struct{}
}

// New returns a Service over d.
func New(d Deps) *Service {
	s := &Service{
		store: d.Store, keys: d.Keys, hasher: d.Hasher, lockout: d.Lockout, limits: d.LockoutLimits, clients: d.Clients, lifetimes: d.Lifetimes,
		now: d.Now, metrics: d.Metrics, logger: d.Logger, email: d.Email,
		dataKeys: d.DataKeys, reauthWindow: d.ReauthWindow, maxSessions: d.MaxSessions, webhooks: d.Webhooks, hooks: d.Hooks, emailHooks: d.EmailHooks, oidc: d.OIDC,
		abuse: d.Abuse, disposable: d.Abuse.Disposable, breachSlots: make(chan struct{}, breachChecksAtOnce),
	}
	if wa, err := newWebAuthn(d.WebAuthn); err != nil {
		// config refuses a bad explicit id; a default that is an IP
		// address only leaves passkeys off.
		if s.logger != nil {
			s.logger.Warn("passkeys are off: the relying party id is not a domain name (AUTH_WEBAUTHN_RP_ID)", "rpId", d.WebAuthn.ID)
		}
	} else {
		s.webauthn = wa
	}
	if d.Keys != nil {
		s.tokenKeys = d.Keys.DerivedKeys(tokenHashInfo)
	}
	if s.reauthWindow <= 0 {
		s.reauthWindow = 10 * time.Minute
	}
	if s.email.Verification == "" {
		s.email.Verification = VerificationOptional
	}
	if s.now == nil {
		s.now = func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
	}
	if s.metrics == nil {
		s.metrics = noMetrics{}
	}
	if s.lockout == nil {
		s.lockout = noLockout{}
	}
	if s.limits.Pair <= 0 {
		s.limits.Pair = 10
	}
	if s.limits.Global <= 0 {
		s.limits.Global = 10 * s.limits.Pair
	}
	if s.limits.Client <= 0 {
		s.limits.Client = 60
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	return s
}

// Now returns the service's clock reading.
func (s *Service) Now() time.Time { return s.now() }

// Lifetimes returns the configured lifetimes.
func (s *Service) Lifetimes() Lifetimes { return s.lifetimes }

// log returns a logger carrying the request id.
func (s *Service) log(cl Client) *slog.Logger {
	if cl.RequestID == "" {
		return s.logger
	}
	return s.logger.With("requestId", cl.RequestID)
}

// Errors clients act on.
var (
	ErrUnauthenticated = &models.Error{Kind: models.Unauthenticated, Code: models.CodeUnauthenticated, Message: "sign in to continue"}
	ErrTokenExpired    = &models.Error{Kind: models.Unauthenticated, Code: models.CodeTokenExpired, Message: "the access token has expired; call /auth/refresh"}
	ErrInvalidRefresh  = &models.Error{Kind: models.Unauthenticated, Code: models.CodeInvalidRefresh, Message: "the refresh token is invalid, expired or already used; sign in again"}
	ErrInvalidCreds    = &models.Error{Kind: models.Unauthenticated, Code: models.CodeInvalidCredentials, Message: "the email or password is incorrect"}
	ErrEmailTaken      = &models.Error{Kind: models.Conflict, Code: models.CodeEmailTaken, Message: "an account with this email already exists"}
	ErrLastAdmin       = &models.Error{Kind: models.Conflict, Code: models.CodeLastAdmin, Message: "cannot demote or disable the last active administrator"}
	ErrAdminRequired   = models.Errorf(models.Forbidden, "this requires the admin role")
)

// RateLimited returns the 429 error for a wait of d.
func RateLimited(d time.Duration) *models.Error {
	return &models.Error{
		Kind: models.RateLimited, Message: "too many attempts; try again later",
		RetryAfterSeconds: max(1, int(math.Ceil(d.Seconds()))),
	}
}

// hashErr maps a hasher error to a client-facing one.
func hashErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrBusy) {
		return &models.Error{Kind: models.Unavailable, Message: "too many sign-ins at once; try again shortly", RetryAfterSeconds: 1, Err: err}
	}
	return err
}

type noLockout struct{}

func (noLockout) Reserve(context.Context, string, int) (time.Duration, error) { return 0, nil }
func (noLockout) Fail(context.Context, string, int) (bool, error)             { return false, nil }
func (noLockout) Release(context.Context, string) error                       { return nil }
func (noLockout) Reset(context.Context, string) error                         { return nil }
func (noLockout) Clear(context.Context, string) error                         { return nil }
