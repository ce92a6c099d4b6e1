package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/portcullis-auth/portcullis/models"
)

// PasskeyStore keeps passkeys and the WebAuthn ceremonies in flight.
type PasskeyStore interface {
	CreatePasskey(ctx context.Context, p *models.Passkey) error
	Passkeys(ctx context.Context, userID string) ([]models.Passkey, error)
	PasskeyByCredentialID(ctx context.Context, credentialID string) (models.Passkey, error)
	RenamePasskey(ctx context.Context, userID, id, name string) (bool, error)
	DeletePasskey(ctx context.Context, userID, id string, check func(left models.LoginMethods) error) (bool, error)
	// UsePasskey moves the signature counter to count only if it is past
	// the stored one (or both are 0), else models.ErrSignCountBehind.
	UsePasskey(ctx context.Context, id string, count int64, backupState bool, now time.Time) error
	CreateWebAuthnChallenge(ctx context.Context, c *models.WebAuthnChallenge) error
	// ConsumeWebAuthnChallenge uses up a live ceremony of purpose in one
	// conditional update; NotFound when unknown, expired or used.
	ConsumeWebAuthnChallenge(ctx context.Context, id, purpose string, now time.Time) (models.WebAuthnChallenge, error)
	// ConsumeChallenge consumes a second step whose proof spends nothing;
	// models.ErrChallengeConsumed when another request did first.
	ConsumeChallenge(ctx context.Context, id string, now time.Time) error
}

// RelyingParty is who passkeys are made for (AUTH_WEBAUTHN_*): the id (a
// domain), the name authenticators show, and the origins whose ceremonies
// count.
type RelyingParty struct {
	ID      string
	Name    string
	Origins []string
}

// Methods and amr of passkeys.
const (
	MethodWebAuthn = "webauthn"
	AMRWebAuthn    = "webauthn"
)

// Ceremony purposes, and how long one lives.
const (
	ceremonyRegister = "register"
	ceremonyLogin    = "login"
	ceremonyMFA      = "mfa"
	ceremonyReauth   = "reauth"
	ceremonyTTL      = 5 * time.Minute
)

// Errors of passkeys.
var (
	ErrPasskeyFailed       = &models.Error{Kind: models.Unauthenticated, Code: models.CodeInvalidPasskey, Message: "the passkey could not be verified (or this flowId is expired or used); ask for new options and try again"}
	errPasskeysUnavailable = &models.Error{Kind: models.Unavailable, Message: "passkeys are not set up here: the operator must set AUTH_WEBAUTHN_RP_ID to a domain name"}
	errNoPasskey           = models.Errorf(models.NotFound, "no such passkey")
)

// Ceremony is a WebAuthn ceremony begun: its flowId and the options for
// navigator.credentials.create or .get ({"publicKey": {…}}).
type Ceremony struct {
	FlowID  string
	Options json.RawMessage
}

// newWebAuthn builds the relying party, or nil when it cannot be one (an IP
// address as id): passkeys then answer 503.
func newWebAuthn(rp RelyingParty) (*webauthn.WebAuthn, error) {
	if rp.ID == "" {
		return nil, nil
	}
	return webauthn.New(&webauthn.Config{
		RPID: rp.ID, RPDisplayName: rp.Name, RPOrigins: rp.Origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationPreferred,
		},
	})
}

// passkeyUser is a user as go-webauthn sees one: the user handle is the 16
// bytes of the user's id, so it names no address.
type passkeyUser struct {
	u     models.User
	creds []webauthn.Credential
}

func (p passkeyUser) WebAuthnID() []byte                         { return userHandle(p.u.ID) }
func (p passkeyUser) WebAuthnName() string                       { return p.u.Email }
func (p passkeyUser) WebAuthnDisplayName() string                { return p.u.Name }
func (p passkeyUser) WebAuthnCredentials() []webauthn.Credential { return p.creds }

