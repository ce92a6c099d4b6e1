package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/handlers"
)

// corsFor answers CORS for the listed origins only: their origin is echoed
// (never *) with credentials allowed, on every response including errors.
// Other origins get no CORS headers but are otherwise served as usual
// (gin-contrib/cors alone would abort them with a bare 403).
func corsFor(origins []string) gin.HandlerFunc {
	if len(origins) == 0 {
		return func(c *gin.Context) { c.Next() }
	}
	allow := cors.New(cors.Config{
		AllowOrigins:     origins,
		AllowMethods:     []string{"GET", "POST", "PATCH", "DELETE", "OPTIONS"},
		AllowHeaders:     []string{"Content-Type", "Authorization", "X-Request-ID"},
		ExposeHeaders:    []string{"Retry-After", "X-Request-ID"},
		AllowCredentials: true,
		MaxAge:           10 * time.Minute,
	})
	return func(c *gin.Context) {
		c.Writer.Header().Add("Vary", "Origin")
		if origin := c.GetHeader("Origin"); origin != "" && slices.Contains(origins, origin) {
			allow(c)
			if c.IsAborted() {
				return
			}
		}
		c.Next()
	}
}

// crossOriginCheck rejects unsafe cross-origin browser requests (CSRF, login
// CSRF included) with net/http's CrossOriginProtection, trusting the listed
// origins. Requests with an Authorization header carry their own credential
// and are exempt, as are the OAuth endpoints.
func crossOriginCheck(origins []string) gin.HandlerFunc {
	cop := http.NewCrossOriginProtection()
	for _, o := range origins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			// config validated the origins; this cannot happen.
			panic(err)
		}
	}
	// /auth/token and /auth/introspect set no cookies and need credentials in
	// the request itself, which a foreign page cannot know.
	cop.AddInsecureBypassPattern("POST /auth/token")
	cop.AddInsecureBypassPattern("POST /auth/introspect")
	return func(c *gin.Context) {
		if c.GetHeader("Authorization") == "" {
			if err := cop.Check(c.Request); err != nil {
				handlers.WriteError(c, handlers.ErrCrossOrigin)
				return
			}
		}
		c.Next()
	}
}
