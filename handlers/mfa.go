package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/models"
)

// SignInResponse answers a first factor: user and session (the cookies are
// set), or, for a user with a second factor, mfaRequired with the mfaToken
// for POST /auth/mfa/verify (no cookie). Swagger 2 has no oneOf, so swag
// sees one object of optional fields; docs/openapi3 splits it into the
// oneOf of SignedIn (user, session) and MFAChallenge (the other four) that
// openapi.yaml serves. A field added here must go into one of the two there.
type SignInResponse struct {
	User        *User    `json:"user,omitempty"`
	Session     *Session `json:"session,omitempty"`
	MFARequired bool     `json:"mfaRequired,omitempty" example:"true"`
	MFAToken    string   `json:"mfaToken,omitempty"`
	Methods     []string `json:"methods,omitempty" enums:"totp,recovery_code,webauthn" example:"totp,recovery_code"`
	ExpiresAt   *Time    `json:"expiresAt,omitempty" swaggertype:"string" format:"date-time" example:"2026-11-23T10:05:00.000Z"`
} //	@name	SignInResponse

// signInAnswer writes a first factor's outcome.
func signInAnswer(c *gin.Context, ck Cookies, in auth.SignIn, err error) {
	switch {
	case err != nil:
		WriteError(c, err)
	case in.MFA != nil:
		exp := wire(in.MFA.ExpiresAt)
		c.JSON(http.StatusOK, SignInResponse{MFARequired: true, MFAToken: in.MFA.Token, Methods: in.MFA.Methods, ExpiresAt: &exp})
	default:
		ck.Set(c, in.Result)
		r := authResponse(in.Result)
		c.JSON(http.StatusOK, SignInResponse{User: &r.User, Session: &r.Session})
	}
}

// MFAVerifyRequest finishes a sign-in with the second factor: the mfaToken
// and exactly one of code, recoveryCode and webauthn.
type MFAVerifyRequest struct {
	MFAToken     string         `json:"mfaToken" validate:"required" maxLength:"4096"`
	Code         string         `json:"code" example:"123456" minLength:"6" maxLength:"6"`
	RecoveryCode string         `json:"recoveryCode" example:"abcde-fghjk" maxLength:"32"`
	WebAuthn     *WebAuthnProof `json:"webauthn"`
} //	@name	MFAVerifyRequest

func (r *MFAVerifyRequest) check(fields models.FieldErrors) {
	n := 0
	for _, given := range []bool{r.Code != "", r.RecoveryCode != "", r.WebAuthn != nil} {
		if given {
			n++
		}
	}
	if n != 1 {
		fields.Add("code", "give exactly one of code, recoveryCode and webauthn")
		return
	}
	if r.WebAuthn != nil {
		r.WebAuthn.check("webauthn", fields)
	}
}

// Factor is a second factor as its owner sees it.
type Factor struct {
	ID         string `json:"id" format:"uuid" validate:"required"`
	Type       string `json:"type" enums:"totp" validate:"required"`
	Name       string `json:"name" example:"Authenticator app" validate:"required"`
	Status     string `json:"status" enums:"pending,active" validate:"required"`
	CreatedAt  Time   `json:"createdAt" swaggertype:"string" format:"date-time" validate:"required"`
	LastUsedAt *Time  `json:"lastUsedAt,omitempty" swaggertype:"string" format:"date-time"`
} //	@name	Factor

func factorView(f models.Factor) Factor {
	v := Factor{ID: f.ID, Type: f.Type, Name: f.Name, Status: f.Status, CreatedAt: wire(f.CreatedAt)}
	if f.LastUsedAt != nil {
		t := wire(*f.LastUsedAt)
		v.LastUsedAt = &t
	}
	return v
}

// EnrollTOTPRequest names a new authenticator app.
type EnrollTOTPRequest struct {
	Name string `json:"name" example:"Phone" maxLength:"100"`
} //	@name	EnrollTOTPRequest