func userHandle(id string) []byte {
	b, _ := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	return b
}

var b64 = base64.RawURLEncoding

// credentialOf is what go-webauthn checks an assertion against.
func credentialOf(p models.Passkey) webauthn.Credential {
	id, _ := b64.DecodeString(p.CredentialID)
	aaguid, _ := hex.DecodeString(p.AAGUID)
	var transports []protocol.AuthenticatorTransport
	for t := range strings.SplitSeq(p.Transports, ",") {
		if t != "" {
			transports = append(transports, protocol.AuthenticatorTransport(t))
		}
	}
	return webauthn.Credential{
		ID: id, PublicKey: p.PublicKey, AttestationType: p.Attestation, Transport: transports,
		Flags:         webauthn.CredentialFlags{UserPresent: true, UserVerified: p.UserVerified, BackupEligible: p.BackupEligible, BackupState: p.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: aaguid, SignCount: uint32(p.SignCount)},
	}
}

// webAuthnUser loads u's passkeys as go-webauthn's user.
func (s *Service) webAuthnUser(ctx context.Context, u models.User) (passkeyUser, []models.Passkey, error) {
	pks, err := s.store.Passkeys(ctx, u.ID)
	if err != nil {
		return passkeyUser{}, nil, err
	}
	out := passkeyUser{u: u, creds: make([]webauthn.Credential, len(pks))}
	for i, p := range pks {
		out.creds[i] = credentialOf(p)
	}
	return out, pks, nil
}

// factorKinds counts a user's active TOTP factors and passkeys: together,
// the second factors every rule of MFA asks about.
func (s *Service) factorKinds(ctx context.Context, userID string) (totp, passkeys int, err error) {
	fs, err := s.activeFactors(ctx, userID)
	if err != nil {
		return 0, 0, err
	}
	pks, err := s.store.Passkeys(ctx, userID)
	return len(fs), len(pks), err
}

// hasFactor reports whether a user has an active second factor of any kind.
func (s *Service) hasFactor(ctx context.Context, userID string) (bool, error) {
	totp, passkeys, err := s.factorKinds(ctx, userID)
	return totp+passkeys > 0, err
}

// begin stores a ceremony (its settings as go-webauthn wants them back) and
// returns its flowId and options.
func (s *Service) begin(ctx context.Context, purpose string, c models.WebAuthnChallenge, options any, sd *webauthn.SessionData) (Ceremony, error) {
	// The expiry is the row's, on the service's clock.
	sd.Expires = time.Time{}
	data, err := json.Marshal(sd)
	if err != nil {
		return Ceremony{}, err
	}
	opts, err := json.Marshal(options)
	if err != nil {
		return Ceremony{}, err
	}
	now := s.now()
	c.Purpose, c.Data, c.CreatedAt, c.ExpiresAt = purpose, string(data), now, now.Add(ceremonyTTL)
	if err := s.store.CreateWebAuthnChallenge(ctx, &c); err != nil {
		return Ceremony{}, err
	}
	return Ceremony{FlowID: c.ID, Options: opts}, nil
}

// finish consumes the ceremony flowID names, which must be of purpose: a
// flowId works once, for 5 minutes, whatever its answer turns out to be.
func (s *Service) finish(ctx context.Context, purpose, flowID string) (models.WebAuthnChallenge, webauthn.SessionData, error) {
	var sd webauthn.SessionData
	id, ok := canonicalID(flowID)
	if !ok {
		return models.WebAuthnChallenge{}, sd, ErrPasskeyFailed
	}
	c, err := s.store.ConsumeWebAuthnChallenge(ctx, id, purpose, s.now())
	switch {
	case models.IsKind(err, models.NotFound):
		return c, sd, ErrPasskeyFailed
	case err != nil:
		return c, sd, err
	}
	return c, sd, json.Unmarshal([]byte(c.Data), &sd)
}

