package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/auth"
)

// SettingsResponse is what a sign-in page needs to render itself. It holds
// no secret.
type SettingsResponse struct {
	// EmailVerification is AUTH_EMAIL_VERIFICATION.
	EmailVerification string           `json:"emailVerification" enums:"off,optional,required" example:"optional" validate:"required"`
	SignUp            SignUpSettings   `json:"signUp" validate:"required"`
	PasswordPolicy    PasswordSettings `json:"passwordPolicy" validate:"required"`
	// Methods are the ways to sign in.
	Methods   []string   `json:"methods" example:"password,email_code" validate:"required"`
	Providers []Provider `json:"providers" validate:"required"`
} //	@name	SettingsResponse

// SignUpSettings are sign-up's rules.
type SignUpSettings struct {
	Enabled bool `json:"enabled" example:"true" validate:"required"`
	// Captcha is null when no CAPTCHA is asked for.
	Captcha *CaptchaSettings `json:"captcha" extensions:"x-nullable" validate:"required"`
	// DomainsAllowed is null when any domain that is not denied may sign up.
	DomainsAllowed []string `json:"domainsAllowed" extensions:"x-nullable" example:"example.com" validate:"required"`
	// BlocksDisposable says disposable-mail addresses are refused.
	BlocksDisposable bool `json:"blocksDisposable" example:"false" validate:"required"`
} //	@name	SignUpSettings

// CaptchaSettings tell a page which widget to render and where its token
// is needed (in the X-Captcha-Token header).
type CaptchaSettings struct {
	Provider string `json:"provider" enums:"turnstile,hcaptcha" example:"turnstile" validate:"required"`
	SiteKey  string `json:"siteKey" example:"0x4AAAAAAAB0c0d0e0f0" validate:"required"`
	// On lists the actions that need a token: register, login, forgot,
	// sign-in-code, resend.
	On []string `json:"on" example:"register,forgot,sign-in-code" validate:"required"`
} //	@name	CaptchaSettings

// PasswordSettings are the rules a new password meets.
type PasswordSettings struct {
	MinLength int `json:"minLength" example:"8" validate:"required"`
	MaxLength int `json:"maxLength" example:"256" validate:"required"`
	// BreachedCheck says passwords seen in data breaches are refused.
	BreachedCheck bool `json:"breachedCheck" example:"false" validate:"required"`
} //	@name	PasswordSettings

// Settings answers what a sign-in page needs to render itself.
//
//	@Summary	Public settings for a sign-in page
//	@ID		getSettings
//	@Description	The verification policy, the CAPTCHA provider and site key (send the widget's token in X-Captcha-Token on the listed actions), the allowed sign-up domains, the password policy and the sign-in methods and providers. Public, never a secret; cacheable for 60 seconds.
//	@Tags		auth
//	@Success	200	{object}	SettingsResponse
//	@Header		200	{string}	Cache-Control	"public, max-age=60"
//	@Router		/auth/settings [get]
func Settings(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		st := svc.PublicSettings()
		out := SettingsResponse{
			EmailVerification: string(st.EmailVerification),
			SignUp: SignUpSettings{
				Enabled: st.SignUp.Enabled, DomainsAllowed: st.SignUp.DomainsAllowed, BlocksDisposable: st.SignUp.BlocksDisposable,
			},
			PasswordPolicy: PasswordSettings{MinLength: st.PasswordPolicy.MinLength, MaxLength: st.PasswordPolicy.MaxLength, BreachedCheck: st.PasswordPolicy.BreachedCheck},
			Methods:        st.Methods,
			Providers:      make([]Provider, 0, len(st.Providers)),
		}
		if st.SignUp.CaptchaProvider != "" {
			out.SignUp.Captcha = &CaptchaSettings{Provider: st.SignUp.CaptchaProvider, SiteKey: st.SignUp.CaptchaSiteKey, On: st.SignUp.CaptchaOn}
		}
		for _, p := range st.Providers {
			out.Providers = append(out.Providers, Provider{Name: p.Name, DisplayName: p.DisplayName})
		}
		c.Header("Cache-Control", "public, max-age=60")
		c.JSON(http.StatusOK, out)
	}
}

// CaptchaHeader carries a CAPTCHA widget's token.
const CaptchaHeader = "X-Captcha-Token"

// RequireCaptcha checks the CAPTCHA token of action before the endpoint
// does any work (or reads the body).
func RequireCaptcha(svc *auth.Service, action string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := svc.CheckCaptcha(c.Request.Context(), client(c), action, c.GetHeader(CaptchaHeader)); err != nil {
			WriteError(c, err)
			c.Abort()
			return
		}
		c.Next()
	}
}
