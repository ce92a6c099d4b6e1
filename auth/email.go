package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"time"

	"github.com/portcullis-auth/portcullis/mail"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/token"
)

// EmailStore keeps one-time tokens and queued mail.
type EmailStore interface {
	IssueToken(ctx context.Context, t *models.OneTimeToken) error
	// TokenByHash, ConsumeToken and ConsumeCode take every hash the token
	// or code may be stored under (one per key of the ring, then the legacy
	// SHA-256).
	TokenByHash(ctx context.Context, purpose models.TokenPurpose, hashes []string, now time.Time) (models.OneTimeToken, error)
	ConsumeToken(ctx context.Context, purpose models.TokenPurpose, hashes []string, now time.Time) (models.OneTimeToken, error)
	ConsumeCode(ctx context.Context, purpose models.TokenPurpose, email string, codeHashes []string, maxAttempts int, now time.Time) (models.OneTimeToken, bool, error)
	ConsumeUserTokens(ctx context.Context, userID string, purpose models.TokenPurpose, now time.Time) error
	MarkEmailVerified(ctx context.Context, userID, email string) error
	// ChangeEmail swaps the address of a user still enabled and at version,
	// moving the version on; NotFound when the user changed meanwhile.
	ChangeEmail(ctx context.Context, userID, to string, version int64, now time.Time) (before, after models.User, err error)
	// ResetPassword sets a password (and verifies the address) for a user
	// still enabled and at version, moving the version on; NotFound
	// otherwise.
	ResetPassword(ctx context.Context, userID, hash string, version int64, now time.Time) error
	// ProveAddress marks an unverified address verified and moves the
	// version on (voiding the password with voidPassword) for a user still
	// enabled, at version and at that address; NotFound otherwise.
	ProveAddress(ctx context.Context, userID, email string, version int64, voidPassword bool, now time.Time) (models.User, error)
	Enqueue(ctx context.Context, r models.MailRequest) error
	RecentMail(ctx context.Context, kind models.MailKind, recipient string, since time.Time) (int64, time.Time, error)
}

// Verification is the email verification policy (AUTH_EMAIL_VERIFICATION).
type Verification string

// Verification policies.
const (
	VerificationOff      Verification = "off"
	VerificationOptional Verification = "optional"
	VerificationRequired Verification = "required"
)

// Email is how the service mails users.
type Email struct {
	// Templates render messages; nil means no mail at all (production
	// without AUTH_SMTP_URL): the endpoints that need mail answer 503.
	Templates    *mail.Templates
	AppURL       string
	Verification Verification
	// TTL overrides a purpose's token lifetime.
	TTL map[models.TokenPurpose]time.Duration
	// Kick tells the outbox worker that mail was queued.
	Kick func()
}

// EmailHooks, when set (tests only), run where a race of the email flows can
// be forced.
type EmailHooks struct {
	// BeforeEmailSwap runs when an email change token has been consumed and
	// checked, just before the address is swapped.
	BeforeEmailSwap func()
	// BeforeResolve runs when the outbox worker starts resolving a mail
	// request of kind, before it reads the account.
	BeforeResolve func(kind models.MailKind)
}

// Token lifetimes and limits (email.md).
var defaultTTL = map[models.TokenPurpose]time.Duration{
	models.PurposeVerifyEmail:   24 * time.Hour,
	models.PurposeResetPassword: 30 * time.Minute,
	models.PurposeChangeEmail:   time.Hour,
	models.PurposeSignIn:        10 * time.Minute,
	models.PurposeInvite:        7 * 24 * time.Hour,
}

const (
	maxCodeAttempts = 5
	mailPerHour     = 5
	mailSpacing     = time.Minute
)

// Errors of the email flows.
var (
	ErrInvalidToken     = &models.Error{Kind: models.BadRequest, Code: models.CodeInvalidToken, Message: "the link or code is invalid, expired or already used; ask for a new one"}
	ErrEmailNotVerified = &models.Error{Kind: models.Forbidden, Code: models.CodeEmailNotVerified, Message: "confirm your email address first: follow the link we sent, or ask for a new one"}
	ErrEmailUnavailable = &models.Error{Kind: models.Unavailable, Code: models.CodeEmailUnavailable, Message: "this service cannot send mail; ask its operator to set AUTH_SMTP_URL"}
)