// shapeErr is the 422 of an answer that is not a WebAuthn credential at
// all: the request's fault, checked before any ceremony is consumed.
func shapeErr(field, what string) error {
	fields := models.FieldErrors{}
	fields.Add(field, "must be the "+what+" JSON of navigator.credentials (id, rawId, type, response)")
	return fields.Err()
}

func parseAssertion(field string, credential []byte) (*protocol.ParsedCredentialAssertionData, error) {
	if len(bytes.TrimSpace(credential)) == 0 || string(credential) == "null" {
		return nil, shapeErr(field, "PublicKeyCredential")
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return nil, shapeErr(field, "PublicKeyCredential")
	}
	return parsed, nil
}

// ready reports whether passkeys are configured.
func (s *Service) ready() error {
	if s.webauthn == nil {
		return errPasskeysUnavailable
	}
	return nil
}

// mayRegister is the rule of registration: configured, the address proven
// where mail is sent (First proof of an address), and a fresh session.
func (s *Service) mayRegister(ctx context.Context, p *Principal) error {
	if err := s.ready(); err != nil {
		return err
	}
	if s.email.Templates != nil && !p.User.EmailVerified {
		return ErrEmailNotVerified
	}
	return s.requireFresh(ctx, p)
}

// PasskeyRegistrationOptions begins adding a passkey to the caller's
// account (fresh sessions only).
func (s *Service) PasskeyRegistrationOptions(ctx context.Context, p *Principal) (Ceremony, error) {
	if err := s.mayRegister(ctx, p); err != nil {
		return Ceremony{}, err
	}
	user, _, err := s.webAuthnUser(ctx, p.User)
	if err != nil {
		return Ceremony{}, err
	}
	creation, sd, err := s.webauthn.BeginRegistration(user,
		webauthn.WithExclusions(webauthn.Credentials(user.creds).CredentialDescriptors()),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation))
	if err != nil {
		return Ceremony{}, err
	}
	uid, sid := p.User.ID, p.Session.ID
	return s.begin(ctx, ceremonyRegister, models.WebAuthnChallenge{UserID: &uid, SessionID: &sid}, creation, sd)
}

