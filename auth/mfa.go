package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"image/png"
	"slices"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/token"
)

// MFAStore keeps second factors, recovery codes and pending second steps.
type MFAStore interface {
	CreateFactor(ctx context.Context, f *models.Factor) error
	Factors(ctx context.Context, userID string) ([]models.Factor, error)
	ActivateFactor(ctx context.Context, id string, step int64, now time.Time) error
	DeleteFactor(ctx context.Context, userID, id string) (bool, error)
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, now time.Time) error
	RecoveryCodes(ctx context.Context, userID string) ([]models.RecoveryCode, error)
	Spend(ctx context.Context, sp models.Spend, now time.Time) (bool, error)
	RecoveryCodesLeft(ctx context.Context, userID string) (int64, error)
	DeleteRecoveryCodes(ctx context.Context, userID string) error
	DeleteMFA(ctx context.Context, userID string) error
	CreateChallenge(ctx context.Context, c *models.MFAChallenge) error
	LiveChallenge(ctx context.Context, id string, now time.Time) (models.MFAChallenge, error)
	ClaimAttempt(ctx context.Context, id string, maxAttempts int, now time.Time) (bool, error)
	CompleteChallenge(ctx context.Context, id string, sp models.Spend, now time.Time) error
	UpgradeSession(ctx context.Context, id string, aal int, amr string, authTime time.Time) error
	BumpCredentialVersion(ctx context.Context, userID string) error
}

// Second-factor methods (the methods of SecondStep) and the methods a
// session records (amr).
const (
	MethodTOTP         = "totp"
	MethodRecoveryCode = "recovery_code"
	AMROTP             = "otp"
	AMRRecovery        = "recovery"
)

const (
	mfaTokenTTL       = 5 * time.Minute
	maxMFAAttempts    = 5
	recoveryCodeCount = 10
	pendingFactorTTL  = 10 * time.Minute
	totpPeriod        = 30
)

// recoveryAlphabet is Crockford's base32 (no i, l, o or u): 32 symbols, so
// a byte modulo 32 is unbiased and 10 of them carry 50 bits.
const recoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// Errors of the second factor.
var (
	ErrInvalidCode     = &models.Error{Kind: models.Unauthenticated, Code: models.CodeInvalidCode, Message: "the code is wrong or was already used"}
	ErrInvalidMFAToken = &models.Error{Kind: models.Unauthenticated, Code: models.CodeInvalidMFAToken, Message: "this sign-in step is over (expired, used, or too many wrong codes); sign in again"}
	ErrReauthRequired  = &models.Error{Kind: models.Forbidden, Code: models.CodeReauthRequired, Message: "prove who you are again first: POST /auth/reauthenticate"}
	ErrTOTPUnavailable = &models.Error{Kind: models.NotImplemented, Code: models.CodeTOTPUnavailable, Message: "authenticator apps are not set up here: the operator must set AUTH_DATA_KEYS"}
	errNoFactor        = models.Errorf(models.NotFound, "no such factor")
)

// SecondStep is what a first factor answers for a user with a second one:
// no session yet, but a token for POST /auth/mfa/verify.
type SecondStep struct {
	Token     string
	Methods   []string
	ExpiresAt time.Time
}

// SignIn is the answer of a first factor: a session, or the second step.
type SignIn struct {
	Result
	MFA *SecondStep
}

// activeFactors returns a user's active factors.
func (s *Service) activeFactors(ctx context.Context, userID string) ([]models.Factor, error) {
	fs, err := s.store.Factors(ctx, userID)
	active := fs[:0]
	for _, f := range fs {
		if f.Status == models.FactorActive {
			active = append(active, f)
		}
	}
	return active, err
}

