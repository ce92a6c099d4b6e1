package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/token"
)

// AcceptedResponse answers every request that may send mail, whatever
// happens to it.
type AcceptedResponse struct {
	Status string `json:"status" example:"accepted" validate:"required"`
} //	@name	AcceptedResponse

var accepted202 = AcceptedResponse{Status: "accepted"}

// EmailRequest names an address.
type EmailRequest struct {
	Email string `json:"email" example:"ada@example.com" validate:"required" format:"email" maxLength:"254"`
} //	@name	EmailRequest

// TokenBody carries a mailed token.
type TokenBody struct {
	Token string `json:"token" example:"kP3v…" validate:"required" maxLength:"128"`
} //	@name	TokenBody

// ResetPasswordRequest sets a new password with a reset token.
type ResetPasswordRequest struct {
	Token    string `json:"token" validate:"required" maxLength:"128"`
	Password string `json:"password" example:"a brand new passphrase" validate:"required" format:"password" minLength:"8" maxLength:"256"`
} //	@name	ResetPasswordRequest

// ChangeEmailRequest asks to move the account to a new address.
type ChangeEmailRequest struct {
	NewEmail        string `json:"newEmail" example:"ada@new.example" validate:"required" format:"email" maxLength:"254"`
	CurrentPassword string `json:"currentPassword" format:"password" maxLength:"256"`
} //	@name	ChangeEmailRequest

// SignInEmailRequest signs in with a mailed link's token, or an address and
// the code mailed to it.
type SignInEmailRequest struct {
	Token string `json:"token" maxLength:"128"`
	Email string `json:"email" format:"email" maxLength:"254"`
	Code  string `json:"code" example:"04821937" minLength:"8" maxLength:"8"`
} //	@name	SignInEmailRequest

func (r *SignInEmailRequest) check(fields models.FieldErrors) {
	switch {
	case r.Token != "" && (r.Email != "" || r.Code != ""):
		fields.Add("token", "give either token, or email and code, not both")
	case r.Token != "":
	case r.Email == "" && r.Code == "":
		fields.Add("token", "is required (or email and code)")
	case r.Email == "":
		fields.Add("email", "is required with code")
	case r.Code == "":
		fields.Add("code", "is required with email")
	}
}

// mailed answers 202 for a request that may send mail.
func mailed(send func(c *gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) { reply(c, http.StatusAccepted, accepted202, send(c)) }
}

// ResendVerification mails a new verification link.
//
//	@Summary	Mail a new verification link
//	@ID		resendVerification
//	@Description	Mails a verification link if the address has an unverified account. The answer is 202 whatever the address, and at most one such mail per address per minute and five per hour are sent.
//	@Tags		email
//	@Param		X-Captcha-Token	header		string	false	"the CAPTCHA widget's token, when GET /auth/settings lists this action under signUp.captcha.on"
//	@Param		body	body		EmailRequest	true	"the address"
//	@Success	202		{object}	AcceptedResponse
//	@Failure	422		{object}	ErrorResponse	"validation_failed"
//	@Failure	429		{object}	ErrorResponse	"rate_limited"
//	@Failure	503		{object}	ErrorResponse	"email_unavailable, captcha_unavailable (Retry-After: 5) or unavailable"
//	@Failure	400		{object}	ErrorResponse	"captcha_failed (X-Captcha-Token missing or rejected), or bad_request: the body is not valid JSON of the right types"
//	@Router		/auth/email/verify/resend [post]
func ResendVerification(svc *auth.Service) gin.HandlerFunc {
	return mailed(func(c *gin.Context) error {
		req, err := bodyOf[EmailRequest](c)
		if err != nil {
			return err
		}
		return svc.RequestVerification(c.Request.Context(), req.Email)
	})
}

// ForgotPassword mails a password reset link.
//
//	@Summary	Mail a password reset link
//	@ID		forgotPassword
//	@Description	Mails a reset link (valid 30 minutes, once) if the address has an enabled account. The answer is 202 whatever the address, and at most one such mail per address per minute and five per hour are sent.
//	@Tags		email
//	@Param		X-Captcha-Token	header		string	false	"the CAPTCHA widget's token, when GET /auth/settings lists this action under signUp.captcha.on"
//	@Param		body	body		EmailRequest	true	"the address"
//	@Success	202		{object}	AcceptedResponse
//	@Failure	422		{object}	ErrorResponse	"validation_failed"
//	@Failure	429		{object}	ErrorResponse	"rate_limited"
//	@Failure	503		{object}	ErrorResponse	"email_unavailable, captcha_unavailable (Retry-After: 5) or unavailable"
//	@Failure	400		{object}	ErrorResponse	"captcha_failed (X-Captcha-Token missing or rejected), or bad_request: the body is not valid JSON of the right types"
//	@Router		/auth/password/forgot [post]
func ForgotPassword(svc *auth.Service) gin.HandlerFunc {
	return mailed(func(c *gin.Context) error {
		req, err := bodyOf[EmailRequest](c)
		if err != nil {
			return err
		}
		return svc.ForgotPassword(c.Request.Context(), req.Email)
	})
}

