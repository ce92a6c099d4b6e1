package auth

import (
	"context"
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
)

// EmailStore keeps one-time tokens and queued mail.
type EmailStore interface {
	IssueToken(ctx context.Context, t *models.OneTimeToken) error
	TokenByHash(ctx context.Context, purpose models.TokenPurpose, hash string, now time.Time) (models.OneTimeToken, error)
	ConsumeToken(ctx context.Context, purpose models.TokenPurpose, hash string, now time.Time) (models.OneTimeToken, error)
	ConsumeCode(ctx context.Context, purpose models.TokenPurpose, email, codeHash string, maxAttempts int, now time.Time) (models.OneTimeToken, bool, error)
	ConsumeUserTokens(ctx context.Context, userID string, purpose models.TokenPurpose, now time.Time) error
	MarkEmailVerified(ctx context.Context, userID, email string) error
	ChangeEmail(ctx context.Context, userID, from, to string, now time.Time) (models.User, error)
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

// Token lifetimes and limits (email.md).
var defaultTTL = map[models.TokenPurpose]time.Duration{
	models.PurposeVerifyEmail:   24 * time.Hour,
	models.PurposeResetPassword: 30 * time.Minute,
	models.PurposeChangeEmail:   time.Hour,
	models.PurposeSignIn:        10 * time.Minute,
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
}

// queue asks the outbox worker for a message. Requests never talk to SMTP
// and do the same work whether or not the address has an account: the
// worker decides.
func (s *Service) queue(ctx context.Context, kind models.MailKind, recipient, userID, newEmail string) error {
	if s.email.Templates == nil {
		return ErrEmailUnavailable
	}
	err := s.store.Enqueue(ctx, models.MailRequest{Kind: kind, Recipient: recipient, UserID: userID, NewEmail: newEmail, CreatedAt: s.now()})
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
	return s.queue(ctx, models.MailResetPassword, u.Email, u.ID, "")
}

// RequestEmailChange mails a confirmation link to newEmail. A user with a
// password proves it (currentPassword, counted toward the lockout); nothing
// is sent to an address that has an account, and the answer is the same.
func (s *Service) RequestEmailChange(ctx context.Context, cl Client, p *Principal, newEmail, currentPassword string) error {
	newEmail, err := emailField("newEmail", newEmail)
	if err != nil {
		return err
	}
	// A user with a password proves it; a password sent is always checked.
	if err := s.stepUp(ctx, cl, p, currentPassword, p.User.PasswordHash != "", ""); err != nil {
		return err
	}
	return s.queue(ctx, models.MailChangeEmail, newEmail, p.User.ID, "")
}

// hashToken is how tokens are stored: their SHA-256, hex.
func hashToken(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// hashCode salts a sign-in code with the address it was sent to.
func hashCode(email, code string) string { return hashToken(email + ":" + code) }

// VerifyEmail marks the address a verification token was sent to as verified.
func (s *Service) VerifyEmail(ctx context.Context, cl Client, raw string) (models.User, error) {
	t, err := s.consume(ctx, models.PurposeVerifyEmail, raw)
	if err != nil {
		return models.User{}, err
	}
	if err := s.store.MarkEmailVerified(ctx, t.UserID, t.Email); err != nil {
		return models.User{}, err
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return models.User{}, err
	}
	s.record(ctx, cl, event{typ: models.EventEmailVerified, userID: u.ID, email: t.Email})
	return u, nil
}

// consume uses a mailed token once; unknown, expired and used tokens are one
// error.
func (s *Service) consume(ctx context.Context, purpose models.TokenPurpose, raw string) (models.OneTimeToken, error) {
	if raw == "" || len(raw) > 128 {
		return models.OneTimeToken{}, ErrInvalidToken
	}
	t, err := s.store.ConsumeToken(ctx, purpose, hashToken(raw), s.now())
	switch {
	case models.IsKind(err, models.NotFound):
		return t, ErrInvalidToken
	case err != nil:
		return t, err
	}
	return t, nil
}

// ResetPassword sets a new password with a reset token: the policy applies
// (422, the token is not spent), the address counts as verified, every
// session ends, every outstanding reset token dies, the email's lockouts are
// lifted, and a notice is mailed. Nobody is signed in.
func (s *Service) ResetPassword(ctx context.Context, cl Client, raw, password string) error {
	if raw == "" || len(raw) > 128 {
		return ErrInvalidToken
	}
	now := s.now()
	peek, err := s.store.TokenByHash(ctx, models.PurposeResetPassword, hashToken(raw), now)
	if models.IsKind(err, models.NotFound) {
		return ErrInvalidToken
	} else if err != nil {
		return err
	}
	u, err := s.store.UserByID(ctx, peek.UserID)
	if err != nil {
		return noUserAs(err)
	}
	hash, err := s.newPasswordHash(ctx, u, password)
	if err != nil {
		return err
	}
	t, err := s.consume(ctx, models.PurposeResetPassword, raw)
	if err != nil {
		return err
	}
	if err := s.store.ChangePassword(ctx, t.UserID, hash, now); err != nil {
		return err
	}
	if err := s.store.MarkEmailVerified(ctx, t.UserID, t.Email); err != nil {
		return err
	}
	if err := s.store.ConsumeUserTokens(ctx, t.UserID, models.PurposeResetPassword, now); err != nil {
		return err
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
// sent to: it is verified, every other outstanding token dies, the user's
// sessions end except the confirming one (when the caller is signed in as
// that user), and the old address gets a notice.
func (s *Service) ConfirmEmailChange(ctx context.Context, cl Client, raw string, caller *Principal) (models.User, error) {
	t, err := s.consume(ctx, models.PurposeChangeEmail, raw)
	if err != nil {
		return models.User{}, err
	}
	old, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return models.User{}, noUserAs(err)
	}
	now := s.now()
	u, err := s.store.ChangeEmail(ctx, t.UserID, old.Email, t.Email, now)
	if models.IsKind(err, models.Conflict) {
		return models.User{}, ErrEmailTaken
	} else if err != nil {
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
func (s *Service) SignInWithToken(ctx context.Context, cl Client, raw string) (SignIn, error) {
	t, err := s.consume(ctx, models.PurposeSignIn, raw)
	if err != nil {
		return SignIn{}, err
	}
	return s.signInByMail(ctx, cl, nil, t)
}

// SignInWithCode signs in with the 8-digit code of a sign-in mail. Wrong
// codes count toward the lockout like wrong passwords, and five end the
// token.
func (s *Service) SignInWithCode(ctx context.Context, cl Client, email, code string) (SignIn, error) {
	email = models.NormalizeEmail(email)
	if models.EmailProblem(email) != "" || len(code) != 8 {
		return SignIn{}, ErrInvalidToken
	}
	g := s.passwordGuard(email, cl)
	if err := g.reserve(ctx); err != nil {
		return SignIn{}, err
	}
	defer g.release(ctx)
	t, ok, err := s.store.ConsumeCode(ctx, models.PurposeSignIn, email, hashCode(email, code), maxCodeAttempts, s.now())
	switch {
	case models.IsKind(err, models.NotFound) || (err == nil && !ok):
		g.failed(ctx)
		return SignIn{}, ErrInvalidToken
	case err != nil:
		g.release(ctx)
		return SignIn{}, err
	}
	return s.signInByMail(ctx, cl, g, t)
}

// signInByMail starts a session for the user a mailed token proved (or the
// second step, for a user with a second factor): the address counts as
// verified. g is the lockout guard of a mailed code (nil for a link).
func (s *Service) signInByMail(ctx context.Context, cl Client, g *guard, t models.OneTimeToken) (SignIn, error) {
	u, err := s.store.UserByID(ctx, t.UserID)
	if err != nil || u.Disabled() || u.Email != t.Email {
		return SignIn{}, ErrInvalidToken
	}
	if !u.EmailVerified {
		if err := s.store.MarkEmailVerified(ctx, u.ID, u.Email); err != nil {
			return SignIn{}, err
		}
		u.EmailVerified = true
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
