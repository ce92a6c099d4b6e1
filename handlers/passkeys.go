package handlers

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/models"
)

// CeremonyResponse begins a WebAuthn ceremony: pass options to
// navigator.credentials.create (registration) or .get (sign-in), after
// decoding its base64url fields, and send the answer back with flowId.
type CeremonyResponse struct {
	FlowID  string          `json:"flowId" format:"uuid" validate:"required"`
	Options json.RawMessage `json:"options" swaggertype:"object" validate:"required"`
} //	@name	CeremonyResponse

func ceremonyView(cer auth.Ceremony) CeremonyResponse {
	return CeremonyResponse{FlowID: cer.FlowID, Options: cer.Options}
}

// WebAuthnProof is an answer to a ceremony: its flowId and the
// PublicKeyCredential (as JSON, binary fields base64url).
type WebAuthnProof struct {
	FlowID     string          `json:"flowId" format:"uuid" validate:"required" maxLength:"64"`
	Credential json.RawMessage `json:"credential" swaggertype:"object" validate:"required"`
	unknown    []string
} //	@name	WebAuthnProof

// UnmarshalJSON reads a proof and remembers the members it does not have,
// for check: decode's schema check sees only the top level.
func (w *WebAuthnProof) UnmarshalJSON(data []byte) error {
	type plain WebAuthnProof
	if err := json.Unmarshal(data, (*plain)(w)); err != nil {
		return err
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return err
	}
	for name := range members {
		if name != "flowId" && name != "credential" {
			w.unknown = append(w.unknown, name)
		}
	}
	return nil
}

// check holds the nested proof to its schema, which decode's tag check does
// not see: both members present, nothing else.
func (w *WebAuthnProof) check(prefix string, fields models.FieldErrors) {
	for _, name := range w.unknown {
		fields.Add(prefix+"."+name, "is not a field of this request")
	}
	if w.FlowID == "" {
		fields.Add(prefix+".flowId", "is required")
	}
	if len(w.Credential) == 0 || string(w.Credential) == "null" {
		fields.Add(prefix+".credential", "is required")
	}
}

// RegisterPasskeyRequest finishes adding a passkey.
type RegisterPasskeyRequest struct {
	FlowID     string          `json:"flowId" format:"uuid" validate:"required" maxLength:"64"`
	Credential json.RawMessage `json:"credential" swaggertype:"object" validate:"required"`
	Name       string          `json:"name" example:"MacBook Touch ID" maxLength:"100"`
} //	@name	RegisterPasskeyRequest

// PasskeyLoginRequest finishes a passwordless sign-in.
type PasskeyLoginRequest struct {
	FlowID     string          `json:"flowId" format:"uuid" validate:"required" maxLength:"64"`
	Credential json.RawMessage `json:"credential" swaggertype:"object" validate:"required"`
	RememberMe bool            `json:"rememberMe"`
} //	@name	PasskeyLoginRequest

// RenamePasskeyRequest renames a passkey.
type RenamePasskeyRequest struct {
	Name string `json:"name" example:"Work laptop" validate:"required" maxLength:"100"`
} //	@name	RenamePasskeyRequest

// MFATokenRequest names a second step in progress.
type MFATokenRequest struct {
	MFAToken string `json:"mfaToken" validate:"required" maxLength:"4096"`
} //	@name	MFATokenRequest

// Passkey is a passkey as its owner sees it; id is Portcullis's, not the
// authenticator's.
type Passkey struct {
	ID         string `json:"id" format:"uuid" validate:"required"`
	Name       string `json:"name" example:"MacBook Touch ID" validate:"required"`
	CreatedAt  Time   `json:"createdAt" swaggertype:"string" format:"date-time" validate:"required"`
	LastUsedAt *Time  `json:"lastUsedAt,omitempty" swaggertype:"string" format:"date-time"`
	BackedUp   bool   `json:"backedUp" validate:"required"`
} //	@name	Passkey