// SignInByEmail mails a sign-in link and code.
//
//	@Summary	Mail a sign-in link and code
//	@ID		requestSignInCode
//	@Description	Mails a sign-in link and an 8-digit code (valid 10 minutes, once) if the address has an enabled account. The answer is 202 whatever the address; at most one such mail per address per minute and five per hour are sent.
//	@Tags		email
//	@Param		X-Captcha-Token	header		string	false	"the CAPTCHA widget's token, when GET /auth/settings lists this action under signUp.captcha.on"
//	@Param		body	body		EmailRequest	true	"the address"
//	@Success	202		{object}	AcceptedResponse
//	@Failure	422		{object}	ErrorResponse	"validation_failed"
//	@Failure	429		{object}	ErrorResponse	"rate_limited"
//	@Failure	503		{object}	ErrorResponse	"email_unavailable, captcha_unavailable (Retry-After: 5) or unavailable"
//	@Failure	400		{object}	ErrorResponse	"captcha_failed (X-Captcha-Token missing or rejected), or bad_request: the body is not valid JSON of the right types"
//	@Router		/auth/sign-in/email [post]
func SignInByEmail(svc *auth.Service) gin.HandlerFunc {
	return mailed(func(c *gin.Context) error {
		req, err := bodyOf[EmailRequest](c)
		if err != nil {
			return err
		}
		return svc.RequestSignInCode(c.Request.Context(), req.Email)
	})
}

// RequestEmailChange mails a confirmation link to a new address.
//
//	@Summary	Change the email address
//	@ID		changeEmail
//	@Description	Mails a confirmation link to newEmail (nothing if that address has an account; the answer is the same). currentPassword is required for a user with a password, and a wrong one counts toward the lockout.
//	@Tags		email
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		body	body		ChangeEmailRequest	true	"the new address"
//	@Success	202		{object}	AcceptedResponse
//	@Failure	403		{object}	ErrorResponse	"reauthentication_required (a user with a second factor: POST /auth/reauthenticate first) or csrf_failed"
//	@Failure	422		{object}	ErrorResponse	"validation_failed (fields.currentPassword when it is wrong), or email_domain_not_allowed (fields.newEmail)"
//	@Failure	429		{object}	ErrorResponse	"rate_limited"
//	@Failure	503		{object}	ErrorResponse	"email_unavailable or unavailable"
//	@Router		/auth/email/change [post]
func RequestEmailChange(svc *auth.Service) gin.HandlerFunc {
	return mailed(func(c *gin.Context) error {
		req, err := bodyOf[ChangeEmailRequest](c)
		if err != nil {
			return err
		}
		return svc.RequestEmailChange(c.Request.Context(), client(c), CurrentPrincipal(c), req.NewEmail, req.CurrentPassword)
	})
}

// VerifyEmail marks an address verified with a mailed token.
//
//	@Summary	Confirm an email address
//	@ID		verifyEmail
//	@Description	Consumes a verification token (from the link's token parameter) and marks the address verified. The first proof of an address ends every other session of the account and moves its credential version on: the session this request presents (its access token, even expired, else its refresh cookie) stays signed in, so verifying on another device signs the registering browser out. Refused (400 invalid_token, the link stays usable) while the user is disabled.
//	@Tags		email
//	@Param		body	body		TokenBody	true	"the token"
//	@Success	200		{object}	UserResponse
//	@Failure	400		{object}	ErrorResponse	"invalid_token (unknown, expired or used) or bad_request"
//	@Failure	429		{object}	ErrorResponse	"rate_limited"
//	@Router		/auth/email/verify [post]
func VerifyEmail(svc *auth.Service, ck Cookies) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decode[TokenBody](c)
		if !ok {
			return
		}
		u, err := svc.VerifyEmail(c.Request.Context(), client(c), req.Token, presented(c, ck))
		reply(c, http.StatusOK, UserResponse{User: userView(u)}, err)
	}
}

// ResetPassword sets a new password with a mailed token.
//
//	@Summary	Reset the password
//	@ID		resetPassword
//	@Description	Sets a new password with a reset token: the password policy applies (422, and the token stays usable), the address counts as verified, every session of the user ends, lockouts of the address are lifted and a notice is mailed. Nobody is signed in. A link mailed before the user's credentials changed (password, disable, email, factors) or used while the user is disabled is 400 invalid_token.
//	@Tags		email
//	@Param		body	body	ResetPasswordRequest	true	"the token and the new password"
//	@Success	204		"the password is changed"
//	@Failure	400		{object}	ErrorResponse	"invalid_token (unknown, expired or used) or bad_request"
//	@Failure	422		{object}	ErrorResponse	"validation_failed"
//	@Failure	429		{object}	ErrorResponse	"rate_limited"
//	@Router		/auth/password/reset [post]
func ResetPassword(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decode[ResetPasswordRequest](c)
		if !ok {
			return
		}
		reply(c, http.StatusNoContent, nil, svc.ResetPassword(c.Request.Context(), client(c), req.Token, req.Password))
	}
}

