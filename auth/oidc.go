package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/portcullis-auth/portcullis/models"
)

// AMROIDC is the method a session signed in through a provider records.
const AMROIDC = "oidc"

// FlowTTL is how long a sign-in at a provider may take: the flow cookie's
// life.
const FlowTTL = 10 * time.Minute

// OIDCProvider is one configured OpenID Connect provider; package oidc
// adapts go-oidc and golang.org/x/oauth2 to it.
type OIDCProvider interface {
	Name() string
	DisplayName() string
	// AuthCodeURL is where to send the browser: the authorization endpoint
	// with state, nonce and the S256 challenge of verifier. It fails while
	// the provider's discovery has not succeeded (it is retried here).
	AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error)
	// Exchange redeems code with the PKCE verifier and returns the claims
	// of the ID token, its signature, issuer, audience and expiry checked.
	Exchange(ctx context.Context, code, verifier string) (OIDCClaims, error)
}

// OIDCClaims are what an ID token says of its user.
type OIDCClaims struct {
	Issuer        string
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	Nonce         string
}

// OIDC is the social sign-in configuration.
type OIDC struct {
	Providers []OIDCProvider
	// AutoLink links a new identity to the account with its email when the
	// provider verified the email and the account did too
	// (AUTH_OIDC_AUTO_LINK=verified).
	AutoLink bool
	// Origins are where redirectTo may lead (AUTH_APP_URL and
	// AUTH_ALLOWED_ORIGINS), compared as origins; the first is the default.
	Origins []string
}

// IdentityStore keeps users' identities at providers.
type IdentityStore interface {
	CreateUserWithIdentity(ctx context.Context, u *models.User, id *models.Identity) error
	IdentityBySubject(ctx context.Context, issuer, subject string) (models.Identity, error)
	Identities(ctx context.Context, userID string) ([]models.Identity, error)
	LinkIdentity(ctx context.Context, id *models.Identity) error
	TouchIdentity(ctx context.Context, id, email string, verified bool, now time.Time) error
	UnlinkIdentity(ctx context.Context, userID, id string, check func(left models.LoginMethods) error) (bool, error)
	SpendOIDCState(ctx context.Context, hash string, expiresAt time.Time) (bool, error)
	DropUnprovenIdentities(ctx context.Context, userID, email string) (int64, error)
}

// Errors of social sign-in.
var (
	ErrInvalidRedirect     = &models.Error{Kind: models.BadRequest, Code: models.CodeInvalidRedirect, Message: "redirectTo must be an absolute URL on the app's origin or an allowed origin"}
	ErrProviderUnavailable = &models.Error{Kind: models.Unavailable, Message: "the sign-in provider cannot be reached; try again shortly", RetryAfterSeconds: 5}
	ErrLastLoginMethod     = &models.Error{Kind: models.Conflict, Code: models.CodeLastLoginMethod, Message: "this is your only way to sign in: set a password, add a passkey or link another provider first"}
	errNoProvider          = models.Errorf(models.NotFound, "no such provider")
	errNoIdentity          = models.Errorf(models.NotFound, "no such identity")
)

// ProviderInfo names a provider for a login page.
type ProviderInfo struct {
	Name        string
	DisplayName string
}

// Providers lists the configured providers, in configuration order.
func (s *Service) Providers() []ProviderInfo {
	out := make([]ProviderInfo, 0, len(s.oidc.Providers))
	for _, p := range s.oidc.Providers {
		out = append(out, ProviderInfo{Name: p.Name(), DisplayName: p.DisplayName()})
	}
	return out
}

func (s *Service) provider(name string) (OIDCProvider, bool) {
	for _, p := range s.oidc.Providers {
		if p.Name() == name {
			return p, true
		}
	}
	return nil, false
}

