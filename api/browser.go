package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/token"
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
	vary := []string{"Origin"}
	return func(c *gin.Context) {
		// A shared read-only value (an Add copies it), as in securityHeaders.
		if h := c.Writer.Header(); h["Vary"] == nil {
			h["Vary"] = vary[:1:1]
		} else {
			h.Add("Vary", "Origin")
		}
		if origin := c.GetHeader("Origin"); origin != "" && slices.Contains(origins, origin) {
			allow(c)
			if c.IsAborted() {
				return
			}
		}
		c.Next()
	}
}

// setsCookies lists the routes that sign a browser in: the cross-origin
// check applies to them whatever credential the request carries.
var setsCookies = map[string]bool{
	"POST /auth/register": true,
	"POST /auth/login":    true,
	"POST /auth/refresh":  true,
	// Email sign-in sets cookies; the rest read or mail tokens.
	"POST /auth/sign-in/email/verify": true,
	"POST /auth/mfa/verify":           true,
	"POST /auth/reauthenticate":       true,
	"POST /auth/passkeys/login":       true,
	// Deleting the account clears the cookies.
	"DELETE /auth/me": true,
	// Linking a provider sets the flow cookie.
	"POST /auth/identities/:id": true,
}

// oauthShaped are the routes whose errors take the OAuth shape.
var oauthShaped = map[string]bool{"/auth/token": true, "/auth/introspect": true}

// crossOriginCheck rejects unsafe cross-origin browser requests (CSRF, login
// CSRF included) with net/http's CrossOriginProtection, trusting the listed
// origins. A request with a well-formed Bearer token carries its own proof,
// which no foreign page can forge, and is exempt (such a request reads no
// cookie), except on the routes that set cookies.
// Any other Authorization header (Basic, which browsers send by themselves
// on sites behind basic auth) exempts nothing.
func crossOriginCheck(origins []string) gin.HandlerFunc {
	cop := http.NewCrossOriginProtection()
	for _, o := range origins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			// config validated the origins; this cannot happen.
			panic(err)
		}
	}
	// /auth/token and /auth/introspect are checked too: a form body is a
	// "simple" request any page can send from its visitors' browsers, which
	// would guess passwords for it and lock the visitors out from their own
	// addresses. Service clients send neither Origin nor Sec-Fetch-Site, so
	// the check passes them. Those two answer in the OAuth shape.
	return func(c *gin.Context) {
		switch c.Request.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			// Safe methods pass the check whatever they carry.
			c.Next()
			return
		}
		bearer := token.IsBearer(c.GetHeader("Authorization")) && !setsCookies[c.Request.Method+" "+c.FullPath()]
		if !bearer {
			if err := cop.Check(c.Request); err != nil {
				if oauthShaped[c.FullPath()] {
					handlers.WriteOAuthError(c, handlers.ErrCrossOrigin)
				} else {
					handlers.WriteError(c, handlers.ErrCrossOrigin)
				}
				return
			}
		}
		c.Next()
	}
}