// signIn finishes a first factor: a user with a second factor gets the
// second step, everyone else a session. Every route that signs a user in
// goes through here, so none can skip the second step. g is the lockout
// guard of the proof (nil when it counts nothing): only an issued session
// forgets the failures; the second step leaves them for the caller's
// deferred release.
func (s *Service) signIn(ctx context.Context, cl Client, g *guard, u models.User, remember bool, amr string) (SignIn, error) {
	return s.signInAt(ctx, cl, g, u, remember, 1, amr)
}

// signInAt is signIn for a first factor of assurance level aal: one that is
// already two (a passkey that verified its user) needs no second step.
func (s *Service) signInAt(ctx context.Context, cl Client, g *guard, u models.User, remember bool, aal int, amr string) (SignIn, error) {
	totp, passkeys, err := s.factorKinds(ctx, u.ID)
	if err != nil {
		return SignIn{}, err
	}
	if totp+passkeys == 0 || aal >= 2 {
		res, err := s.start(ctx, cl, u, remember, aal, amr)
		if err == nil {
			g.succeeded(ctx)
		}
		return SignIn{Result: res}, err
	}
	now := s.now()
	ch := &models.MFAChallenge{UserID: u.ID, CredentialVersion: u.CredentialVersion, Remember: remember, AMR: amr,
		CreatedAt: now, ExpiresAt: now.Add(mfaTokenTTL)}
	if err := s.store.CreateChallenge(ctx, ch); err != nil {
		return SignIn{}, err
	}
	tok, err := s.keys.Seal(token.Claims{Type: token.TypeMFA, Subject: u.ID, JTI: ch.ID, Ver: u.CredentialVersion,
		IssuedAt: now.Unix(), Expiry: ch.ExpiresAt.Unix()})
	if err != nil {
		return SignIn{}, err
	}
	// Only the methods the user has (recovery codes may all be spent), and
	// not the first factor again.
	var methods []string
	if totp > 0 {
		methods = append(methods, MethodTOTP)
	}
	if passkeys > 0 && amr != AMRWebAuthn {
		methods = append(methods, MethodWebAuthn)
	}
	if left, err := s.store.RecoveryCodesLeft(ctx, u.ID); err != nil {
		return SignIn{}, err
	} else if left > 0 {
		methods = append(methods, MethodRecoveryCode)
	}
	return SignIn{MFA: &SecondStep{Token: tok, Methods: methods, ExpiresAt: ch.ExpiresAt}}, nil
}

// VerifyMFA finishes a sign-in with a TOTP code or a recovery code. Wrong
// codes count toward the account's lockout and are audited; the fifth ends
// the mfaToken.
func (s *Service) VerifyMFA(ctx context.Context, cl Client, mfaToken, code, recoveryCode string) (Result, error) {
	if err := codeShape(code, recoveryCode); err != nil {
		return Result{}, err
	}
	ch, u, err := s.secondStep(ctx, mfaToken)
	if err != nil {
		return Result{}, err
	}
	now := s.now()
	g := s.passwordGuard(u.Email, cl)
	if err := g.reserve(ctx); err != nil {
		return Result{}, err
	}
	defer g.release(ctx)
	// The attempt is counted before the code is checked, so the fifth
	// claimed attempt is the last whatever runs in parallel.
	if claimed, err := s.store.ClaimAttempt(ctx, ch.ID, maxMFAAttempts, now); err != nil || !claimed {
		if err != nil {
			return Result{}, err
		}
		return Result{}, ErrInvalidMFAToken
	}
	method, sp, ok, err := s.checkSecondFactor(ctx, u, code, recoveryCode)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		s.mfaFailed(ctx, cl, g, u)
		return Result{}, ErrInvalidCode
	}
	// Only the request that consumes the challenge spends its code: of six
	// recovery codes sent at once through one mfaToken, one is used.
	switch err := s.store.CompleteChallenge(ctx, ch.ID, sp, now); {
	case errors.Is(err, models.ErrChallengeConsumed):
		return Result{}, ErrInvalidMFAToken
	case errors.Is(err, models.ErrProofSpent):
		s.mfaFailed(ctx, cl, g, u)
		return Result{}, ErrInvalidCode
	case err != nil:
		return Result{}, err
	}
	u.CredentialVersion = ch.CredentialVersion
	res, err := s.start(ctx, cl, u, ch.Remember, 2, ch.AMR, method)
	if err != nil {
		return Result{}, err
	}
	// A session is issued: only now are the failures forgotten.
	g.succeeded(ctx)
	s.record(ctx, cl, event{typ: models.EventLoginSucceeded, userID: u.ID, sessionID: res.Session.ID, email: u.Email, detail: "second factor: " + method})
	return res, nil
}