// oidcFlow is what the flow cookie carries between the start and the
// callback, sealed with the session keys.
type oidcFlow struct {
	Provider   string `json:"p"`
	State      string `json:"s"`
	Nonce      string `json:"n"`
	Verifier   string `json:"v"`
	RedirectTo string `json:"r"`
	// LinkUser and LinkSession: the flow links to this user, and only
	// this session of theirs can finish it.
	LinkUser    string `json:"lu,omitempty"`
	LinkSession string `json:"ls,omitempty"`
	Expiry      int64  `json:"exp"`
}

// OIDCStart is where a flow sends the browser and the sealed flow cookie.
type OIDCStart struct {
	URL  string
	Flow string
}

// StartOIDC begins a sign-in at the provider name, ending at redirectTo
// (the app's URL when empty).
func (s *Service) StartOIDC(ctx context.Context, name, redirectTo string) (OIDCStart, error) {
	return s.startOIDC(ctx, name, redirectTo, nil)
}

// StartLink begins linking an identity at the provider name to the
// caller's account (a fresh session; a verified address while mail is sent).
func (s *Service) StartLink(ctx context.Context, p *Principal, name, redirectTo string) (OIDCStart, error) {
	if s.email.Templates != nil && !p.User.EmailVerified {
		return OIDCStart{}, ErrEmailNotVerified // First proof of an address: verify first
	}
	if _, ok := s.provider(name); !ok {
		return OIDCStart{}, errNoProvider
	}
	if err := s.requireFresh(ctx, p); err != nil {
		return OIDCStart{}, err
	}
	return s.startOIDC(ctx, name, redirectTo, p)
}

func (s *Service) startOIDC(ctx context.Context, name, redirectTo string, link *Principal) (OIDCStart, error) {
	prov, ok := s.provider(name)
	if !ok {
		return OIDCStart{}, errNoProvider
	}
	to, ok := s.allowedRedirect(redirectTo)
	if !ok {
		return OIDCStart{}, ErrInvalidRedirect
	}
	f := oidcFlow{Provider: name, State: randomString(32), Nonce: randomString(32), Verifier: randomString(32),
		RedirectTo: to, Expiry: s.now().Add(FlowTTL).Unix()}
	if link != nil {
		f.LinkUser, f.LinkSession = link.User.ID, link.Session.ID
	}
	u, err := prov.AuthCodeURL(ctx, f.State, f.Nonce, f.Verifier)
	if err != nil {
		s.logger.Warn("oidc provider unavailable", "provider", name, "err", err)
		return OIDCStart{}, ErrProviderUnavailable
	}
	payload, err := json.Marshal(f)
	if err != nil {
		return OIDCStart{}, err
	}
	sealed, err := s.keys.SealBytes(payload)
	if err != nil {
		return OIDCStart{}, err
	}
	return OIDCStart{URL: u, Flow: sealed}, nil
}

// allowedRedirect checks redirectTo against the allowed origins, compared
// as (scheme, host, port), never as string prefixes.
func (s *Service) allowedRedirect(redirectTo string) (string, bool) {
	if redirectTo == "" {
		return s.appURL(), true
	}
	u, err := url.Parse(redirectTo)
	if err != nil || u.User != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || len(redirectTo) > 2048 {
		return "", false
	}
	o := origin(u)
	for _, allowed := range s.oidc.Origins {
		if a, err := url.Parse(allowed); err == nil && origin(a) == o {
			return u.String(), true
		}
	}
	return "", false
}

// origin is a URL's scheme://host:port, lower-cased, with the default port.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

func (s *Service) appURL() string {
	if len(s.oidc.Origins) > 0 {
		return s.oidc.Origins[0]
	}
	return s.email.AppURL
}

// Callback is what the provider sent back to the callback.
type Callback struct {
	State string
	Code  string
	Error string
}

// OIDCOutcome is how a callback ends: a redirect to RedirectTo, with Error
// set when it failed, and the sign-in when it signed someone in (none when
// it linked an identity).
type OIDCOutcome struct {
	RedirectTo string
	Error      models.Code
	SignIn     *SignIn
}