// TOTPEnrollment is what an authenticator app needs: scan qrCode, or
// type secret.
type TOTPEnrollment struct {
	Factor     Factor `json:"factor" validate:"required"`
	Secret     string `json:"secret" example:"JBSWY3DPEHPK3PXP" validate:"required"`
	OTPAuthURI string `json:"otpauthUri" example:"otpauth://totp/Portcullis:ada@example.com?…" validate:"required"`
	QRCode     string `json:"qrCode" example:"data:image/png;base64,…" validate:"required"`
} //	@name	TOTPEnrollment

// CodeRequest carries a TOTP code.
type CodeRequest struct {
	Code string `json:"code" example:"123456" validate:"required" minLength:"6" maxLength:"6"`
} //	@name	CodeRequest

// FactorResponse answers an activated factor; recoveryCodes come once, with
// a user's first factor.
type FactorResponse struct {
	Factor        Factor   `json:"factor" validate:"required"`
	RecoveryCodes []string `json:"recoveryCodes,omitempty"`
} //	@name	FactorResponse

// FactorsResponse lists the caller's factors.
type FactorsResponse struct {
	Factors                []Factor `json:"factors" validate:"required"`
	RecoveryCodesRemaining int64    `json:"recoveryCodesRemaining" validate:"required"`
} //	@name	FactorsResponse

// RecoveryCodesResponse is a new set of recovery codes, shown once.
type RecoveryCodesResponse struct {
	RecoveryCodes []string `json:"recoveryCodes" validate:"required"`
} //	@name	RecoveryCodesResponse

// ReauthenticateRequest proves the caller again: one of the four.
type ReauthenticateRequest struct {
	Password     string         `json:"password" format:"password" maxLength:"256"`
	Code         string         `json:"code" example:"123456" maxLength:"6"`
	RecoveryCode string         `json:"recoveryCode" maxLength:"32"`
	WebAuthn     *WebAuthnProof `json:"webauthn"`
} //	@name	ReauthenticateRequest

func (r *ReauthenticateRequest) check(fields models.FieldErrors) {
	if r.WebAuthn == nil {
		return
	}
	if r.Password != "" || r.Code != "" || r.RecoveryCode != "" {
		fields.Add("webauthn", "give one proof: webauthn, or password, code or recoveryCode")
		return
	}
	r.WebAuthn.check("webauthn", fields)
}

// SessionResponse wraps the caller's session.
type SessionResponse struct {
	Session Session `json:"session" validate:"required"`
} //	@name	SessionResponse

// VerifyMFA finishes a sign-in with the second factor.
//
//	@Summary	Finish signing in with a second factor
//	@ID		verifyMFA
//	@Description	{mfaToken, code} with a TOTP code, {mfaToken, recoveryCode}, or {mfaToken, webauthn: {flowId, credential}} with a passkey (flowId from POST /auth/mfa/webauthn/options): exactly one of the three, else 422 naming code. Sets the session cookies; the session has aal 2. A wrong code is 401 invalid_code and counts toward the lockout; a refused passkey is 401 invalid_passkey and counts only toward the mfaToken's attempts; after five attempts, the mfaToken is dead (401 invalid_mfa_token).
//	@Tags		mfa
//	@Param		body	body		MFAVerifyRequest	true	"the second step"
//	@Success	200		{object}	AuthResponse	"session cookies are set"
//	@Header		200		{string}	Set-Cookie		"__Host-session and __Secure-refresh"
//	@Failure	401		{object}	ErrorResponse	"invalid_code, invalid_passkey or invalid_mfa_token"
//	@Failure	422		{object}	ErrorResponse	"validation_failed: an unknown field, no mfaToken, or not exactly one of code, recoveryCode and webauthn (nothing is counted)"
//	@Failure	429		{object}	ErrorResponse	"rate_limited"
//	@Router		/auth/mfa/verify [post]
func VerifyMFA(svc *auth.Service, ck Cookies) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decode[MFAVerifyRequest](c)
		if !ok {
			return
		}
		var (
			res auth.Result
			err error
		)
		if req.WebAuthn != nil {
			res, err = svc.VerifyMFAWithPasskey(c.Request.Context(), client(c), req.MFAToken, req.WebAuthn.FlowID, req.WebAuthn.Credential)
		} else {
			res, err = svc.VerifyMFA(c.Request.Context(), client(c), req.MFAToken, req.Code, req.RecoveryCode)
		}
		if err == nil {
			ck.Set(c, res)
		}
		reply(c, http.StatusOK, authResponse(res), err)
	}
}