// mailLink is where a mailed token leads: a frontend page whose button POSTs
// the token (no token is consumed by a GET; mail scanners follow links).
var mailLink = map[models.TokenPurpose]string{
	models.PurposeVerifyEmail:   "/verify-email",
	models.PurposeResetPassword: "/reset-password",
	models.PurposeChangeEmail:   "/confirm-email-change",
	models.PurposeSignIn:        "/sign-in",
	models.PurposeInvite:        "/reset-password",
}

// queue asks the outbox worker for a message. Requests never talk to SMTP
// and do the same work whether or not the address has an account: the
// worker decides.
func (s *Service) queue(ctx context.Context, kind models.MailKind, recipient, userID, newEmail string) error {
	return s.enqueue(ctx, models.MailRequest{Kind: kind, Recipient: recipient, UserID: userID, NewEmail: newEmail})
}

// enqueue queues r, made now.
func (s *Service) enqueue(ctx context.Context, r models.MailRequest) error {
	if s.email.Templates == nil {
		return ErrEmailUnavailable
	}
	r.CreatedAt = s.now()
	err := s.store.Enqueue(ctx, r)
	if err == nil && s.email.Kick != nil {
		s.email.Kick()
	}
	return err
}

// emailField checks an address a caller names (422 when malformed).
func emailField(field, email string) (string, error) {
	email = models.NormalizeEmail(email)
	if p := models.EmailProblem(email); p != "" {
		fields := models.FieldErrors{}
		fields.Add(field, p)
		return "", fields.Err()
	}
	return email, nil
}

// RequestVerification mails a new verification link to email, if it has an
// unverified account; the answer is the same either way.
func (s *Service) RequestVerification(ctx context.Context, email string) error {
	email, err := emailField("email", email)
	if err != nil {
		return err
	}
	return s.queue(ctx, models.MailVerifyEmail, email, "", "")
}

// ForgotPassword mails a reset link to email, if it has an enabled account;
// the answer is the same either way.
func (s *Service) ForgotPassword(ctx context.Context, email string) error {
	email, err := emailField("email", email)
	if err != nil {
		return err
	}
	return s.queue(ctx, models.MailResetPassword, email, "", "")
}

// RequestSignInCode mails a sign-in link and code to email, if it has an
// enabled account; the answer is the same either way.
func (s *Service) RequestSignInCode(ctx context.Context, email string) error {
	email, err := emailField("email", email)
	if err != nil {
		return err
	}
	return s.queue(ctx, models.MailSignInCode, email, "", "")
}

// AdminPasswordReset mails a reset link to a user, at an administrator's
// request (a fresh session: DESIGN.md, "Fresh").
func (s *Service) AdminPasswordReset(ctx context.Context, by *Principal, id string) error {
	if err := s.requireFreshAdmin(ctx, by); err != nil {
		return err
	}
	u, err := s.User(ctx, id)
	if err != nil {
		return err
	}
	// Made under the user's credentials as they are now: if they change
	// before the worker issues the token (an email change, a reset), the
	// request is dropped.
	version := u.CredentialVersion
	return s.enqueue(ctx, models.MailRequest{Kind: models.MailResetPassword, Recipient: u.Email, UserID: u.ID, CredentialVersion: &version})
}

// RequestEmailChange mails a confirmation link to newEmail. A user with a
// password proves it (currentPassword, counted toward the lockout); nothing
// is sent to an address that has an account, and the answer is the same.
func (s *Service) RequestEmailChange(ctx context.Context, cl Client, p *Principal, newEmail, currentPassword string) error {
	newEmail, err := emailField("newEmail", newEmail)
	if err != nil {
		return err
	}
	if err := s.domainErr("newEmail", newEmail); err != nil {
		return err
	}
	// A user with a password proves it; a password sent is always checked.
	if err := s.stepUp(ctx, cl, p, currentPassword, p.User.PasswordHash != "", ""); err != nil {
		return err
	}
	// Made under the caller's credentials: if they change before the worker
	// issues the token (the owner resets the password), nothing is sent.
	version := p.User.CredentialVersion
	return s.enqueue(ctx, models.MailRequest{Kind: models.MailChangeEmail, Recipient: newEmail, UserID: p.User.ID, CredentialVersion: &version})
}