// secondStep opens an mfaToken: its live challenge and user, still at the
// credential version the first factor checked.
func (s *Service) secondStep(ctx context.Context, mfaToken string) (models.MFAChallenge, models.User, error) {
	now := s.now()
	claims, err := s.keys.Open(mfaToken, token.TypeMFA, now)
	if err != nil {
		return models.MFAChallenge{}, models.User{}, ErrInvalidMFAToken
	}
	ch, err := s.store.LiveChallenge(ctx, claims.JTI, now)
	if models.IsKind(err, models.NotFound) || (err == nil && ch.UserID != claims.Subject) {
		return ch, models.User{}, ErrInvalidMFAToken
	} else if err != nil {
		return ch, models.User{}, err
	}
	u, err := s.store.UserByID(ctx, ch.UserID)
	if err != nil || u.Disabled() || u.CredentialVersion != ch.CredentialVersion {
		return ch, u, ErrInvalidMFAToken
	}
	return ch, u, nil
}

// mfaFailed records a wrong second factor: audited, counted toward the
// lockout.
func (s *Service) mfaFailed(ctx context.Context, cl Client, g *guard, u models.User) {
	failed := event{typ: models.EventMFAFailed, userID: u.ID, email: u.Email}
	s.record(ctx, cl, failed)
	if g.failed(ctx) {
		failed.typ = models.EventLockout
		s.record(ctx, cl, failed)
		s.notify(ctx, cl, models.MailMFAFailed, u)
	}
}

// checkSecondFactor checks a TOTP code or a recovery code of u without
// spending it, and returns the method it proves (amr) and what using it up
// takes. A TOTP step already used counts as a wrong code.
func (s *Service) checkSecondFactor(ctx context.Context, u models.User, code, recoveryCode string) (string, models.Spend, bool, error) {
	var (
		method string
		sp     models.Spend
		ok     bool
		err    error
	)
	switch {
	case code != "":
		method = AMROTP
		sp.FactorID, sp.Step, ok, err = s.checkTOTP(ctx, u.ID, code)
	case recoveryCode != "":
		method = AMRRecovery
		sp.RecoveryCodeID, ok, err = s.matchRecoveryCode(ctx, u.ID, recoveryCode)
	default:
		return "", sp, false, nil
	}
	if err != nil {
		return "", sp, false, err
	}
	s.hooks.codeChecked(ok)
	return method, sp, ok, nil
}

// codeShape refuses a code that cannot be right whatever the user holds
// (422 naming it) before anything is reserved, checked or counted: a
// malformed code is the request's fault, not a wrong proof (DESIGN.md,
// "Proofs and the lockout").
func codeShape(code, recoveryCode string) error {
	fields := models.FieldErrors{}
	if code != "" && !allDigits(code, 6) {
		fields.Add("code", "must be the 6 digits the authenticator app shows")
	}
	if rc := normalizeRecovery(recoveryCode); recoveryCode != "" && (len(rc) != 10 || strings.Trim(rc, recoveryAlphabet) != "") {
		fields.Add("recoveryCode", "must be a recovery code: 10 letters and digits, such as abcde-12345")
	}
	return fields.Err()
}