func passkeyView(p models.Passkey) Passkey {
	v := Passkey{ID: p.ID, Name: p.Name, CreatedAt: wire(p.CreatedAt), BackedUp: p.BackupState}
	if p.LastUsedAt != nil {
		t := wire(*p.LastUsedAt)
		v.LastUsedAt = &t
	}
	return v
}

// PasskeyRegistration answers a new passkey; recoveryCodes come once, with
// a user's first factor.
type PasskeyRegistration struct {
	Passkey       Passkey  `json:"passkey" validate:"required"`
	RecoveryCodes []string `json:"recoveryCodes,omitempty"`
} //	@name	PasskeyRegistration

// PasskeyResponse wraps one passkey.
type PasskeyResponse struct {
	Passkey Passkey `json:"passkey" validate:"required"`
} //	@name	PasskeyResponse

// PasskeysResponse lists the caller's passkeys.
type PasskeysResponse struct {
	Passkeys []Passkey `json:"passkeys" validate:"required"`
} //	@name	PasskeysResponse

// PasskeyRegistrationOptions begins adding a passkey.
//
//	@Summary	Begin adding a passkey
//	@ID		passkeyRegistrationOptions
//	@Description	Needs a fresh session (signed in or reauthenticated within AUTH_REAUTH_WINDOW, at aal 2 for a user with a second factor). Answers the options for navigator.credentials.create ({publicKey: …}: a discoverable credential, user verification preferred, no attestation, the user's passkeys excluded) and a flowId that works once, for 5 minutes. While mail can be sent and the address is not verified yet, 403 email_not_verified.
//	@Tags		passkeys
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Success	200	{object}	CeremonyResponse
//	@Failure	403	{object}	ErrorResponse	"reauthentication_required, email_not_verified or csrf_failed"
//	@Failure	429	{object}	ErrorResponse	"rate_limited"
//	@Failure	503	{object}	ErrorResponse	"unavailable: AUTH_WEBAUTHN_RP_ID is not a domain name"
//	@Router		/auth/passkeys/register/options [post]
func PasskeyRegistrationOptions(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		cer, err := svc.PasskeyRegistrationOptions(c.Request.Context(), CurrentPrincipal(c))
		reply(c, http.StatusOK, ceremonyView(cer), err)
	}
}

// RegisterPasskey finishes adding a passkey.
//
//	@Summary	Add a passkey
//	@ID		registerPasskey
//	@Description	The flowId of POST /auth/passkeys/register/options and what navigator.credentials.create answered. A user's first factor (no authenticator app or passkey yet) gets 10 recovery codes, once; the session becomes aal 2 and the user's other sessions end. Audited (passkey_registered) and mailed. A credential that does not verify, or a used or expired flowId, is 422 on fields.credential.
//	@Tags		passkeys
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		body	body		RegisterPasskeyRequest	true	"the authenticator's answer"
//	@Success	201		{object}	PasskeyRegistration
//	@Failure	403		{object}	ErrorResponse	"reauthentication_required, email_not_verified or csrf_failed"
//	@Failure	422		{object}	ErrorResponse	"validation_failed: fields.credential or fields.name"
//	@Failure	429		{object}	ErrorResponse	"rate_limited"
//	@Failure	503		{object}	ErrorResponse	"unavailable: AUTH_WEBAUTHN_RP_ID is not a domain name"
//	@Router		/auth/passkeys/register [post]
func RegisterPasskey(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decode[RegisterPasskeyRequest](c)
		if !ok {
			return
		}
		pk, codes, err := svc.RegisterPasskey(c.Request.Context(), client(c), CurrentPrincipal(c), req.FlowID, req.Credential, req.Name)
		reply(c, http.StatusCreated, PasskeyRegistration{Passkey: passkeyView(pk), RecoveryCodes: codes}, err)
	}
}