// tokenHashInfo is the HKDF purpose of the keys mailed tokens and codes
// are stored under.
const tokenHashInfo = "portcullis mailed tokens and codes v1"

// storedHash is how a mailed token or code is stored: its HMAC-SHA-256
// under the key derived from the current session key. Without the key a
// copy of the database cannot test guesses of an 8-digit code offline.
func (s *Service) storedHash(input string) string { return macHex(s.tokenKeys[0], input) }

// lookupHashes are every form input may be stored in: its HMAC under the
// key derived from each session key (a token issued before a rotation), then
// the plain SHA-256 rows written before keyed hashes (kept working until they
// expire).
func (s *Service) lookupHashes(input string) []string {
	out := make([]string, 0, len(s.tokenKeys)+1)
	for _, k := range s.tokenKeys {
		out = append(out, macHex(k, input))
	}
	return append(out, hashToken(input))
}

// hashToken is the SHA-256 of raw, hex: how tokens were stored before keyed
// hashes.
func hashToken(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

func macHex(key []byte, input string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(input))
	return hex.EncodeToString(m.Sum(nil))
}

// codeInput is what a sign-in code is hashed as: salted with the address it
// was sent to.
func codeInput(email, code string) string { return email + ":" + code }

// Presented are the session tokens a request carries (the access token from
// the Authorization header or the cookie, else the refresh cookie): the
// first proof of an address keeps the session they name.
type Presented struct {
	Access  string
	Refresh string
}

// presentingSession is the session a request presents, if it is a live
// session of userID: the one its access token names (signature checked,
// expiry not), else its refresh token's. "" when there is none.
func (s *Service) presentingSession(ctx context.Context, p Presented, userID string) string {
	claims, err := s.keys.OpenIgnoringExpiry(p.Access, token.TypeAccess)
	if p.Access == "" || err != nil {
		if claims, err = s.keys.OpenIgnoringExpiry(p.Refresh, token.TypeRefresh); p.Refresh == "" || err != nil {
			return ""
		}
	}
	sess, _, err := s.store.SessionWithUser(ctx, claims.SessionID, true)
	if err != nil || sess.UserID != userID || (claims.Subject != "" && claims.Subject != userID) || !sess.Live(s.now()) {
		return ""
	}
	return sess.ID
}

// tokenUser returns the user of a consumed mailed token, if the token is
// still good for them: the user is enabled and, for every purpose but
// verification, still at the credential version the token was issued
// under (a password change or reset, disable, email change or factor change
// since kills it).
func (s *Service) tokenUser(ctx context.Context, t models.OneTimeToken) (models.User, error) {
	u, err := s.store.UserByID(ctx, t.UserID)
	switch {
	case models.IsKind(err, models.NotFound):
		return u, ErrInvalidToken
	case err != nil:
		return u, err
	case u.Disabled() || (t.Purpose != models.PurposeVerifyEmail && u.CredentialVersion != t.CredentialVersion):
		return u, ErrInvalidToken
	case t.Purpose != models.PurposeChangeEmail && u.Email != t.Email:
		// Issued to an address the account no longer has.
		return u, ErrInvalidToken
	}
	return u, nil
}