// ConfirmEmailChange swaps the address with a mailed token.
//
//	@Summary	Confirm a new email address
//	@ID		confirmEmailChange
//	@Description	Consumes an email change token: the account's address becomes the new one (verified), the user's other sessions end, and the old address is told. Needs no session: the token is the proof. A link mailed before the user's credentials changed (a password change or reset, disable, factor change, another email change) or used while the user is disabled is 400 invalid_token.
//	@Tags		email
//	@Param		body	body		TokenBody	true	"the token"
//	@Success	200		{object}	UserResponse
//	@Failure	400		{object}	ErrorResponse	"invalid_token (unknown, expired or used) or bad_request"
//	@Failure	409		{object}	ErrorResponse	"email_taken: the address got an account meanwhile"
//	@Failure	429		{object}	ErrorResponse	"rate_limited"
//	@Router		/auth/email/change/confirm [post]
func ConfirmEmailChange(svc *auth.Service, authenticate func(*gin.Context) *auth.Principal) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decode[TokenBody](c)
		if !ok {
			return
		}
		u, err := svc.ConfirmEmailChange(c.Request.Context(), client(c), req.Token, authenticate(c))
		reply(c, http.StatusOK, UserResponse{User: userView(u)}, err)
	}
}

// SignInWithEmail signs in with a mailed link or code.
//
//	@Summary	Sign in with a mailed link or code
//	@ID		signInWithEmail
//	@Description	{token} from the link, or {email, code} with the 8-digit code. Sets the session cookies like login, and marks the address verified. Wrong codes count toward the lockout, and the fifth ends the code. A code or link mailed before the user's credentials changed, or used while the user is disabled, is 400 invalid_token. The first proof of an address also removes a password set before it (audited password_voided; the owner is mailed) and ends every other session.
//	@Tags		email
//	@Param		body	body		SignInEmailRequest	true	"the token, or the address and code"
//	@Success	200		{object}	SignInResponse	"user and session with the cookies set; or the second step (mfaRequired, mfaToken) for a user with a second factor"
//	@Header		200		{string}	Set-Cookie		"__Host-session and __Secure-refresh"
//	@Failure	400		{object}	ErrorResponse	"invalid_token (unknown, expired, used or wrong) or bad_request"
//	@Failure	429		{object}	ErrorResponse	"rate_limited"
//	@Router		/auth/sign-in/email/verify [post]
func SignInWithEmail(svc *auth.Service, ck Cookies) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decode[SignInEmailRequest](c)
		if !ok {
			return
		}
		var in auth.SignIn
		var err error
		if req.Token != "" {
			in, err = svc.SignInWithToken(c.Request.Context(), client(c), req.Token, presented(c, ck))
		} else {
			in, err = svc.SignInWithCode(c.Request.Context(), client(c), req.Email, req.Code, presented(c, ck))
		}
		signInAnswer(c, ck, in, err)
	}
}

// AdminPasswordReset mails a user a reset link.
//
//	@Summary	Mail a user a password reset link
//	@ID		adminPasswordReset
//	@Description	Mails the user a reset link, as forgot-password does. Administrators only, with a fresh session.
//	@Tags		admin
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		id	path		string	true	"user id"	format(uuid)
//	@Success	202	{object}	AcceptedResponse
//	@Failure	403	{object}	ErrorResponse	"forbidden: the caller is not an administrator; reauthentication_required: the administrator's session is not fresh (POST /auth/reauthenticate first); or csrf_failed"
//	@Failure	404	{object}	ErrorResponse	"not_found"
//	@Failure	503	{object}	ErrorResponse	"email_unavailable or unavailable"
//	@Router		/admin/users/{id}/password-reset [post]
func AdminPasswordReset(svc *auth.Service) gin.HandlerFunc {
	return mailed(func(c *gin.Context) error {
		return svc.AdminPasswordReset(c.Request.Context(), CurrentPrincipal(c), c.Param("id"))
	})
}

// presented are the session tokens a request carries, as logout reads
// them: a Bearer header alone, else the access cookie, else the refresh
// cookie. The first proof of an address keeps the session they name.
func presented(c *gin.Context, ck Cookies) auth.Presented {
	access, fromHeader := token.FromRequest(c.Request, ck.Config.AccessName())
	p := auth.Presented{Access: access}
	if !fromHeader && access == "" {
		p.Refresh = ck.Refresh(c)
	}
	return p
}
