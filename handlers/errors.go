// Package handlers holds one constructor per endpoint: each decodes and
// validates its input, calls package auth, and writes named response types
// and cookies. No business rule lives here. It also holds the one error writer every response
// (including middleware's) goes through.
package handlers

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/models"
)

// ErrorResponse is the error envelope of every endpoint except the OAuth ones.
type ErrorResponse struct {
	Error ErrorBody `json:"error" validate:"required"`
} //	@name	ErrorResponse

// ErrorBody describes one error. The OpenAPI document lists the codes of
// models.Codes as Code's enum (docs/openapi3), so typed clients can switch
// on them.
type ErrorBody struct {
	Code      string              `json:"code" example:"validation_failed" validate:"required"`
	Message   string              `json:"message" example:"some fields are invalid" validate:"required"`
	Fields    map[string][]string `json:"fields,omitempty"`
	RequestID string              `json:"requestId" example:"5f0c6a2e9b1d4c7a8e3f2a1b0c9d8e7f" validate:"required"`
} //	@name	ErrorBody

// statuses maps each domain error kind to its HTTP status.
var statuses = map[models.Kind]int{
	models.Internal:        http.StatusInternalServerError,
	models.Invalid:         http.StatusUnprocessableEntity,
	models.BadRequest:      http.StatusBadRequest,
	models.Unauthenticated: http.StatusUnauthorized,
	models.Forbidden:       http.StatusForbidden,
	models.NotFound:        http.StatusNotFound,
	models.Conflict:        http.StatusConflict,
	models.RateLimited:     http.StatusTooManyRequests,
	models.Unavailable:     http.StatusServiceUnavailable,
	models.NotImplemented:  http.StatusNotImplemented,
}

// requestError is a failure only HTTP has (405, 413, 415): the domain never
// sees a method, a body size or a media type.
type requestError struct {
	status  int
	code    models.Code
	message string
}

func (e *requestError) Error() string { return e.message }

// ErrMethodNotAllowed answers a method the route does not take.
func ErrMethodNotAllowed(method string) error {
	return &requestError{http.StatusMethodNotAllowed, models.CodeMethodNotAllowed, "this endpoint does not accept " + method}
}

var (
	errTooLarge         = &requestError{http.StatusRequestEntityTooLarge, models.CodePayloadTooLarge, "the request body must be at most 64 KiB"}
	errNotJSON          = &requestError{http.StatusUnsupportedMediaType, models.CodeUnsupportedMediaType, "the request body must be application/json"}
	errNotJSONOrForm    = &requestError{http.StatusUnsupportedMediaType, models.CodeUnsupportedMediaType, "the request body must be application/json or application/x-www-form-urlencoded"}
	internalMessage     = "internal error; quote the request id when reporting it"
	errUnsupportedGrant = &models.Error{Kind: models.BadRequest, Code: models.CodeUnsupportedGrantType, Message: "grant_type must be password, refresh_token or mfa_otp"}
)

// Errors the middleware answers with.
var (
	ErrCrossOrigin    = &models.Error{Kind: models.Forbidden, Code: models.CodeCSRFFailed, Message: "cross-origin request refused; add the origin to AUTH_ALLOWED_ORIGINS"}
	ErrNoSuchEndpoint = models.Errorf(models.NotFound, "no such endpoint")
)

// Status returns the HTTP status and code for err.
func Status(err error) (status int, code models.Code) {
	var re *requestError
	if errors.As(err, &re) {
		return re.status, re.code
	}
	var e *models.Error
	if !errors.As(err, &e) {
		return http.StatusInternalServerError, models.CodeInternal
	}
	return statuses[e.Kind], models.CodeOf(e)
}

// WriteError writes err as the error envelope and aborts the chain. Internal
// errors are logged with their cause and answered with a generic message.
func WriteError(c *gin.Context, err error) {
	status, code := Status(err)
	body := ErrorBody{Code: string(code), RequestID: RequestID(c)}
	switch e := clientError(c, status, err).(type) {
	case *models.Error:
		body.Message, body.Fields = e.Message, e.Fields
	case *requestError:
		body.Message = e.message
	default:
		body.Message = internalMessage
	}
	c.AbortWithStatusJSON(status, ErrorResponse{Error: body})
}

// errBearerExpired is token_expired for a bearer token: services renew with
// the refresh grant, not the cookie endpoint.
var errBearerExpired = &models.Error{Kind: models.Unauthenticated, Code: models.CodeTokenExpired,
	Message: "the access token has expired; get a new one from POST /auth/token with grant_type=refresh_token"}

// WriteAuthError writes an authentication failure. When the request carried a
// bearer token, a 401 also says so the RFC 6750 way (WWW-Authenticate), and an
// expired token is told to use the refresh grant.
func WriteAuthError(c *gin.Context, err error, bearer bool) {
	if bearer && models.IsKind(err, models.Unauthenticated) {
		c.Header("WWW-Authenticate", `Bearer error="invalid_token"`)
		if models.CodeOf(err) == models.CodeTokenExpired {
			err = errBearerExpired
		}
	}
	WriteError(c, err)
}

// clientError does what both error shapes share: it logs server errors with
// their cause, sets Retry-After, and returns the error whose message may be
// shown (a *models.Error or a *requestError), or nil when nothing about it
// may (a 500, or an unknown error).
func clientError(c *gin.Context, status int, err error) error {
	if status >= 500 {
		Logger(c).Error("request failed", "status", status, "error", err.Error())
	}
	if status == http.StatusInternalServerError {
		return nil
	}
	var re *requestError
	if errors.As(err, &re) {
		return re
	}
	var e *models.Error
	if !errors.As(err, &e) {
		return nil
	}
	if e.RetryAfterSeconds > 0 {
		c.Header("Retry-After", strconv.Itoa(e.RetryAfterSeconds))
	}
	return e
}

// requestKey is where a request's state lives in the gin context when the
// request's context does not carry it (see RequestContextKey).
const requestKey = "portcullis.request"

// RequestContextKey is the context key under which the request's context
// may carry its *Request: the middleware that starts a request keeps the
// state, the deadline and the id header in one allocation that way, instead
// of a gin context map built for every request.
var RequestContextKey any = requestContextKey{}

type requestContextKey struct{}

// Request is the per-request state the middleware and handlers share.
type Request struct {
	ID        string
	Principal *auth.Principal
	log       *slog.Logger
}

// NewRequest returns a request's state, for the middleware to keep where
// RequestContextKey finds it.
func NewRequest(id string, log *slog.Logger) Request { return Request{ID: id, log: log} }

// StartRequest records the request's id and base logger in the gin context.
func StartRequest(c *gin.Context, id string, log *slog.Logger) *Request {
	r := &Request{ID: id, log: log}
	c.Set(requestKey, r)
	return r
}

func requestOf(c *gin.Context) *Request {
	if r, ok := c.Request.Context().Value(RequestContextKey).(*Request); ok {
		return r
	}
	v, _ := c.Get(requestKey)
	r, _ := v.(*Request)
	return r
}

// Logger returns a logger carrying the request id. It is built on demand:
// most requests never log beyond the access line.
func Logger(c *gin.Context) *slog.Logger {
	if r := requestOf(c); r != nil && r.log != nil {
		return r.log.With("requestId", r.ID)
	}
	return slog.New(slog.DiscardHandler)
}

// RequestID returns the request's id, or "".
func RequestID(c *gin.Context) string {
	if r := requestOf(c); r != nil {
		return r.ID
	}
	return ""
}
