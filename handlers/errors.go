// Package handlers holds one constructor per endpoint: each parses and
// validates its input, calls the store and the session package, and writes
// named response types. It also holds the one error writer every response
// (including middleware's) goes through.
package handlers

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/models"
)

// ErrorResponse is the error envelope of every endpoint except the OAuth ones.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody describes one error.
type ErrorBody struct {
	Code      string              `json:"code" example:"validation_failed"`
	Message   string              `json:"message" example:"some fields are invalid"`
	Fields    map[string][]string `json:"fields,omitempty"`
	RequestID string              `json:"requestId,omitempty"`
}

var kinds = map[models.Kind]struct {
	status int
	code   string
}{
	models.Internal:         {http.StatusInternalServerError, "internal"},
	models.Invalid:          {http.StatusUnprocessableEntity, "validation_failed"},
	models.BadRequest:       {http.StatusBadRequest, "bad_request"},
	models.Unauthenticated:  {http.StatusUnauthorized, "unauthenticated"},
	models.Forbidden:        {http.StatusForbidden, "forbidden"},
	models.NotFound:         {http.StatusNotFound, "not_found"},
	models.Conflict:         {http.StatusConflict, "conflict"},
	models.RateLimited:      {http.StatusTooManyRequests, "rate_limited"},
	models.Unavailable:      {http.StatusServiceUnavailable, "unavailable"},
	models.TooLarge:         {http.StatusRequestEntityTooLarge, "payload_too_large"},
	models.UnsupportedMedia: {http.StatusUnsupportedMediaType, "unsupported_media_type"},
	models.MethodNotAllowed: {http.StatusMethodNotAllowed, "method_not_allowed"},
}

// Status returns the HTTP status and code for err.
func Status(err error) (status int, code string) {
	var e *models.Error
	if !errors.As(err, &e) {
		return http.StatusInternalServerError, "internal"
	}
	k := kinds[e.Kind]
	if e.Code != "" {
		return k.status, e.Code
	}
	return k.status, k.code
}

// WriteError writes err as the error envelope and aborts the chain. Internal
// errors are logged with their cause and answered with a generic message.
func WriteError(c *gin.Context, err error) {
	status, code := Status(err)
	body := ErrorBody{Code: code, RequestID: RequestID(c)}
	if e := clientError(c, status, err); e == nil {
		body.Message = "internal error; quote the request id when reporting it"
	} else {
		body.Message = e.Message
		body.Fields = e.Fields
	}
	c.AbortWithStatusJSON(status, ErrorResponse{Error: body})
}

// clientError does what both error shapes share: it logs server errors with
// their cause, sets Retry-After, and returns the error whose message may be
// shown, or nil when nothing about it may (a 500, or not a models error).
func clientError(c *gin.Context, status int, err error) *models.Error {
	if status >= 500 {
		Logger(c).Error("request failed", "status", status, "error", err.Error())
	}
	var e *models.Error
	if !errors.As(err, &e) || status == http.StatusInternalServerError {
		return nil
	}
	if e.RetryAfterSeconds > 0 {
		c.Header("Retry-After", strconv.Itoa(e.RetryAfterSeconds))
	}
	return e
}

// requestKey is where a request's state lives in the gin context: one entry,
// set once, since every request passes here.
const requestKey = "portcullis.request"

// Request is the per-request state the middleware and handlers share.
type Request struct {
	ID        string
	Principal *Principal
	log       *slog.Logger
}

// StartRequest records the request's id and base logger.
func StartRequest(c *gin.Context, id string, log *slog.Logger) *Request {
	r := &Request{ID: id, log: log}
	c.Set(requestKey, r)
	return r
}

func requestOf(c *gin.Context) *Request {
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