// FinishOIDC completes a flow begun by StartOIDC or StartLink. flow is the
// flow cookie; an error is returned only for a failure of Portcullis
// itself (the database), every refusal is an outcome with Error.
func (s *Service) FinishOIDC(ctx context.Context, cl Client, name, flow string, cb Callback, pres Presented) (OIDCOutcome, error) {
	fail := func(to string, code models.Code, why string) (OIDCOutcome, error) {
		s.log(cl).Info("oidc callback refused", "provider", name, "error", string(code), "why", why)
		return OIDCOutcome{RedirectTo: to, Error: code}, nil
	}
	now := s.now()
	var f oidcFlow
	payload, err := s.keys.OpenBytes(flow)
	if flow == "" || err != nil || json.Unmarshal(payload, &f) != nil || f.Provider != name || now.Unix() >= f.Expiry || f.State == "" {
		return fail(s.appURL(), models.CodeInvalidState, "no flow cookie, or a bad, expired or other provider's one")
	}
	if subtle.ConstantTimeCompare([]byte(cb.State), []byte(f.State)) != 1 {
		return fail(f.RedirectTo, models.CodeInvalidState, "state differs from the flow cookie's")
	}
	if s.hooks.OIDCStateChecked != nil {
		s.hooks.OIDCStateChecked()
	}
	sum := sha256.Sum256([]byte(f.State))
	if first, err := s.store.SpendOIDCState(ctx, hex.EncodeToString(sum[:]), time.Unix(f.Expiry, 0).UTC()); err != nil {
		return OIDCOutcome{}, err
	} else if !first {
		return fail(f.RedirectTo, models.CodeInvalidState, "callback replayed")
	}
	prov, ok := s.provider(name)
	switch {
	case !ok:
		return fail(f.RedirectTo, models.CodeInvalidState, "provider no longer configured")
	case cb.Error == "access_denied":
		return fail(f.RedirectTo, models.CodeAccessDenied, "the user declined at the provider")
	case cb.Error != "" || cb.Code == "":
		return fail(f.RedirectTo, models.CodeProviderError, "the provider answered an error or no code")
	}
	claims, err := prov.Exchange(ctx, cb.Code, f.Verifier)
	if err != nil {
		return fail(f.RedirectTo, models.CodeProviderError, err.Error())
	}
	if claims.Subject == "" || claims.Issuer == "" {
		return fail(f.RedirectTo, models.CodeProviderError, "the ID token names no subject")
	}
	if subtle.ConstantTimeCompare([]byte(claims.Nonce), []byte(f.Nonce)) != 1 {
		return fail(f.RedirectTo, models.CodeInvalidState, "the ID token's nonce is not this flow's")
	}
	raw := strings.TrimSpace(claims.Email)
	claims.Email = models.NormalizeEmail(raw)
	// A provider's address counts only as it wrote it: Unicode case
	// folding (K, İ → k, i) would turn it into another, ASCII, address that
	// the provider never verified.
	if models.EmailProblem(claims.Email) != "" || claims.Email != asciiLower(raw) {
		claims.Email, claims.EmailVerified = "", false
	}
	if f.LinkUser != "" {
		code, err := s.linkFromFlow(ctx, cl, f, claims, pres)
		if err != nil {
			return OIDCOutcome{}, err
		}
		if code != "" {
			return fail(f.RedirectTo, code, "link refused")
		}
		return OIDCOutcome{RedirectTo: f.RedirectTo}, nil
	}
	in, code, err := s.signInWithIdentity(ctx, cl, name, claims, pres)
	if err != nil {
		return OIDCOutcome{}, err
	}
	if code != "" {
		return fail(f.RedirectTo, code, "sign-in refused")
	}
	return OIDCOutcome{RedirectTo: f.RedirectTo, SignIn: &in}, nil
}