// PasskeyLoginOptions begins a passwordless sign-in.
//
//	@Summary	Begin signing in with a passkey
//	@ID		passkeyLoginOptions
//	@Description	Options for navigator.credentials.get with no allowed credentials (the authenticator offers the passkeys it holds for this site) and a flowId that works once, for 5 minutes.
//	@Tags		passkeys
//	@Success	200	{object}	CeremonyResponse
//	@Failure	403	{object}	ErrorResponse	"csrf_failed"
//	@Failure	429	{object}	ErrorResponse	"rate_limited"
//	@Failure	503	{object}	ErrorResponse	"unavailable: AUTH_WEBAUTHN_RP_ID is not a domain name"
//	@Router		/auth/passkeys/login/options [post]
func PasskeyLoginOptions(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		cer, err := svc.PasskeyLoginOptions(c.Request.Context())
		reply(c, http.StatusOK, ceremonyView(cer), err)
	}
}

// SignInWithPasskey finishes a passwordless sign-in.
//
//	@Summary	Sign in with a passkey
//	@ID		signInWithPasskey
//	@Description	The flowId of POST /auth/passkeys/login/options and what navigator.credentials.get answered. The session's amr is ["webauthn"]; its aal is 2 when the authenticator verified the user (PIN, biometrics), else 1, and then a user with another second factor gets the second step (mfaRequired, without webauthn among the methods). A refused assertion, a used or expired flowId, or a signature counter that went backwards (audited passkey_clone_detected) is 401 invalid_passkey. Passkeys count nothing toward the lockout.
//	@Tags		passkeys
//	@Param		body	body		PasskeyLoginRequest	true	"the authenticator's answer"
//	@Success	200		{object}	SignInResponse	"user and session, with the session cookies set; or mfaRequired with an mfaToken (no cookie)"
//	@Header		200		{string}	Set-Cookie		"__Host-session (access token) and __Secure-refresh (refresh token, Path=/auth); HttpOnly; Secure; SameSite=Lax"
//	@Failure	401		{object}	ErrorResponse	"invalid_passkey"
//	@Failure	403		{object}	ErrorResponse	"csrf_failed, or email_not_verified (AUTH_EMAIL_VERIFICATION=required)"
//	@Failure	422		{object}	ErrorResponse	"validation_failed: fields.credential is not a PublicKeyCredential"
//	@Failure	429		{object}	ErrorResponse	"rate_limited"
//	@Failure	503		{object}	ErrorResponse	"unavailable: AUTH_WEBAUTHN_RP_ID is not a domain name"
//	@Router		/auth/passkeys/login [post]
func SignInWithPasskey(svc *auth.Service, ck Cookies) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decode[PasskeyLoginRequest](c)
		if !ok {
			return
		}
		in, err := svc.SignInWithPasskey(c.Request.Context(), client(c), req.FlowID, req.Credential, req.RememberMe)
		signInAnswer(c, ck, in, err)
	}
}

// ListPasskeys lists the caller's passkeys.
//
//	@Summary	The signed-in user's passkeys
//	@ID		listPasskeys
//	@Description	The caller's passkeys, oldest first: name, when added and last used, and whether the authenticator backs it up (synced passkeys).
//	@Tags		passkeys
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Success	200	{object}	PasskeysResponse
//	@Failure	429	{object}	ErrorResponse	"rate_limited"
//	@Router		/auth/passkeys [get]
func ListPasskeys(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		pks, err := svc.Passkeys(c.Request.Context(), CurrentPrincipal(c))
		out := PasskeysResponse{Passkeys: make([]Passkey, len(pks))}
		for i, p := range pks {
			out.Passkeys[i] = passkeyView(p)
		}
		reply(c, http.StatusOK, out, err)
	}
}

// RenamePasskey renames one of the caller's passkeys.
//
//	@Summary	Rename a passkey
//	@ID		renamePasskey
//	@Description	Audited (passkey_renamed). Another user's id is 404.
//	@Tags		passkeys
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		id		path		string					true	"passkey id"	format(uuid)
//	@Param		body	body		RenamePasskeyRequest	true	"the new name"
//	@Success	200		{object}	PasskeyResponse
//	@Failure	403		{object}	ErrorResponse	"csrf_failed"
//	@Failure	404		{object}	ErrorResponse	"not_found"
//	@Failure	422		{object}	ErrorResponse	"validation_failed"
//	@Failure	429	{object}	ErrorResponse	"rate_limited"
//	@Router		/auth/passkeys/{id} [patch]
func RenamePasskey(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decode[RenamePasskeyRequest](c)
		if !ok {
			return
		}
		pk, err := svc.RenamePasskey(c.Request.Context(), client(c), CurrentPrincipal(c), c.Param("id"), req.Name)
		reply(c, http.StatusOK, PasskeyResponse{Passkey: passkeyView(pk)}, err)
	}
}