// EnrollTOTP starts adding an authenticator app.
//
//	@Summary	Add an authenticator app
//	@ID		enrollTOTP
//	@Description	Needs a fresh session (signed in or reauthenticated within AUTH_REAUTH_WINDOW, with the second factor if the user has one). The factor stays pending until POST /auth/mfa/totp/{id}/verify sees its first code (within 10 minutes). 501 totp_unavailable when AUTH_DATA_KEYS is not set in production. While mail can be sent and the address is not verified yet, 403 email_not_verified: prove the address first (so nothing of an account someone else pre-registered survives its owner's proof).
//	@Tags		mfa
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		body	body		EnrollTOTPRequest	true	"a name for it"
//	@Success	201		{object}	TOTPEnrollment
//	@Failure	403		{object}	ErrorResponse	"reauthentication_required, email_not_verified or csrf_failed"
//	@Failure	422		{object}	ErrorResponse	"validation_failed"
//	@Failure	501		{object}	ErrorResponse	"totp_unavailable"
//	@Router		/auth/mfa/totp [post]
func EnrollTOTP(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decode[EnrollTOTPRequest](c)
		if !ok {
			return
		}
		e, err := svc.EnrollTOTP(c.Request.Context(), CurrentPrincipal(c), req.Name)
		reply(c, http.StatusCreated, TOTPEnrollment{Factor: factorView(e.Factor), Secret: e.Secret, OTPAuthURI: e.OTPAuthURI, QRCode: e.QRCode}, err)
	}
}

// VerifyTOTP activates an authenticator app with its first code.
//
//	@Summary	Activate an authenticator app
//	@ID		verifyTOTP
//	@Description	The first code of the app activates it. A user's first factor returns 10 recovery codes, once; the current session becomes aal 2 and every other session of the user ends.
//	@Tags		mfa
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		id		path		string		true	"factor id"	format(uuid)
//	@Param		body	body		CodeRequest	true	"the app's current code"
//	@Success	200		{object}	FactorResponse
//	@Failure	404		{object}	ErrorResponse	"not_found: no such pending factor"
//	@Failure	422		{object}	ErrorResponse	"validation_failed: fields.code"
//	@Failure	429		{object}	ErrorResponse	"rate_limited"
//	@Router		/auth/mfa/totp/{id}/verify [post]
func VerifyTOTP(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decode[CodeRequest](c)
		if !ok {
			return
		}
		f, codes, err := svc.VerifyTOTP(c.Request.Context(), client(c), CurrentPrincipal(c), c.Param("id"), req.Code)
		reply(c, http.StatusOK, FactorResponse{Factor: factorView(f), RecoveryCodes: codes}, err)
	}
}

// ListFactors lists the caller's second factors.
//
//	@Summary	The signed-in user's second factors
//	@ID		listFactors
//	@Description	The caller's authenticator apps and how many recovery codes are left.
//	@Tags		mfa
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Success	200	{object}	FactorsResponse
//	@Router		/auth/mfa [get]
func ListFactors(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		fs, left, err := svc.Factors(c.Request.Context(), CurrentPrincipal(c))
		out := FactorsResponse{Factors: make([]Factor, len(fs)), RecoveryCodesRemaining: left}
		for i, f := range fs {
			out.Factors[i] = factorView(f)
		}
		reply(c, http.StatusOK, out, err)
	}
}