// signInWithIdentity signs in the user an identity belongs to, creating
// the user for a new identity whose email has no account, or (opt-in)
// linking it to the account with that email when both emails are verified.
func (s *Service) signInWithIdentity(ctx context.Context, cl Client, name string, c OIDCClaims, pres Presented) (SignIn, models.Code, error) {
	required := s.email.Verification == VerificationRequired
	now := s.now()
	id, err := s.store.IdentityBySubject(ctx, c.Issuer, c.Subject)
	var u models.User
	switch {
	case err == nil:
		if u, err = s.store.UserByID(ctx, id.UserID); err != nil {
			return SignIn{}, "", err
		}
		if err := s.store.TouchIdentity(ctx, id.ID, c.Email, c.EmailVerified, now); err != nil {
			return SignIn{}, "", err
		}
	case !models.IsKind(err, models.NotFound):
		return SignIn{}, "", err
	case c.Email == "":
		return SignIn{}, models.CodeProviderError, nil // no address to create or find an account by
	case required && !c.EmailVerified:
		return SignIn{}, models.CodeEmailNotVerified, nil
	default:
		nid := models.Identity{Provider: name, Issuer: c.Issuer, Subject: c.Subject, Email: c.Email, EmailVerified: c.EmailVerified,
			CreatedAt: now, LastUsedAt: now}
		existing, err := s.store.UserByEmail(ctx, c.Email)
		switch {
		case err == nil:
			// No automatic linking unless asked for, and then only between
			// two verified emails (pre-account-takeover).
			if !s.oidc.AutoLink || !c.EmailVerified || !existing.EmailVerified || existing.Disabled() {
				return SignIn{}, models.CodeAccountExists, nil
			}
			nid.UserID = existing.ID
			if err := s.store.LinkIdentity(ctx, &nid); models.IsKind(err, models.Conflict) {
				return SignIn{}, models.CodeAccountExists, nil
			} else if err != nil {
				return SignIn{}, "", err
			}
			// The link moved the version on: sign in under the new one.
			if u, err = s.store.UserByID(ctx, existing.ID); err != nil {
				return SignIn{}, "", err
			}
			s.record(ctx, cl, event{typ: models.EventIdentityLinked, userID: u.ID, email: u.Email, detail: name + " (automatic: both emails verified)"})
		case models.IsKind(err, models.NotFound):
			u = models.User{Email: c.Email, Name: identityName(c), Role: models.RoleUser, EmailVerified: c.EmailVerified, CreatedAt: now, UpdatedAt: now}
			if code := s.oidcSignupRefused(ctx, cl, &u, name); code != "" {
				return SignIn{}, code, nil
			}
			if err := s.store.CreateUserWithIdentity(ctx, &u, &nid); models.IsKind(err, models.Conflict) {
				return SignIn{}, models.CodeAccountExists, nil // created meanwhile
			} else if err != nil {
				return SignIn{}, "", err
			}
			s.record(ctx, cl, event{typ: models.EventRegister, userID: u.ID, email: u.Email, detail: "method: oidc (" + name + ")"})
			if !u.EmailVerified && s.email.Verification != VerificationOff {
				if err := s.queue(ctx, models.MailVerifyEmail, u.Email, u.ID, ""); err != nil && !errors.Is(err, ErrEmailUnavailable) {
					return SignIn{}, "", err
				}
			}
		default:
			return SignIn{}, "", err
		}
	}
	if u.Disabled() {
		return SignIn{}, models.CodeAccessDenied, nil
	}
	// First proof of an address: the provider verified exactly this one.
	if !u.EmailVerified && c.EmailVerified && c.Email == u.Email {
		if u, err = s.firstProof(ctx, cl, u, s.presentingSession(ctx, pres, u.ID), true); err != nil {
			if models.CodeOf(err) == models.CodeInvalidToken {
				return SignIn{}, models.CodeAccessDenied, nil // the user changed meanwhile
			}
			return SignIn{}, "", err
		}
	}
	if required && !u.EmailVerified {
		return SignIn{}, models.CodeEmailNotVerified, nil
	}
	in, err := s.signIn(ctx, cl, nil, u, false, AMROIDC)
	if errors.Is(err, ErrInvalidCreds) {
		return SignIn{}, models.CodeAccessDenied, nil // credentials changed meanwhile
	} else if err != nil {
		return SignIn{}, "", err
	}
	if in.MFA == nil {
		s.record(ctx, cl, event{typ: models.EventLoginSucceeded, userID: u.ID, sessionID: in.Session.ID, email: u.Email, detail: "oidc: " + name})
	}
	return in, "", nil
}