// RemovePasskey removes one of the caller's passkeys.
//
//	@Summary	Remove a passkey
//	@ID		removePasskey
//	@Description	Needs a fresh session (at aal 2: the user has a factor). The last passkey of a user without a password is 409 last_login_method. Removing the last second factor also deletes the recovery codes. Audited (passkey_removed) and mailed. Another user's id is 404.
//	@Tags		passkeys
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		id	path	string	true	"passkey id"	format(uuid)
//	@Success	204	"removed"
//	@Failure	403	{object}	ErrorResponse	"reauthentication_required or csrf_failed"
//	@Failure	404	{object}	ErrorResponse	"not_found"
//	@Failure	409	{object}	ErrorResponse	"last_login_method"
//	@Failure	429	{object}	ErrorResponse	"rate_limited"
//	@Router		/auth/passkeys/{id} [delete]
func RemovePasskey(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		reply(c, http.StatusNoContent, nil, svc.RemovePasskey(c.Request.Context(), client(c), CurrentPrincipal(c), c.Param("id")))
	}
}

// MFAPasskeyOptions begins the second step of a sign-in with a passkey.
//
//	@Summary	Begin the second step with a passkey
//	@ID		mfaPasskeyOptions
//	@Description	For an mfaToken whose methods include webauthn: options for navigator.credentials.get listing the user's passkeys, and a flowId for POST /auth/mfa/verify {mfaToken, webauthn: {flowId, credential}}. 404 when the user has no passkey, or a passkey was the sign-in's first step (finish with another method).
//	@Tags		mfa
//	@Param		body	body		MFATokenRequest	true	"the second step"
//	@Success	200		{object}	CeremonyResponse
//	@Failure	401		{object}	ErrorResponse	"invalid_mfa_token"
//	@Failure	403		{object}	ErrorResponse	"csrf_failed"
//	@Failure	404		{object}	ErrorResponse	"not_found: no passkey to use"
//	@Failure	422		{object}	ErrorResponse	"validation_failed"
//	@Failure	429		{object}	ErrorResponse	"rate_limited"
//	@Failure	503		{object}	ErrorResponse	"unavailable: AUTH_WEBAUTHN_RP_ID is not a domain name"
//	@Router		/auth/mfa/webauthn/options [post]
func MFAPasskeyOptions(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decode[MFATokenRequest](c)
		if !ok {
			return
		}
		cer, err := svc.MFAPasskeyOptions(c.Request.Context(), req.MFAToken)
		reply(c, http.StatusOK, ceremonyView(cer), err)
	}
}

// ReauthPasskeyOptions begins a reauthentication with a passkey.
//
//	@Summary	Begin proving who you are with a passkey
//	@ID		reauthPasskeyOptions
//	@Description	Options for navigator.credentials.get listing the caller's own passkeys, and a flowId for POST /auth/reauthenticate {webauthn: {flowId, credential}}.
//	@Tags		mfa
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Success	200	{object}	CeremonyResponse
//	@Failure	403	{object}	ErrorResponse	"csrf_failed"
//	@Failure	404	{object}	ErrorResponse	"not_found: the user has no passkey"
//	@Failure	429	{object}	ErrorResponse	"rate_limited"
//	@Failure	503	{object}	ErrorResponse	"unavailable: AUTH_WEBAUTHN_RP_ID is not a domain name"
//	@Router		/auth/reauthenticate/webauthn/options [post]
func ReauthPasskeyOptions(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		cer, err := svc.ReauthPasskeyOptions(c.Request.Context(), CurrentPrincipal(c))
		reply(c, http.StatusOK, ceremonyView(cer), err)
	}
}