// firstProof applies "First proof of an address" to u, whose unverified
// address was just proven: the address is verified, the credential version
// moves on and every session but keep ends; a proof that is itself a
// sign-in (voidPassword) also removes a password set before the address
// was proven, audited and mailed. It returns the user as now stored.
func (s *Service) firstProof(ctx context.Context, cl Client, u models.User, keep string, voidPassword bool) (models.User, error) {
	voided := voidPassword && u.PasswordHash != ""
	nu, err := s.store.ProveAddress(ctx, u.ID, u.Email, u.CredentialVersion, voided, s.now())
	if models.IsKind(err, models.NotFound) {
		return models.User{}, ErrInvalidToken // changed meanwhile: proven, disabled, new credentials
	} else if err != nil {
		return models.User{}, err
	}
	// An identity linked before the proof whose provider did not verify
	// this address is the provider's twin of a pre-registration password:
	// it goes too (the proving identity, if any, verified it and stays).
	// Before the sessions end, so a sign-in racing this is ended with them.
	if err := s.dropUnprovenIdentities(ctx, cl, u); err != nil {
		return models.User{}, err
	}
	r := Revocation{UserID: u.ID, Scope: ScopeGlobal, Reason: ReasonAddressProven, Email: u.Email}
	if keep != "" {
		r.Scope, r.SessionID = ScopeOthers, keep
	}
	if _, err := s.Revoke(ctx, cl, r); err != nil {
		return models.User{}, err
	}
	if voided {
		s.record(ctx, cl, event{typ: models.EventPasswordVoided, userID: u.ID, email: u.Email,
			detail: "set before the address was proven; removed by the first sign-in by mail"})
		s.notify(ctx, cl, models.MailPasswordRemoved, nu)
	}
	return nu, nil
}

// dropUnprovenIdentities unlinks, at the first proof of u's address, every
// identity whose provider did not verify that address, and audits it.
func (s *Service) dropUnprovenIdentities(ctx context.Context, cl Client, u models.User) error {
	n, err := s.store.DropUnprovenIdentities(ctx, u.ID, u.Email)
	if err == nil && n > 0 {
		s.record(ctx, cl, event{typ: models.EventIdentityUnlinked, userID: u.ID, email: u.Email,
			detail: "linked before the address was proven, by a provider that did not verify it; removed by the first proof"})
	}
	return err
}

// VerifyEmail marks the address a verification token was sent to as
// verified (refused while the user is disabled). The first proof of an
// address ends every other session of the account (all of them unless the
// request presents one of its sessions) and moves the credential version on.
func (s *Service) VerifyEmail(ctx context.Context, cl Client, raw string, pres Presented) (models.User, error) {
	t, err := s.consume(ctx, models.PurposeVerifyEmail, raw)
	if err != nil {
		return models.User{}, err
	}
	u, err := s.tokenUser(ctx, t)
	if err != nil {
		return models.User{}, err
	}
	if u.Email != t.Email {
		return models.User{}, ErrInvalidToken // the account has moved to another address since
	}
	if !u.EmailVerified {
		if u, err = s.firstProof(ctx, cl, u, s.presentingSession(ctx, pres, u.ID), false); err != nil {
			return models.User{}, err
		}
	}
	s.record(ctx, cl, event{typ: models.EventEmailVerified, userID: u.ID, email: t.Email})
	return u, nil
}

// consume uses a mailed token once; unknown, expired and used tokens are one
// error, and so is a token its user can no longer use (tokenUser), which is
// refused before it is spent: a verification link refused while the user
// is disabled works again once they are enabled. Callers check tokenUser
// again after consuming, for a change that raced this one.
func (s *Service) consume(ctx context.Context, purpose models.TokenPurpose, raw string) (models.OneTimeToken, error) {
	if raw == "" || len(raw) > 128 {
		return models.OneTimeToken{}, ErrInvalidToken
	}
	hashes, now := s.lookupHashes(raw), s.now()
	peek, err := s.store.TokenByHash(ctx, purpose, hashes, now)
	if err == nil {
		_, err = s.tokenUser(ctx, peek)
	}
	if err != nil {
		return models.OneTimeToken{}, asInvalidToken(err)
	}
	t, err := s.store.ConsumeToken(ctx, purpose, hashes, now)
	return t, asInvalidToken(err)
}

// asInvalidToken answers a token that is not there with ErrInvalidToken.
func asInvalidToken(err error) error {
	if models.IsKind(err, models.NotFound) {
		return ErrInvalidToken
	}
	return err
}