// RegisterPasskey finishes adding a passkey. A user's first factor (no
// authenticator app, no passkey yet) returns 10 recovery codes (shown once),
// raises the current session to aal 2 and ends every other session, as an
// authenticator app's does.
func (s *Service) RegisterPasskey(ctx context.Context, cl Client, p *Principal, flowID string, credential []byte, name string) (models.Passkey, []string, error) {
	name = models.NormalizeName(name)
	if name == "" {
		name = "Passkey"
	}
	fields := models.FieldErrors{}
	if prob := models.NameProblem(name); prob != "" {
		fields.Add("name", prob)
		return models.Passkey{}, nil, fields.Err()
	}
	if len(bytes.TrimSpace(credential)) == 0 || string(credential) == "null" {
		return models.Passkey{}, nil, shapeErr("credential", "PublicKeyCredential")
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		return models.Passkey{}, nil, shapeErr("credential", "PublicKeyCredential")
	}
	if err := s.mayRegister(ctx, p); err != nil {
		return models.Passkey{}, nil, err
	}
	c, sd, err := s.finish(ctx, ceremonyRegister, flowID)
	if err != nil || c.UserID == nil || *c.UserID != p.User.ID || c.SessionID == nil || *c.SessionID != p.Session.ID {
		return models.Passkey{}, nil, refused("credential", err)
	}
	user, _, err := s.webAuthnUser(ctx, p.User)
	if err != nil {
		return models.Passkey{}, nil, err
	}
	cred, err := s.webauthn.CreateCredential(user, sd, parsed)
	if err != nil {
		s.log(cl).Info("passkey registration refused", "reason", protocolDetail(err))
		return models.Passkey{}, nil, refused("credential", ErrPasskeyFailed)
	}
	totp, passkeys, err := s.factorKinds(ctx, p.User.ID)
	if err != nil {
		return models.Passkey{}, nil, err
	}
	now := s.now()
	transports := make([]string, len(cred.Transport))
	for i, t := range cred.Transport {
		transports[i] = string(t)
	}
	pk := models.Passkey{
		UserID: p.User.ID, CredentialID: b64.EncodeToString(cred.ID), PublicKey: cred.PublicKey, Attestation: cred.AttestationType,
		SignCount: int64(cred.Authenticator.SignCount), AAGUID: hex.EncodeToString(cred.Authenticator.AAGUID),
		Transports: strings.Join(transports, ","), UserVerified: cred.Flags.UserVerified,
		BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState, Name: name, CreatedAt: now,
	}
	if err := s.store.CreatePasskey(ctx, &pk); models.IsKind(err, models.Conflict) {
		fields.Add("credential", "this passkey is already registered")
		return models.Passkey{}, nil, fields.Err()
	} else if err != nil {
		return models.Passkey{}, nil, err
	}
	first := totp+passkeys == 0
	var codes []string
	if first {
		if codes, err = s.newRecoveryCodes(ctx, p.User.ID); err != nil {
			return models.Passkey{}, nil, err
		}
	}
	if err := s.factorsChanged(ctx, p.User.ID); err != nil {
		return models.Passkey{}, nil, err
	}
	amr := strings.Join(slices.Compact(slices.Sorted(slices.Values(append(p.Session.Methods(), AMRWebAuthn)))), ",")
	if err := s.store.UpgradeSession(ctx, p.Session.ID, 2, amr, now); err != nil {
		return models.Passkey{}, nil, err
	}
	s.record(ctx, cl, event{typ: models.EventPasskeyRegistered, userID: p.User.ID, sessionID: p.Session.ID, email: p.User.Email, detail: pk.ID})
	if first {
		if _, err := s.Revoke(ctx, cl, Revocation{UserID: p.User.ID, SessionID: p.Session.ID, Scope: ScopeOthers, Reason: ReasonMFAEnrolled, Email: p.User.Email}); err != nil {
			return models.Passkey{}, nil, err
		}
	}
	s.notify(ctx, cl, models.MailMFAEnrolled, p.User)
	return pk, codes, nil
}

// refused is the 422 of a ceremony answer refused on a signed-in route
// (registration, reauthentication), where a 401 would read as signed out.
func refused(field string, err error) error {
	if err != nil && !errors.Is(err, ErrPasskeyFailed) {
		return err
	}
	fields := models.FieldErrors{}
	fields.Add(field, "could not be verified, or the flowId is expired or used: ask for new options and try again")
	return fields.Err()
}

// protocolDetail is what the log keeps of go-webauthn's refusal.
func protocolDetail(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe.Details
	}
	return "invalid"
}

// PasskeyLoginOptions begins a passwordless sign-in with a discoverable
// passkey: no user is named, the authenticator offers its passkeys.
func (s *Service) PasskeyLoginOptions(ctx context.Context) (Ceremony, error) {
	if err := s.ready(); err != nil {
		return Ceremony{}, err
	}
	assertion, sd, err := s.webauthn.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return Ceremony{}, err
	}
	return s.begin(ctx, ceremonyLogin, models.WebAuthnChallenge{}, assertion, sd)
}

