package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
	ginSwagger "github.com/swaggo/gin-swagger"

	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/token"
)

// routes lists every route of the service.
func routes(e *gin.Engine, d Deps, svc *auth.Service) {
	cfg := d.Config
	ck := handlers.Cookies{
		Config:    token.CookieConfig{Secure: cfg.CookieSecure, SameSite: sameSite(cfg.CookieSameSite), Domain: cfg.CookieDomain},
		AccessTTL: cfg.AccessTTL,
	}
	authed := requireSession(svc, ck)
	countLimited := func() { d.Metrics.Login(auth.LoginRateLimited) }
	limited := limitByIP(d.IPLimiter, handlers.WriteError, nil)
	loginLimited := limitByIP(d.IPLimiter, handlers.WriteError, countLimited)
	tokenLimited := limitByIP(d.IPLimiter, handlers.WriteOAuthError, countLimited)

	e.Use(recovery, requestContext(d.Logger, d.AccessLog, d.Metrics), securityHeaders(cfg.Production), corsFor(cfg.AllowedOrigins),
		crossOriginCheck(cfg.AllowedOrigins))
	e.NoRoute(notFound)
	e.NoMethod(methodNotAllowed)

	e.GET("/", handlers.Index(d.Version))
	spec := func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml", d.OpenAPI) }
	e.GET("/openapi.yaml", spec)
	e.HEAD("/openapi.yaml", spec)
	ui := ginSwagger.CustomWrapHandler(&ginSwagger.Config{
		URL: "/openapi.yaml", Title: "Portcullis API", DocExpansion: "list", DeepLinking: true, DefaultModelsExpandDepth: 1,
		// A bearer token typed into the UI must not outlive the tab in localStorage.
		PersistAuthorization: false,
	}, swaggerUIFiles())
	toUI := func(c *gin.Context) { c.Redirect(http.StatusFound, "/swagger/index.html") }
	e.GET("/swagger", toUI)
	e.GET("/swagger/*any", func(c *gin.Context) {
		name := c.Param("any")
		if name == "/" {
			toUI(c)
			return
		}
		// gin-swagger fixes where its files live from the first request it
		// sees, reading everything before a file name in the raw URI, query
		// included: one request for /swagger/x/swagger-ui.css would have
		// broken the UI for everyone until a restart. It sees only plain
		// file names, without a query.
		if !swaggerFileName.MatchString(name) {
			notFound(c)
			return
		}
		c.Request.RequestURI = "/swagger" + name
		ui(c)
	})

	e.GET("/healthz", handlers.Healthz())
	if MetricsOnMainPort(cfg) {
		e.GET("/metrics", requireMetricsToken(cfg.MetricsToken), handlers.MetricsHandler(d.Registry))
	}
	e.GET("/readyz", handlers.Readyz(d.Store, d.Draining))

	// The CAPTCHA, where configured, is checked right after the per-IP
	// limit and before anything else (design/abuse.md).
	captcha := func(action string) gin.HandlerFunc { return handlers.RequireCaptcha(svc, action) }

	a := e.Group("/auth")
	a.GET("/settings", handlers.Settings(svc))
	a.POST("/register", limited, captcha("register"), handlers.Register(svc, ck))
	a.POST("/login", loginLimited, captcha("login"), handlers.Login(svc, ck))
	a.POST("/refresh", handlers.Refresh(svc, ck))
	a.POST("/logout", handlers.Logout(svc, ck))
	a.GET("/me", authed, handlers.Me())
	a.PATCH("/me", authed, handlers.UpdateMe(svc))
	a.DELETE("/me", limited, authed, handlers.DeleteMe(svc, ck))
	a.GET("/me/export", authed, handlers.ExportMe(svc))
	a.POST("/password", limited, authed, handlers.ChangePassword(svc))
	a.GET("/sessions", authed, handlers.ListSessions(svc))
	a.DELETE("/sessions/:id", authed, handlers.RevokeSession(svc, ck))
	a.GET("/activity", authed, handlers.Activity(svc))
	a.GET("/verify", authed, handlers.Verify())
	a.POST("/token", tokenLimited, handlers.Token(svc))
	a.POST("/introspect", handlers.Introspect(svc))

	// Email: every request that may send mail, checks a token or a code is
	// limited per address like the other credential endpoints.
	a.POST("/email/verify", limited, handlers.VerifyEmail(svc, ck))
	a.POST("/email/verify/resend", limited, captcha("resend"), handlers.ResendVerification(svc))
	a.POST("/password/forgot", limited, captcha("forgot"), handlers.ForgotPassword(svc))
	a.POST("/password/reset", limited, handlers.ResetPassword(svc))
	a.POST("/email/change", limited, authed, handlers.RequestEmailChange(svc))
	a.POST("/email/change/confirm", limited, handlers.ConfirmEmailChange(svc, optionalSession(svc, ck)))
	a.POST("/sign-in/email", limited, captcha("sign-in-code"), handlers.SignInByEmail(svc))
	a.POST("/sign-in/email/verify", loginLimited, handlers.SignInWithEmail(svc, ck))

	// Second factors.
	a.POST("/mfa/verify", loginLimited, handlers.VerifyMFA(svc, ck))
	a.GET("/mfa", authed, handlers.ListFactors(svc))
	a.POST("/mfa/totp", limited, authed, handlers.EnrollTOTP(svc))
	a.POST("/mfa/totp/:id/verify", limited, authed, handlers.VerifyTOTP(svc))
	a.DELETE("/mfa/:id", authed, handlers.RemoveFactor(svc))
	a.POST("/mfa/recovery-codes", authed, handlers.RegenerateRecoveryCodes(svc))
	a.POST("/reauthenticate", limited, authed, handlers.Reauthenticate(svc))

	// Passkeys: every ceremony begun or answered is limited per address.
	a.POST("/passkeys/register/options", limited, authed, handlers.PasskeyRegistrationOptions(svc))
	a.POST("/passkeys/register", limited, authed, handlers.RegisterPasskey(svc))
	a.POST("/passkeys/login/options", limited, handlers.PasskeyLoginOptions(svc))
	a.POST("/passkeys/login", loginLimited, handlers.SignInWithPasskey(svc, ck))
	a.GET("/passkeys", limited, authed, handlers.ListPasskeys(svc))
	a.PATCH("/passkeys/:id", limited, authed, handlers.RenamePasskey(svc))
	a.DELETE("/passkeys/:id", limited, authed, handlers.RemovePasskey(svc))
	a.POST("/mfa/webauthn/options", limited, handlers.MFAPasskeyOptions(svc))
	a.POST("/reauthenticate/webauthn/options", limited, authed, handlers.ReauthPasskeyOptions(svc))
	// Sign-in with OpenID Connect providers: the start and the callback are
	// top-level GET navigations, protected by state, nonce, PKCE and the
	// SameSite=Lax flow cookie (the callback checks a proof: limited).
	a.GET("/oidc", handlers.ListProviders(svc))
	a.GET("/oidc/:name", limited, handlers.StartOIDC(svc, ck))
	a.GET("/oidc/:name/callback", loginLimited, handlers.OIDCCallback(svc, ck))
	a.GET("/identities", authed, handlers.ListIdentities(svc))
	a.POST("/identities/:id", limited, authed, handlers.LinkIdentity(svc, ck))
	a.DELETE("/identities/:id", authed, handlers.UnlinkIdentity(svc))

	admin := e.Group("/admin", authed, requireAdmin())
	admin.GET("/users", handlers.ListUsers(svc))
	admin.GET("/users/:id", handlers.GetUser(svc))
	admin.PATCH("/users/:id", handlers.UpdateUser(svc))
	admin.DELETE("/users/:id", handlers.DeleteUser(svc))
	admin.POST("/users", handlers.CreateUser(svc))
	admin.GET("/webhooks/deliveries", handlers.ListWebhookDeliveries(svc))
	admin.POST("/webhooks/deliveries/:id/retry", handlers.RetryWebhookDelivery(svc))
	admin.DELETE("/users/:id/sessions", handlers.RevokeUserSessions(svc))
	admin.GET("/audit", handlers.ListAudit(svc))
	admin.DELETE("/lockouts", handlers.LiftLockout(svc))
	admin.POST("/users/:id/password-reset", handlers.AdminPasswordReset(svc))
	admin.DELETE("/users/:id/mfa", handlers.ResetMFA(svc))
}