// identityName is the name a new user gets: the provider's, else the
// email's local part.
func identityName(c OIDCClaims) string {
	if n := models.NormalizeName(c.Name); models.NameProblem(n) == "" {
		return n
	}
	local, _, _ := strings.Cut(c.Email, "@")
	if n := models.NormalizeName(local); models.NameProblem(n) == "" {
		return n
	}
	return "User"
}

// linkFromFlow links the identity of a finished flow to the user whose
// session started it, provided that very session is presented and live.
func (s *Service) linkFromFlow(ctx context.Context, cl Client, f oidcFlow, c OIDCClaims, pres Presented) (models.Code, error) {
	if s.presentingSession(ctx, pres, f.LinkUser) != f.LinkSession {
		return models.CodeInvalidState, nil
	}
	u, err := s.store.UserByID(ctx, f.LinkUser)
	if err != nil || u.Disabled() {
		return models.CodeAccessDenied, nil
	}
	switch id, err := s.store.IdentityBySubject(ctx, c.Issuer, c.Subject); {
	case err == nil && id.UserID == u.ID:
		return "", nil // already linked
	case err == nil:
		return models.CodeIdentityTaken, nil
	case !models.IsKind(err, models.NotFound):
		return "", err
	}
	now := s.now()
	nid := models.Identity{UserID: u.ID, Provider: f.Provider, Issuer: c.Issuer, Subject: c.Subject, Email: c.Email,
		EmailVerified: c.EmailVerified, CreatedAt: now, LastUsedAt: now}
	if err := s.store.LinkIdentity(ctx, &nid); models.IsKind(err, models.Conflict) {
		return models.CodeIdentityTaken, nil
	} else if err != nil {
		return "", err
	}
	s.record(ctx, cl, event{typ: models.EventIdentityLinked, userID: u.ID, sessionID: f.LinkSession, email: u.Email, detail: f.Provider})
	return "", nil
}

// Identities lists the caller's identities.
func (s *Service) Identities(ctx context.Context, userID string) ([]models.Identity, error) {
	return s.store.Identities(ctx, userID)
}

// UnlinkIdentity removes one of the caller's identities (a fresh session),
// unless it is their only way in: no password, no passkey and no other
// identity.
func (s *Service) UnlinkIdentity(ctx context.Context, cl Client, p *Principal, id string) error {
	if err := s.requireFresh(ctx, p); err != nil {
		return err
	}
	id, ok := canonicalID(id)
	if !ok {
		return errNoIdentity
	}
	found, err := s.store.UnlinkIdentity(ctx, p.User.ID, id, lastLoginMethod)
	if err != nil {
		return err
	}
	if !found {
		return errNoIdentity
	}
	s.record(ctx, cl, event{typ: models.EventIdentityUnlinked, userID: p.User.ID, sessionID: p.Session.ID, email: p.User.Email})
	return nil
}

// lastLoginMethod refuses a removal that would leave a user no way in but
// the mailed code (409 last_login_method). The store calls it with the
// user's row locked, so two removals racing cannot both pass it.
func lastLoginMethod(left models.LoginMethods) error {
	if left.None() {
		return ErrLastLoginMethod
	}
	return nil
}

// randomString returns n random bytes, base64url: state, nonce and PKCE
// verifier (32 bytes: 256 bits).
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// asciiLower lower-cases the ASCII letters of s and nothing else.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}