// SignInWithPasskey finishes a passwordless sign-in. The session has amr
// webauthn, and aal 2 when the authenticator verified the user (a PIN or
// biometric); without that it is a first factor like a password, and a
// user with a second factor gets the second step (signIn). Passkey
// assertions count nothing toward the lockout.
func (s *Service) SignInWithPasskey(ctx context.Context, cl Client, flowID string, credential []byte, remember bool) (SignIn, error) {
	parsed, err := parseAssertion("credential", credential)
	if err != nil {
		return SignIn{}, err
	}
	if err := s.ready(); err != nil {
		return SignIn{}, err
	}
	_, sd, err := s.finish(ctx, ceremonyLogin, flowID)
	if err != nil {
		return SignIn{}, err
	}
	var (
		u  models.User
		pk models.Passkey
	)
	lookup := func(rawID, handle []byte) (webauthn.User, error) {
		var err error
		if pk, err = s.store.PasskeyByCredentialID(ctx, b64.EncodeToString(rawID)); err != nil {
			return nil, err
		}
		if u, err = s.store.UserByID(ctx, pk.UserID); err != nil {
			return nil, err
		}
		if !bytes.Equal(handle, userHandle(u.ID)) {
			return nil, errors.New("the user handle is not the passkey's user")
		}
		user, _, err := s.webAuthnUser(ctx, u)
		return user, err
	}
	if _, _, err := s.webauthn.ValidatePasskeyLogin(lookup, sd, parsed); err != nil {
		s.log(cl).Info("passkey sign-in refused", "reason", protocolDetail(err))
		return SignIn{}, ErrPasskeyFailed
	}
	if u.Disabled() {
		return SignIn{}, ErrPasskeyFailed
	}
	if err := s.usePasskey(ctx, cl, u, pk, parsed); err != nil {
		return SignIn{}, err
	}
	if s.email.Verification == VerificationRequired && !u.EmailVerified {
		return SignIn{}, ErrEmailNotVerified
	}
	aal := 1
	if parsed.Response.AuthenticatorData.Flags.HasUserVerified() {
		aal = 2
	}
	in, err := s.signInAt(ctx, cl, nil, u, remember, aal, AMRWebAuthn)
	if err != nil || in.MFA != nil {
		return in, err
	}
	s.record(ctx, cl, event{typ: models.EventLoginSucceeded, userID: u.ID, sessionID: in.Session.ID, email: u.Email, detail: "passkey"})
	return in, nil
}

// usePasskey moves the passkey's signature counter on. A counter that did
// not (a copy of the key signing elsewhere) refuses the assertion and is
// audited, unless the authenticator keeps no counter (always 0).
func (s *Service) usePasskey(ctx context.Context, cl Client, u models.User, pk models.Passkey, parsed *protocol.ParsedCredentialAssertionData) error {
	ad := parsed.Response.AuthenticatorData
	err := s.store.UsePasskey(ctx, pk.ID, int64(ad.Counter), ad.Flags.HasBackupState(), s.now())
	if errors.Is(err, models.ErrSignCountBehind) {
		s.record(ctx, cl, event{typ: models.EventPasskeyCloneDetected, userID: u.ID, email: u.Email,
			detail: fmt.Sprintf("passkey %s presented signature counter %d, not past the stored %d", pk.ID, ad.Counter, pk.SignCount)})
		return ErrPasskeyFailed
	}
	return err
}

// assertFor checks an assertion of one of u's own passkeys against a
// ceremony begun for u, and moves its counter on.
func (s *Service) assertFor(ctx context.Context, cl Client, u models.User, sd webauthn.SessionData, parsed *protocol.ParsedCredentialAssertionData) error {
	user, pks, err := s.webAuthnUser(ctx, u)
	if err != nil {
		return err
	}
	if _, err := s.webauthn.ValidateLogin(user, sd, parsed); err != nil {
		s.log(cl).Info("passkey assertion refused", "reason", protocolDetail(err))
		return ErrPasskeyFailed
	}
	i := slices.IndexFunc(pks, func(p models.Passkey) bool { return p.CredentialID == b64.EncodeToString(parsed.RawID) })
	if i < 0 {
		return ErrPasskeyFailed
	}
	return s.usePasskey(ctx, cl, u, pks[i], parsed)
}