// ResetPassword sets a new password with a reset token: the policy applies
// (422, the token is not spent), the address counts as verified, the
// credential version moves on, every session ends, every outstanding reset
// token dies, the email's lockouts are lifted, and a notice is mailed.
// Nobody is signed in. A token issued before the user's credentials changed,
// or used while the user is disabled, is refused.
func (s *Service) ResetPassword(ctx context.Context, cl Client, raw, password string) error {
	if raw == "" || len(raw) > 128 {
		return ErrInvalidToken
	}
	now := s.now()
	// An invitation's token sets the first password the same way.
	purpose := models.PurposeResetPassword
	peek, err := s.store.TokenByHash(ctx, purpose, s.lookupHashes(raw), now)
	if models.IsKind(err, models.NotFound) {
		purpose = models.PurposeInvite
		peek, err = s.store.TokenByHash(ctx, purpose, s.lookupHashes(raw), now)
	}
	if err != nil {
		return asInvalidToken(err)
	}
	u, err := s.tokenUser(ctx, peek)
	if err != nil {
		return err
	}
	hash, err := s.newPasswordHash(ctx, cl, u, password)
	if err != nil {
		return err
	}
	t, err := s.consume(ctx, purpose, raw)
	if err != nil {
		return err
	}
	if err := s.store.ResetPassword(ctx, t.UserID, hash, t.CredentialVersion, now); models.IsKind(err, models.NotFound) {
		return ErrInvalidToken
	} else if err != nil {
		return err
	}
	if err := s.store.ConsumeUserTokens(ctx, t.UserID, purpose, now); err != nil {
		return err
	}
	if !u.EmailVerified {
		// The reset (or invitation) was the first proof of the address: it
		// is verified now, and identities no provider verified it for go, as
		// with every first proof.
		if err := s.dropUnprovenIdentities(ctx, cl, u); err != nil {
			return err
		}
		s.record(ctx, cl, event{typ: models.EventEmailVerified, userID: u.ID, email: u.Email, detail: "by " + string(purpose)})
	}
	if _, err := s.Revoke(ctx, cl, Revocation{UserID: t.UserID, Scope: ScopeGlobal, Reason: ReasonPasswordReset, Email: u.Email}); err != nil {
		return err
	}
	if err := s.lockout.Clear(ctx, lockPrefix(u.Email)); err != nil {
		s.log(cl).Warn("lockout store unavailable", "error", err.Error())
	}
	s.notify(ctx, cl, models.MailPasswordChanged, u)
	return nil
}

// notify queues a notice about u's account; a notice that cannot be queued
// is logged and does not fail what it reports.
func (s *Service) notify(ctx context.Context, cl Client, kind models.MailKind, u models.User) {
	if err := s.queue(ctx, kind, u.Email, u.ID, ""); err != nil && !errors.Is(err, ErrEmailUnavailable) {
		s.log(cl).Warn("notice not queued", "kind", string(kind), "error", err.Error())
	}
}

// ConfirmEmailChange swaps a user's address for the one a change token was
// sent to: it is verified, the credential version moves on, every other
// outstanding token dies, the user's sessions end except the confirming one
// (when the caller is signed in as that user), and the old address gets a
// notice. A token issued before the user's credentials changed (a password
// change or reset, disable, factor change, another email change), or used
// while the user is disabled, is refused.
func (s *Service) ConfirmEmailChange(ctx context.Context, cl Client, raw string, caller *Principal) (models.User, error) {
	t, err := s.consume(ctx, models.PurposeChangeEmail, raw)
	if err != nil {
		return models.User{}, err
	}
	if _, err := s.tokenUser(ctx, t); err != nil {
		return models.User{}, err
	}
	if s.emailHooks != nil && s.emailHooks.BeforeEmailSwap != nil {
		s.emailHooks.BeforeEmailSwap()
	}
	now := s.now()
	old, u, err := s.store.ChangeEmail(ctx, t.UserID, t.Email, t.CredentialVersion, now)
	switch {
	case models.IsKind(err, models.Conflict):
		return models.User{}, ErrEmailTaken
	case models.IsKind(err, models.NotFound):
		return models.User{}, ErrInvalidToken
	case err != nil:
		return models.User{}, err
	}
	if err := s.store.ConsumeUserTokens(ctx, u.ID, "", now); err != nil {
		return models.User{}, err
	}
	keep := Revocation{UserID: u.ID, Scope: ScopeGlobal, Reason: ReasonEmailChange, Email: u.Email}
	if caller != nil && caller.User.ID == u.ID {
		keep.Scope, keep.SessionID = ScopeOthers, caller.Session.ID
	}
	if _, err := s.Revoke(ctx, cl, keep); err != nil {
		return models.User{}, err
	}
	s.record(ctx, cl, event{typ: models.EventEmailChanged, userID: u.ID, email: u.Email, detail: "from " + old.Email})
	if err := s.queue(ctx, models.MailEmailChanged, old.Email, u.ID, u.Email); err != nil && !errors.Is(err, ErrEmailUnavailable) {
		s.log(cl).Warn("email change notice not queued", "error", err.Error())
	}
	return u, nil
}

