package api

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
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
// bounds the request's work by RequestTimeout, attaches a logger carrying
// the id, and logs one line when the request ends. The request's state, its
// deadline and the id header's value live in one requestScope.
func requestContext(base *slog.Logger, access io.Writer, metrics *Metrics) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		id := c.GetHeader("X-Request-ID")
		if id == "" || !requestIDPattern.MatchString(id) {
			id = newRequestID()
		}
		scope := &requestScope{req: handlers.NewRequest(id, base)}
		scope.init(c.Request.Context(), start.Add(RequestTimeout))
		defer scope.stop()
		scope.idHeader[0] = id
		c.Writer.Header()["X-Request-Id"] = scope.idHeader[:]
		c.Request = c.Request.WithContext(scope)
		req := &scope.req
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		now := time.Now()
		elapsed := now.Sub(start)
		status := c.Writer.Status()
		metrics.Observe(c.Request.Method, route, status, elapsed)
		h := base.Handler()
		if !h.Enabled(c.Request.Context(), slog.LevelInfo) {
			return
		}
		if access != nil {
			line := accessLine{time: now, method: c.Request.Method, route: route, status: status,
				durationMs: float64(elapsed.Microseconds()) / 1000, clientIP: c.ClientIP(), reqID: id}
			if req.Principal != nil {
				line.userID = req.Principal.User.ID
			}
			if line.write(access) {
				return
			}
		}
		// The record goes straight to the handler: Logger.LogAttrs would
		// also walk the stack for a source position nobody logs.
		rec := slog.NewRecord(now, slog.LevelInfo, "request", 0)
		rec.AddAttrs(slog.String("method", c.Request.Method), slog.String("route", route), slog.Int("status", status),
			slog.Float64("durationMs", float64(elapsed.Microseconds())/1000), slog.String("clientIp", c.ClientIP()))
		// The sixth and seventh attributes go beyond the record's inline
		// five: added together, they take one allocation.
		if req.Principal != nil {
			rec.AddAttrs(slog.String("requestId", id), slog.String("userId", req.Principal.User.ID))
		} else {
			rec.AddAttrs(slog.String("requestId", id))
		}
		_ = h.Handle(c.Request.Context(), rec)
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
// production browsers are told to use HTTPS only. The values are shared,
// read-only slices of length and capacity 1 (an Add copies them), so
// setting them allocates nothing.
func securityHeaders(production bool) gin.HandlerFunc {
	var (
		nosniff    = []string{"nosniff"}
		noReferrer = []string{"no-referrer"}
		sts        = []string{hsts}
		swaggerPol = []string{swaggerCSP}
		jsonPol    = []string{jsonCSP}
		noStore    = []string{"no-store"}
	)
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h["X-Content-Type-Options"] = nosniff[:1:1]
		h["Referrer-Policy"] = noReferrer[:1:1]
		if production {
			h["Strict-Transport-Security"] = sts[:1:1]
		}
		p := c.Request.URL.Path
		swagger := strings.HasPrefix(p, "/swagger/")
		if swagger {
			h["Content-Security-Policy"] = swaggerPol[:1:1]
		} else {
			h["Content-Security-Policy"] = jsonPol[:1:1]
		}
		if !swagger && p != "/openapi.yaml" {
			h["Cache-Control"] = noStore[:1:1]
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
