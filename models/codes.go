package models

// Code is a machine-readable error code sent to clients. Clients branch on
// these, so a code is never renamed: this catalogue is the only place any of
// them is spelt.
type Code string

// The error codes of the JSON envelope.
const (
	CodeInternal             Code = "internal"
	CodeValidationFailed     Code = "validation_failed"
	CodeBadRequest           Code = "bad_request"
	CodeUnauthenticated      Code = "unauthenticated"
	CodeTokenExpired         Code = "token_expired"
	CodeInvalidCredentials   Code = "invalid_credentials"
	CodeInvalidRefresh       Code = "invalid_refresh"
	CodeForbidden            Code = "forbidden"
	CodeCSRFFailed           Code = "csrf_failed"
	CodeNotFound             Code = "not_found"
	CodeConflict             Code = "conflict"
	CodeEmailTaken           Code = "email_taken"
	CodeLastAdmin            Code = "last_admin"
	CodeRateLimited          Code = "rate_limited"
	CodeUnavailable          Code = "unavailable"
	CodePayloadTooLarge      Code = "payload_too_large"
	CodeUnsupportedMediaType Code = "unsupported_media_type"
	CodeMethodNotAllowed     Code = "method_not_allowed"
	CodeInvalidToken         Code = "invalid_token"
	CodeEmailNotVerified     Code = "email_not_verified"
	CodeEmailUnavailable     Code = "email_unavailable"
	CodeInsufficientAAL      Code = "insufficient_aal"
	CodeInvalidCode          Code = "invalid_code"
	CodeInvalidMFAToken      Code = "invalid_mfa_token"
	CodeReauthRequired       Code = "reauthentication_required"
	CodeTOTPUnavailable      Code = "totp_unavailable"
	CodeMFARequired          Code = "mfa_required"
	CodeInvalidPasskey       Code = "invalid_passkey"
	// OpenID Connect sign-in: the first five are also the ?error= of the
	// callback's redirect.
	CodeAccessDenied    Code = "access_denied"
	CodeInvalidState    Code = "invalid_state"
	CodeAccountExists   Code = "account_exists"
	CodeProviderError   Code = "provider_error"
	CodeIdentityTaken   Code = "identity_taken"
	CodeInvalidRedirect Code = "invalid_redirect"
	CodeLastLoginMethod Code = "last_login_method"
	// Abuse controls.
	CodeCaptchaFailed         Code = "captcha_failed"
	CodeCaptchaUnavailable    Code = "captcha_unavailable"
	CodeEmailDomainNotAllowed Code = "email_domain_not_allowed"
	CodeSignupDenied          Code = "signup_denied"
	CodeHookUnavailable       Code = "hook_unavailable"
)

// The error codes of the OAuth shape (RFC 6749 §5.2), used by /auth/token and
// /auth/introspect.
const (
	CodeInvalidRequest         Code = "invalid_request"
	CodeInvalidClient          Code = "invalid_client"
	CodeInvalidGrant           Code = "invalid_grant"
	CodeUnsupportedGrantType   Code = "unsupported_grant_type"
	CodeSlowDown               Code = "slow_down"
	CodeServerError            Code = "server_error"
	CodeTemporarilyUnavailable Code = "temporarily_unavailable"
)

// Codes lists every code, envelope and OAuth, for documentation.
var Codes = []Code{
	CodeInternal, CodeValidationFailed, CodeBadRequest, CodeUnauthenticated, CodeTokenExpired, CodeInvalidCredentials,
	CodeInvalidRefresh, CodeForbidden, CodeCSRFFailed, CodeNotFound, CodeConflict, CodeEmailTaken, CodeLastAdmin,
	CodeRateLimited, CodeUnavailable, CodePayloadTooLarge, CodeUnsupportedMediaType, CodeMethodNotAllowed,
	CodeInvalidToken, CodeEmailNotVerified, CodeEmailUnavailable, CodeInsufficientAAL,
	CodeInvalidCode, CodeInvalidMFAToken, CodeReauthRequired, CodeTOTPUnavailable, CodeMFARequired,
	CodeInvalidPasskey,
	CodeAccessDenied, CodeInvalidState, CodeAccountExists, CodeProviderError, CodeIdentityTaken, CodeInvalidRedirect,
	CodeLastLoginMethod,
	CodeCaptchaFailed, CodeCaptchaUnavailable, CodeEmailDomainNotAllowed, CodeSignupDenied, CodeHookUnavailable,
	CodeInvalidRequest, CodeInvalidClient, CodeInvalidGrant, CodeUnsupportedGrantType, CodeSlowDown, CodeServerError,
	CodeTemporarilyUnavailable,
}

// Code returns the code an error of kind k carries when it names none.
func (k Kind) Code() Code {
	switch k {
	case Invalid:
		return CodeValidationFailed
	case BadRequest:
		return CodeBadRequest
	case Unauthenticated:
		return CodeUnauthenticated
	case Forbidden:
		return CodeForbidden
	case NotFound:
		return CodeNotFound
	case Conflict:
		return CodeConflict
	case RateLimited:
		return CodeRateLimited
	case Unavailable:
		return CodeUnavailable
	}
	return CodeInternal
}