// ownCeremony begins an assertion limited to u's own passkeys.
func (s *Service) ownCeremony(ctx context.Context, u models.User, purpose string, c models.WebAuthnChallenge) (Ceremony, error) {
	if err := s.ready(); err != nil {
		return Ceremony{}, err
	}
	user, _, err := s.webAuthnUser(ctx, u)
	if err != nil {
		return Ceremony{}, err
	}
	if len(user.creds) == 0 {
		return Ceremony{}, models.Errorf(models.NotFound, "this account has no passkey")
	}
	assertion, sd, err := s.webauthn.BeginLogin(user, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return Ceremony{}, err
	}
	uid := u.ID
	c.UserID = &uid
	return s.begin(ctx, purpose, c, assertion, sd)
}

// MFAPasskeyOptions begins the second step of a sign-in with a passkey.
func (s *Service) MFAPasskeyOptions(ctx context.Context, mfaToken string) (Ceremony, error) {
	ch, u, err := s.secondStep(ctx, mfaToken)
	if err != nil {
		return Ceremony{}, err
	}
	if ch.AMR == AMRWebAuthn {
		// Not the first step again: a passkey that did not verify its user
		// is finished with another method.
		return Ceremony{}, models.Errorf(models.NotFound, "a passkey was this sign-in's first step: finish it with another method")
	}
	id := ch.ID
	return s.ownCeremony(ctx, u, ceremonyMFA, models.WebAuthnChallenge{MFAChallengeID: &id})
}

// VerifyMFAWithPasskey finishes a sign-in's second step with a passkey.
// The attempt counts toward the mfaToken's five; a refused assertion is
// audited (mfa_failed) but not counted toward the lockout.
func (s *Service) VerifyMFAWithPasskey(ctx context.Context, cl Client, mfaToken, flowID string, credential []byte) (Result, error) {
	parsed, err := parseAssertion("webauthn.credential", credential)
	if err != nil {
		return Result{}, err
	}
	ch, u, err := s.secondStep(ctx, mfaToken)
	if err != nil {
		return Result{}, err
	}
	now := s.now()
	if claimed, err := s.store.ClaimAttempt(ctx, ch.ID, maxMFAAttempts, now); err != nil || !claimed {
		if err != nil {
			return Result{}, err
		}
		return Result{}, ErrInvalidMFAToken
	}
	c, sd, err := s.finish(ctx, ceremonyMFA, flowID)
	if err == nil && (c.MFAChallengeID == nil || *c.MFAChallengeID != ch.ID) {
		err = ErrPasskeyFailed
	}
	if err == nil {
		err = s.assertFor(ctx, cl, u, sd, parsed)
	}
	if errors.Is(err, ErrPasskeyFailed) {
		s.record(ctx, cl, event{typ: models.EventMFAFailed, userID: u.ID, email: u.Email, detail: "passkey"})
	}
	if err != nil {
		return Result{}, err
	}
	if err := s.store.ConsumeChallenge(ctx, ch.ID, now); errors.Is(err, models.ErrChallengeConsumed) {
		return Result{}, ErrInvalidMFAToken
	} else if err != nil {
		return Result{}, err
	}
	u.CredentialVersion = ch.CredentialVersion
	res, err := s.start(ctx, cl, u, ch.Remember, 2, ch.AMR, AMRWebAuthn)
	if err != nil {
		return Result{}, err
	}
	// A session is issued: the first factor's earlier failures are forgotten,
	// as after a code (the assertion itself counts nothing).
	s.passwordGuard(u.Email, cl).forget(ctx)
	s.record(ctx, cl, event{typ: models.EventLoginSucceeded, userID: u.ID, sessionID: res.Session.ID, email: u.Email, detail: "second factor: " + AMRWebAuthn})
	return res, nil
}

// ReauthPasskeyOptions begins a reauthentication with one of the caller's
// passkeys.
func (s *Service) ReauthPasskeyOptions(ctx context.Context, p *Principal) (Ceremony, error) {
	sid := p.Session.ID
	return s.ownCeremony(ctx, p.User, ceremonyReauth, models.WebAuthnChallenge{SessionID: &sid})
}

