package api

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/token"
)

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// newRequestID returns 128 random bits as hex. Request ids need uniqueness,
// not secrecy, so the fast per-thread generator of math/rand/v2 serves.
func newRequestID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

// requestContext assigns the request id (a well-formed X-Request-ID is kept),
// attaches a logger carrying it, and logs one line when the request ends.
func requestContext(base *slog.Logger, metrics *Metrics) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		id := c.GetHeader("X-Request-ID")
		if id == "" || !requestIDPattern.MatchString(id) {
			id = newRequestID()
		}
		c.Writer.Header()["X-Request-Id"] = []string{id}
		req := handlers.StartRequest(c, id, base)
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		elapsed := time.Since(start)
		status := c.Writer.Status()
		metrics.Observe(c.Request.Method, route, status, elapsed)
		if !base.Enabled(c.Request.Context(), slog.LevelInfo) {
			return
		}
		attrs := [8]slog.Attr{
			slog.String("method", c.Request.Method), slog.String("route", route), slog.Int("status", status),
			slog.Float64("durationMs", float64(elapsed.Microseconds())/1000), slog.String("clientIp", c.ClientIP()),
			slog.String("requestId", id),
		}
		n := 6
		if req.Principal != nil {
			attrs[n] = slog.String("userId", req.Principal.User.ID)
			n++
		}
		base.LogAttrs(c.Request.Context(), slog.LevelInfo, "request", attrs[:n]...)
	}
}

// recovery turns a panic into a logged 500 envelope.
func recovery(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			handlers.WriteError(c, fmt.Errorf("panic: %v", r))
		}
	}()
	c.Next()
}

// Content security policies: JSON (and every other non-UI response) may load
// nothing and be framed by nobody; Swagger UI may run its own scripts and
// styles and fetch the API from this origin.
const (
	jsonCSP    = "default-src 'none'; frame-ancestors 'none'"
	swaggerCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
	hsts       = "max-age=63072000; includeSubDomains"
)

// securityHeaders sets the headers every response carries. Auth responses
// must never be cached: they hold personal data and set cookies. In
// production browsers are told to use HTTPS only.
func securityHeaders(production bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if production {
			h.Set("Strict-Transport-Security", hsts)
		}
		p := c.Request.URL.Path
		swagger := strings.HasPrefix(p, "/swagger/")
		if swagger {
			h.Set("Content-Security-Policy", swaggerCSP)
		} else {
			h.Set("Content-Security-Policy", jsonCSP)
		}
		if !swagger && p != "/openapi.yaml" {
			h.Set("Cache-Control", "no-store")
		}
		c.Next()
	}
}

// requireSession authenticates the request by bearer token or access cookie
// and checks its session is live; otherwise it answers 401.
func requireSession(svc *auth.Service, ck handlers.Cookies) gin.HandlerFunc {
	return func(c *gin.Context) {
		tok, fromHeader := token.FromRequest(c.Request, ck.Config.AccessName())
		if tok == "" {
			// The browser drops the access cookie when it expires (its
			// Max-Age is the token's lifetime) but still sends the refresh
			// cookie to /auth: the session may well be refreshable.
			if !fromHeader && ck.Refresh(c) != "" {
				handlers.WriteError(c, auth.ErrTokenExpired)
				return
			}
			handlers.WriteAuthError(c, auth.ErrUnauthenticated, fromHeader)
			return
		}
		p, err := svc.Authenticate(c.Request.Context(), tok)
		if err != nil {
			handlers.WriteAuthError(c, err, fromHeader)
			return
		}
		handlers.SetPrincipal(c, p)
		c.Next()
	}
}

// optionalSession returns the caller's principal when the request carries a
// live session, else nil: for endpoints that need none but treat the
// signed-in user's own session specially.
func optionalSession(svc *auth.Service, ck handlers.Cookies) func(*gin.Context) *auth.Principal {
	return func(c *gin.Context) *auth.Principal {
		tok, _ := token.FromRequest(c.Request, ck.Config.AccessName())
		if tok == "" {
			return nil
		}
		p, err := svc.Authenticate(c.Request.Context(), tok)
		if err != nil {
			return nil
		}
		return p
	}
}

// limitByIP rate-limits an endpoint per client address (IPv4, or IPv6 /64). onLimited, when set, is
// called for each refused request.
func limitByIP(l Limiter, writeErr func(*gin.Context, error), onLimited func()) gin.HandlerFunc {
	return func(c *gin.Context) {
		wait, err := l.Allow(c.Request.Context(), "ip:"+auth.AddressKey(c.ClientIP()))
		if err != nil {
			// A limiter outage must not lock everyone out; log and go on.
			handlers.Logger(c).Warn("rate limiter unavailable", "error", err.Error())
		} else if wait > 0 {
			if onLimited != nil {
				onLimited()
			}
			writeErr(c, auth.RateLimited(wait))
			return
		}
		c.Next()
	}
}

// requireAdmin lets only administrators through. The role is the stored one,
// read on every request, so a demotion takes effect at once.
func requireAdmin() gin.HandlerFunc {
	return func(c *gin.Context) {
		if p := handlers.CurrentPrincipal(c); p == nil || p.User.Role != models.RoleAdmin {
			handlers.WriteError(c, auth.ErrAdminRequired)
			return
		}
		c.Next()
	}
}

func notFound(c *gin.Context) {
	handlers.WriteError(c, handlers.ErrNoSuchEndpoint)
}

func methodNotAllowed(c *gin.Context) {
	handlers.WriteError(c, handlers.ErrMethodNotAllowed(c.Request.Method))
}
