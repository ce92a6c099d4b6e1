package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
	swaggerFiles "github.com/swaggo/files"
	ginSwagger "github.com/swaggo/gin-swagger"

	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/token"
)

// routes lists every route of the service.
func routes(e *gin.Engine, d Deps) {
	cfg := d.Config
	sessions := &handlers.Sessions{
		Store: d.Store,
		Audit: d.Store,
		Keys:  d.Keys,
		Cookies: token.CookieConfig{
			Secure: cfg.CookieSecure, SameSite: sameSite(cfg.CookieSameSite), Domain: cfg.CookieDomain,
		},
		Lifetimes: handlers.Lifetimes{
			Access: cfg.AccessTTL, Session: cfg.SessionTTL, Remember: cfg.RememberTTL,
			MaxAge: cfg.SessionMaxAge, ReuseInterval: cfg.RefreshReuseInterval,
		},
		Now:     d.Now,
		Metrics: d.Metrics,
	}
	creds := &handlers.Credentials{Users: d.Store, Hasher: d.Hasher, Sessions: sessions, Lockout: d.Lockout}
	authed := requireSession(sessions)
	limited := handlers.LimitByIP(d.IPLimiter, handlers.WriteError, nil)
	loginLimited := handlers.LimitByIP(d.IPLimiter, handlers.WriteError, func() { d.Metrics.Login(handlers.LoginRateLimited) })
	tokenLimited := handlers.LimitByIP(d.IPLimiter, handlers.WriteOAuthError, func() { d.Metrics.Login(handlers.LoginRateLimited) })

	e.Use(recovery, requestContext(d.Logger, d.Metrics), securityHeaders, corsFor(cfg.AllowedOrigins),
		crossOriginCheck(cfg.AllowedOrigins), withTimeout)
	e.NoRoute(notFound)
	e.NoMethod(methodNotAllowed)

	e.GET("/openapi.yaml", func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml", d.OpenAPI) })
	e.GET("/swagger/*any", ginSwagger.WrapHandler(swaggerFiles.Handler, ginSwagger.URL("/openapi.yaml"),
		ginSwagger.PersistAuthorization(true)))

	e.GET("/healthz", handlers.Healthz())
	e.GET("/metrics", handlers.MetricsHandler(d.Registry))
	e.GET("/readyz", handlers.Readyz(d.Store, d.Draining))

	auth := e.Group("/auth")
	auth.POST("/register", limited, handlers.Register(d.Store, d.Hasher, sessions))
	auth.POST("/login", loginLimited, handlers.Login(creds))
	auth.POST("/refresh", handlers.Refresh(sessions))
	auth.POST("/logout", handlers.Logout(sessions))
	auth.GET("/me", authed, handlers.Me())
	auth.PATCH("/me", authed, handlers.UpdateMe(d.Store, d.Now))
	auth.POST("/password", limited, authed, handlers.ChangePassword(d.Store, d.Hasher, sessions))
	auth.GET("/sessions", authed, handlers.ListSessions(d.Store, d.Now))
	auth.DELETE("/sessions/:id", authed, handlers.RevokeSession(sessions))
	auth.GET("/activity", authed, handlers.Activity(d.Store))
	auth.GET("/verify", authed, handlers.Verify())
	auth.POST("/token", tokenLimited, handlers.Token(creds))
	auth.POST("/introspect", handlers.Introspect(cfg.IntrospectClients, sessions))

	admin := e.Group("/admin", authed, handlers.RequireAdmin())
	admin.GET("/users", handlers.ListUsers(d.Store))
	admin.GET("/users/:id", handlers.GetUser(d.Store))
	admin.PATCH("/users/:id", handlers.UpdateUser(d.Store, sessions))
	admin.DELETE("/users/:id/sessions", handlers.RevokeUserSessions(d.Store, sessions))
	admin.GET("/audit", handlers.ListAudit(d.Store))
}