// ReauthenticateWithPasskey proves the caller again with a passkey: the
// session's auth_time becomes now and its aal 2 (a passkey is a second
// factor). Refusals are 422 on webauthn and count nothing.
func (s *Service) ReauthenticateWithPasskey(ctx context.Context, cl Client, p *Principal, flowID string, credential []byte) (models.Session, error) {
	parsed, err := parseAssertion("webauthn.credential", credential)
	if err != nil {
		return models.Session{}, err
	}
	if err := s.ready(); err != nil {
		return models.Session{}, err
	}
	c, sd, err := s.finish(ctx, ceremonyReauth, flowID)
	if err == nil && (c.UserID == nil || *c.UserID != p.User.ID || c.SessionID == nil || *c.SessionID != p.Session.ID) {
		err = ErrPasskeyFailed
	}
	if err == nil {
		err = s.assertFor(ctx, cl, p.User, sd, parsed)
	}
	if err != nil {
		return models.Session{}, refused("webauthn", err)
	}
	return s.renewProof(ctx, cl, p, 2, AMRWebAuthn)
}

// Passkeys lists the caller's passkeys.
func (s *Service) Passkeys(ctx context.Context, p *Principal) ([]models.Passkey, error) {
	return s.store.Passkeys(ctx, p.User.ID)
}

// RenamePasskey renames one of the caller's passkeys, audited.
func (s *Service) RenamePasskey(ctx context.Context, cl Client, p *Principal, id, name string) (models.Passkey, error) {
	name = models.NormalizeName(name)
	if prob := models.NameProblem(name); prob != "" {
		fields := models.FieldErrors{}
		fields.Add("name", prob)
		return models.Passkey{}, fields.Err()
	}
	id, ok := canonicalID(id)
	if !ok {
		return models.Passkey{}, errNoPasskey
	}
	found, err := s.store.RenamePasskey(ctx, p.User.ID, id, name)
	if err != nil {
		return models.Passkey{}, err
	}
	if !found {
		return models.Passkey{}, errNoPasskey
	}
	pks, err := s.store.Passkeys(ctx, p.User.ID)
	if err != nil {
		return models.Passkey{}, err
	}
	i := slices.IndexFunc(pks, func(pk models.Passkey) bool { return pk.ID == id })
	if i < 0 {
		return models.Passkey{}, errNoPasskey
	}
	s.record(ctx, cl, event{typ: models.EventPasskeyRenamed, userID: p.User.ID, sessionID: p.Session.ID, email: p.User.Email, detail: id})
	return pks[i], nil
}

// RemovePasskey removes one of the caller's passkeys (fresh sessions only).
// The last way in of a user without a password is refused (409
// last_login_method); the last factor takes the recovery codes with it.
func (s *Service) RemovePasskey(ctx context.Context, cl Client, p *Principal, id string) error {
	if err := s.requireFresh(ctx, p); err != nil {
		return err
	}
	id, ok := canonicalID(id)
	if !ok {
		return errNoPasskey
	}
	found, err := s.store.DeletePasskey(ctx, p.User.ID, id, lastLoginMethod)
	if err != nil {
		return err
	}
	if !found {
		return errNoPasskey
	}
	if any, err := s.hasFactor(ctx, p.User.ID); err != nil {
		return err
	} else if !any {
		if err := s.store.DeleteRecoveryCodes(ctx, p.User.ID); err != nil {
			return err
		}
	}
	if err := s.factorsChanged(ctx, p.User.ID); err != nil {
		return err
	}
	s.record(ctx, cl, event{typ: models.EventPasskeyRemoved, userID: p.User.ID, sessionID: p.Session.ID, email: p.User.Email, detail: id})
	s.notify(ctx, cl, models.MailMFARemoved, p.User)
	return nil
}