// RemoveFactor removes one of the caller's factors.
//
//	@Summary	Remove a second factor
//	@ID		removeFactor
//	@Description	Needs a fresh session at aal 2. Removing the last factor also deletes the recovery codes.
//	@Tags		mfa
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		id	path	string	true	"factor id"	format(uuid)
//	@Success	204	"removed"
//	@Failure	403	{object}	ErrorResponse	"reauthentication_required or csrf_failed"
//	@Failure	404	{object}	ErrorResponse	"not_found"
//	@Router		/auth/mfa/{id} [delete]
func RemoveFactor(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		reply(c, http.StatusNoContent, nil, svc.RemoveFactor(c.Request.Context(), client(c), CurrentPrincipal(c), c.Param("id")))
	}
}

// RegenerateRecoveryCodes replaces the caller's recovery codes.
//
//	@Summary	New recovery codes
//	@ID		regenerateRecoveryCodes
//	@Description	Needs a fresh session at aal 2. The old codes stop working; the new ones are shown once. Audited as recovery_codes_regenerated.
//	@Tags		mfa
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Success	200	{object}	RecoveryCodesResponse
//	@Failure	403	{object}	ErrorResponse	"reauthentication_required or csrf_failed"
//	@Router		/auth/mfa/recovery-codes [post]
func RegenerateRecoveryCodes(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		codes, err := svc.RegenerateRecoveryCodes(c.Request.Context(), client(c), CurrentPrincipal(c))
		reply(c, http.StatusOK, RecoveryCodesResponse{RecoveryCodes: codes}, err)
	}
}

// Reauthenticate proves the caller again.
//
//	@Summary	Prove who you are again
//	@ID		reauthenticate
//	@Description	{password}, {code}, {recoveryCode} or {webauthn: {flowId, credential}} (a passkey; flowId from POST /auth/reauthenticate/webauthn/options): the session's authTime becomes now (and aal 2 with a second factor), so sensitive operations that answered 403 reauthentication_required work. Wrong proofs are 422 and count toward the lockout. {password} is for users without an active factor: a user with one reauthenticates with a factor, and {password} alone is 422 on fields.code, checked before any hashing, renewing nothing.
//	@Tags		mfa
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		body	body		ReauthenticateRequest	true	"one proof"
//	@Success	200		{object}	SessionResponse
//	@Failure	422		{object}	ErrorResponse	"validation_failed: fields.password, fields.code, fields.recoveryCode or fields.webauthn (a refused passkey, or a used or expired flowId)"
//	@Failure	429		{object}	ErrorResponse	"rate_limited"
//	@Router		/auth/reauthenticate [post]
func Reauthenticate(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decode[ReauthenticateRequest](c)
		if !ok {
			return
		}
		p := CurrentPrincipal(c)
		var (
			s   models.Session
			err error
		)
		if req.WebAuthn != nil {
			s, err = svc.ReauthenticateWithPasskey(c.Request.Context(), client(c), p, req.WebAuthn.FlowID, req.WebAuthn.Credential)
		} else {
			s, err = svc.Reauthenticate(c.Request.Context(), client(c), p, req.Password, req.Code, req.RecoveryCode)
		}
		reply(c, http.StatusOK, SessionResponse{Session: sessionView(s, p.Claims.ExpiresAt())}, err)
	}
}

// ResetMFA removes a user's second factors.
//
//	@Summary	Remove every second factor of a user
//	@ID		resetMFA
//	@Description	Removes the user's authenticator apps, passkeys and recovery codes and ends their sessions. Administrators only, with a fresh session (signed in or reauthenticated within AUTH_REAUTH_WINDOW, with the second factor if they have one).
//	@Tags		admin
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		id	path	string	true	"user id"	format(uuid)
//	@Success	204	"removed"
//	@Failure	403	{object}	ErrorResponse	"forbidden: the caller is not an administrator; reauthentication_required: the administrator's session is not fresh (POST /auth/reauthenticate first); or csrf_failed"
//	@Failure	404	{object}	ErrorResponse	"not_found"
//	@Router		/admin/users/{id}/mfa [delete]
func ResetMFA(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		reply(c, http.StatusNoContent, nil, svc.ResetMFA(c.Request.Context(), client(c), CurrentPrincipal(c), c.Param("id")))
	}
}