// SignInWithToken signs in with the link of a sign-in mail.
func (s *Service) SignInWithToken(ctx context.Context, cl Client, raw string, pres Presented) (SignIn, error) {
	t, err := s.consume(ctx, models.PurposeSignIn, raw)
	if err != nil {
		return SignIn{}, err
	}
	return s.signInByMail(ctx, cl, nil, t, pres)
}

// SignInWithCode signs in with the 8-digit code of a sign-in mail. Wrong
// codes count toward the lockout like wrong passwords, and five end the
// token.
func (s *Service) SignInWithCode(ctx context.Context, cl Client, email, code string, pres Presented) (SignIn, error) {
	email = models.NormalizeEmail(email)
	if models.EmailProblem(email) != "" {
		return SignIn{}, ErrInvalidToken
	}
	// A code that cannot be right is the request's fault: 422, counting
	// nothing and spending none of the token's attempts.
	if !allDigits(code, 8) {
		fields := models.FieldErrors{}
		fields.Add("code", "must be the 8 digits of the mail")
		return SignIn{}, fields.Err()
	}
	g := s.passwordGuard(email, cl)
	if err := g.reserve(ctx); err != nil {
		return SignIn{}, err
	}
	defer g.release(ctx)
	t, ok, err := s.store.ConsumeCode(ctx, models.PurposeSignIn, email, s.lookupHashes(codeInput(email, code)), maxCodeAttempts, s.now())
	switch {
	case models.IsKind(err, models.NotFound) || (err == nil && !ok):
		g.failed(ctx)
		return SignIn{}, ErrInvalidToken
	case err != nil:
		g.release(ctx)
		return SignIn{}, err
	}
	return s.signInByMail(ctx, cl, g, t, pres)
}

// signInByMail starts a session for the user a mailed token proved (or the
// second step, for a user with a second factor). A token issued before the
// user's credentials changed, or used while the user is disabled, is
// refused. The first proof of the address voids a password set before it
// (First proof of an address), and the session starts under the credential
// version that proof moved to. g is the lockout guard of a mailed code
// (nil for a link): only an issued session resets its count.
func (s *Service) signInByMail(ctx context.Context, cl Client, g *guard, t models.OneTimeToken, pres Presented) (SignIn, error) {
	u, err := s.tokenUser(ctx, t)
	if err != nil {
		return SignIn{}, err
	}
	if u.Email != t.Email {
		return SignIn{}, ErrInvalidToken
	}
	if !u.EmailVerified {
		if u, err = s.firstProof(ctx, cl, u, s.presentingSession(ctx, pres, u.ID), true); err != nil {
			return SignIn{}, err
		}
	}
	in, err := s.signIn(ctx, cl, g, u, false, AMREmail)
	if err != nil || in.MFA != nil {
		return in, err
	}
	s.record(ctx, cl, event{typ: models.EventLoginSucceeded, userID: u.ID, sessionID: in.Session.ID, email: u.Email, detail: "email"})
	return in, nil
}

// newToken returns a token for the URL and its stored form.
func newToken() (raw string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// newCode returns an 8-digit code.
func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%08d", n.Int64()), nil
}

// words says a duration the way a mail does.
func words(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		if d == time.Hour {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}

// link is the frontend page for a token.
func (s *Service) link(purpose models.TokenPurpose, raw string) string {
	return s.email.AppURL + mailLink[purpose] + "?token=" + url.QueryEscape(raw)
}