// allDigits reports whether s is exactly n ASCII digits.
func allDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range []byte(s) {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// normalizeRecovery reads a recovery code as typed: any case, dashes and
// spaces ignored, and the look-alikes i, l and o read as 1, 1 and 0.
func normalizeRecovery(code string) string {
	return strings.NewReplacer("-", "", " ", "", "i", "1", "l", "1", "o", "0").Replace(strings.ToLower(code))
}

// checkTOTP finds the active factor of the user a code belongs to, at the
// current time step or one either side, not used yet; it spends nothing.
func (s *Service) checkTOTP(ctx context.Context, userID, code string) (string, int64, bool, error) {
	if s.dataKeys == nil || len(code) != 6 {
		return "", 0, false, nil
	}
	factors, err := s.activeFactors(ctx, userID)
	if err != nil {
		return "", 0, false, err
	}
	for _, f := range factors {
		if step, ok := s.totpStep(f, code); ok && step > f.LastStep {
			return f.ID, step, true, nil
		}
	}
	return "", 0, false, nil
}

// totpStep returns the time step a code of f matches, now ±1.
func (s *Service) totpStep(f models.Factor, code string) (int64, bool) {
	secret, err := s.dataKeys.OpenBytes(f.Secret)
	if err != nil {
		return 0, false
	}
	now := s.now().Unix() / totpPeriod
	for _, step := range []int64{now - 1, now, now + 1} {
		want, err := totp.GenerateCodeCustom(string(secret), time.Unix(step*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// requireFresh refuses a sensitive operation unless the session proved who
// the user is within AUTH_REAUTH_WINDOW and, for a user with a second
// factor, with it (aal 2).
func (s *Service) requireFresh(ctx context.Context, p *Principal) error {
	has, err := s.hasFactor(ctx, p.User.ID)
	if err != nil {
		return err
	}
	return s.fresh(p, has)
}

// fresh is requireFresh's rule, for a caller that knows whether the user
// has a second factor.
func (s *Service) fresh(p *Principal, hasFactor bool) error {
	if s.now().Sub(p.Session.AuthTime) > s.reauthWindow || (hasFactor && p.Session.AAL < 2) {
		return ErrReauthRequired
	}
	return nil
}

// Enrollment is a pending TOTP factor and what an authenticator app needs.
type Enrollment struct {
	Factor     models.Factor
	Secret     string
	OTPAuthURI string
	QRCode     string // a data:image/png;base64 URL
}

// stepUp is the freshness rule of an operation that takes the current
// password (DESIGN.md, "Fresh"): a password sent is always checked and
// counted toward the lockout (failed, when set, is the event a wrong one is
// audited as), but it excuses a stale session only for a user without a
// factor; a user with one needs a fresh aal 2 session as well. required
// says the operation cannot go without the password.
func (s *Service) stepUp(ctx context.Context, cl Client, p *Principal, password string, required bool, failed models.EventType) error {
	has, err := s.hasFactor(ctx, p.User.ID)
	if err != nil {
		return err
	}
	fields := models.FieldErrors{}
	proved := false
	switch {
	case password == "" && required:
		fields.Add("currentPassword", "is required")
	case len(password) > models.MaxPasswordBytes:
		fields.Add("currentPassword", "is incorrect")
	case password != "":
		ok, err := s.verifyOwnPassword(ctx, cl, p, password, failed)
		if err != nil {
			return err
		}
		if !ok {
			fields.Add("currentPassword", "is incorrect")
		}
		proved = ok
	}
	if err := fields.Err(); err != nil {
		return err
	}
	if proved && !has {
		return nil
	}
	return s.fresh(p, has)
}

// EnrollTOTP starts adding an authenticator app (fresh sessions only): the
// factor stays pending until VerifyTOTP sees its first code.
func (s *Service) EnrollTOTP(ctx context.Context, p *Principal, name string) (Enrollment, error) {
	if s.email.Templates != nil && !p.User.EmailVerified {
		return Enrollment{}, ErrEmailNotVerified // First proof of an address: verify first
	}
	if s.dataKeys == nil {
		return Enrollment{}, ErrTOTPUnavailable
	}
	if err := s.requireFresh(ctx, p); err != nil {
		return Enrollment{}, err
	}
	name = models.NormalizeName(name)
	if name == "" {
		name = "Authenticator app"
	}
	if p := models.NameProblem(name); p != "" {
		fields := models.FieldErrors{}
		fields.Add("name", p)
		return Enrollment{}, fields.Err()
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Portcullis", AccountName: p.User.Email, SecretSize: 20,
		Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return Enrollment{}, err
	}
	sealed, err := s.dataKeys.SealBytes([]byte(key.Secret()))
	if err != nil {
		return Enrollment{}, err
	}
	if err := s.dropExpiredPending(ctx, p.User.ID); err != nil {
		return Enrollment{}, err
	}
	f := models.Factor{UserID: p.User.ID, Type: MethodTOTP, Name: name, Secret: sealed, Status: models.FactorPending, CreatedAt: s.now()}
	if err := s.store.CreateFactor(ctx, &f); err != nil {
		return Enrollment{}, err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return Enrollment{}, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Enrollment{}, err
	}
	return Enrollment{Factor: f, Secret: key.Secret(), OTPAuthURI: key.URL(),
		QRCode: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())}, nil
}

// VerifyTOTP activates a pending factor with its first code. The first
// factor of a user returns 10 recovery codes (shown once), raises the
// current session to aal 2, and ends every other session.
func (s *Service) VerifyTOTP(ctx context.Context, cl Client, p *Principal, id, code string) (models.Factor, []string, error) {
	id, ok := canonicalID(id)
	if !ok {
		return models.Factor{}, nil, errNoFactor
	}
	fs, err := s.store.Factors(ctx, p.User.ID)
	if err != nil {
		return models.Factor{}, nil, err
	}
	i := slices.IndexFunc(fs, func(f models.Factor) bool { return f.ID == id })
	if i < 0 || fs[i].Status != models.FactorPending || s.expiredPending(fs[i]) {
		return models.Factor{}, nil, errNoFactor
	}
	// The first factor of either kind: no authenticator app, no passkey.
	first := !slices.ContainsFunc(fs, func(f models.Factor) bool { return f.Status == models.FactorActive })
	if pks, err := s.store.Passkeys(ctx, p.User.ID); err != nil {
		return models.Factor{}, nil, err
	} else if len(pks) > 0 {
		first = false
	}
	if err := codeShape(code, ""); err != nil || code == "" {
		fields := models.FieldErrors{}
		fields.Add("code", "must be the 6 digits the authenticator app shows")
		return models.Factor{}, nil, fields.Err()
	}
	g := s.passwordGuard(p.User.Email, cl)
	if err := g.reserve(ctx); err != nil {
		return models.Factor{}, nil, err
	}
	step, ok := s.totpStep(fs[i], code)
	if !ok {
		s.mfaFailed(ctx, cl, g, p.User)
		fields := models.FieldErrors{}
		fields.Add("code", "is wrong; enter the current code of the authenticator app")
		return models.Factor{}, nil, fields.Err()
	}
	g.release(ctx) // no session is issued: the failures stay
	now := s.now()
	if err := s.store.ActivateFactor(ctx, id, step, now); err != nil {
		return models.Factor{}, nil, err
	}
	f := fs[i]
	f.Status, f.VerifiedAt, f.LastUsedAt = models.FactorActive, &now, &now
	var codes []string
	if first {
		if codes, err = s.newRecoveryCodes(ctx, p.User.ID); err != nil {
			return models.Factor{}, nil, err
		}
	}
	if err := s.factorsChanged(ctx, p.User.ID); err != nil {
		return models.Factor{}, nil, err
	}
	amr := strings.Join(append(p.Session.Methods(), AMROTP), ",")
	if err := s.store.UpgradeSession(ctx, p.Session.ID, 2, amr, now); err != nil {
		return models.Factor{}, nil, err
	}
	if _, err := s.Revoke(ctx, cl, Revocation{UserID: p.User.ID, SessionID: p.Session.ID, Scope: ScopeOthers, Reason: ReasonMFAEnrolled, Email: p.User.Email}); err != nil {
		return models.Factor{}, nil, err
	}
	s.notify(ctx, cl, models.MailMFAEnrolled, p.User)
	return f, codes, nil
}

// factorsChanged moves the credential version on: second steps and logins
// begun before no longer start a session.
func (s *Service) factorsChanged(ctx context.Context, userID string) error {
	return s.store.BumpCredentialVersion(ctx, userID)
}

// newRecoveryCodes replaces a user's recovery codes and returns the new ones.
func (s *Service) newRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	codes := make([]string, recoveryCodeCount)
	for i := range codes {
		b := make([]byte, 10)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		for j := range b {
			b[j] = recoveryAlphabet[int(b[j])%len(recoveryAlphabet)]
		}
		codes[i] = string(b[:5]) + "-" + string(b[5:])
	}
	hashes, err := s.recoveryHashes(ctx, codes)
	if err != nil {
		return nil, err
	}
	return codes, s.store.ReplaceRecoveryCodes(ctx, userID, hashes, s.now())
}

// Factors lists the caller's factors and how many recovery codes are left.
func (s *Service) Factors(ctx context.Context, p *Principal) ([]models.Factor, int64, error) {
	fs, err := s.store.Factors(ctx, p.User.ID)
	if err != nil {
		return nil, 0, err
	}
	fs = slices.DeleteFunc(fs, s.expiredPending)
	left, err := s.store.RecoveryCodesLeft(ctx, p.User.ID)
	return fs, left, err
}

// expiredPending says whether f is an enrolment nobody finished in time.
func (s *Service) expiredPending(f models.Factor) bool {
	return f.Status == models.FactorPending && s.now().Sub(f.CreatedAt) > pendingFactorTTL
}

// dropExpiredPending deletes the user's unfinished enrolments, so starting
// over and over leaves no rows behind.
func (s *Service) dropExpiredPending(ctx context.Context, userID string) error {
	fs, err := s.store.Factors(ctx, userID)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if s.expiredPending(f) {
			if _, err := s.store.DeleteFactor(ctx, userID, f.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// RemoveFactor removes one of the caller's factors (fresh, aal 2); the last
// one takes the recovery codes with it.
func (s *Service) RemoveFactor(ctx context.Context, cl Client, p *Principal, id string) error {
	if err := s.requireFresh(ctx, p); err != nil {
		return err
	}
	if p.Session.AAL < 2 {
		return ErrReauthRequired
	}
	id, ok := canonicalID(id)
	if !ok {
		return errNoFactor
	}
	found, err := s.store.DeleteFactor(ctx, p.User.ID, id)
	if err != nil {
		return err
	}
	if !found {
		return errNoFactor
	}
	if left, err := s.hasFactor(ctx, p.User.ID); err != nil {
		return err
	} else if !left {
		if err := s.store.DeleteRecoveryCodes(ctx, p.User.ID); err != nil {
			return err
		}
	}
	if err := s.factorsChanged(ctx, p.User.ID); err != nil {
		return err
	}
	s.record(ctx, cl, event{typ: models.EventMFARemoved, userID: p.User.ID, sessionID: p.Session.ID, email: p.User.Email})
	s.notify(ctx, cl, models.MailMFARemoved, p.User)
	return nil
}

// RegenerateRecoveryCodes voids the caller's recovery codes and returns a
// new set (fresh, aal 2), audited.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, cl Client, p *Principal) ([]string, error) {
	if err := s.requireFresh(ctx, p); err != nil {
		return nil, err
	}
	if p.Session.AAL < 2 {
		return nil, ErrReauthRequired
	}
	codes, err := s.newRecoveryCodes(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	s.record(ctx, cl, event{typ: models.EventRecoveryCodesRegenerated, userID: p.User.ID, sessionID: p.Session.ID, email: p.User.Email})
	return codes, nil
}

// Reauthenticate proves the caller again in this session: a password keeps
// its level, a TOTP or recovery code raises it to 2. Wrong proofs count
// toward the lockout.
func (s *Service) Reauthenticate(ctx context.Context, cl Client, p *Principal, password, code, recoveryCode string) (models.Session, error) {
	fields := models.FieldErrors{}
	switch {
	case password != "":
		// A user with a factor reauthenticates with a factor: the password
		// alone would let a stolen session plus the password remove it.
		// Refused before any hashing, counting nothing, renewing nothing.
		if has, err := s.hasFactor(ctx, p.User.ID); err != nil {
			return models.Session{}, err
		} else if has {
			fields.Add("code", "you have a second factor: reauthenticate with its code or a recovery code, not the password")
			return models.Session{}, fields.Err()
		}
		ok, err := s.verifyOwnPassword(ctx, cl, p, password, "")
		if err != nil {
			return models.Session{}, err
		}
		if !ok {
			fields.Add("password", "is incorrect")
			return models.Session{}, fields.Err()
		}
		return s.renewProof(ctx, cl, p, 1, AMRPassword)
	case code != "" || recoveryCode != "":
		if err := codeShape(code, recoveryCode); err != nil {
			return models.Session{}, err
		}
		g := s.passwordGuard(p.User.Email, cl)
		if err := g.reserve(ctx); err != nil {
			return models.Session{}, err
		}
		method, sp, ok, err := s.checkSecondFactor(ctx, p.User, code, recoveryCode)
		if err == nil && ok {
			ok, err = s.store.Spend(ctx, sp, s.now())
		}
		if err != nil {
			g.release(ctx)
			return models.Session{}, err
		}
		if !ok {
			s.mfaFailed(ctx, cl, g, p.User)
			field := "code"
			if code == "" {
				field = "recoveryCode"
			}
			fields.Add(field, "is wrong or was already used")
			return models.Session{}, fields.Err()
		}
		g.release(ctx) // no session is issued: the failures stay
		return s.renewProof(ctx, cl, p, 2, method)
	default:
		fields.Add("password", "give the password, a code or a recovery code")
		return models.Session{}, fields.Err()
	}
}

// renewProof records a reauthentication in the caller's session: auth_time
// now, at least level aal, and the methods added to its amr.
func (s *Service) renewProof(ctx context.Context, cl Client, p *Principal, aal int, added ...string) (models.Session, error) {
	sess := p.Session
	methods := append(sess.Methods(), added...)
	slices.Sort(methods)
	sess.AAL = max(sess.AAL, aal)
	sess.AMR, sess.AuthTime = strings.Join(slices.Compact(methods), ","), s.now()
	if err := s.store.UpgradeSession(ctx, sess.ID, sess.AAL, sess.AMR, sess.AuthTime); err != nil {
		return models.Session{}, err
	}
	s.record(ctx, cl, event{typ: models.EventReauthenticated, userID: p.User.ID, sessionID: sess.ID, email: p.User.Email})
	return sess, nil
}

// ResetMFA removes every factor and recovery code of a user at an
// administrator's request (a fresh session), and ends the user's sessions.
func (s *Service) ResetMFA(ctx context.Context, cl Client, by *Principal, id string) error {
	if err := s.requireFreshAdmin(ctx, by); err != nil {
		return err
	}
	u, err := s.User(ctx, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteMFA(ctx, u.ID); err != nil {
		return err
	}
	if err := s.factorsChanged(ctx, u.ID); err != nil {
		return err
	}
	if _, err := s.Revoke(ctx, cl, Revocation{UserID: u.ID, Scope: ScopeGlobal, Reason: ReasonMFAReset, Email: u.Email}); err != nil {
		return err
	}
	s.notify(ctx, cl, models.MailMFARemoved, u)
	return nil
}
