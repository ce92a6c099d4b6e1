package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/models"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 64 << 10

// DecodeJSON reads an application/json body into dst. Every failure is a
// client error with a message that names the problem, never parser internals.
func DecodeJSON(c *gin.Context, dst any) error {
	if !IsMediaType(c.Request, "application/json") {
		return errNotJSON
	}
	data, err := ReadBody(c)
	if err != nil {
		return err
	}
	return UnmarshalJSON(data, dst)
}

// decode reads the JSON body into a new T; when it cannot, it writes the
// error and reports false.
func decode[T any](c *gin.Context) (T, bool) {
	req, err := bodyOf[T](c)
	if err != nil {
		WriteError(c, err)
		return req, false
	}
	return req, true
}

// bodyOf reads the JSON body into a new T.
func bodyOf[T any](c *gin.Context) (T, error) {
	var req T
	return req, DecodeJSON(c, &req)
}

// reply writes err, or else the answer: body as JSON, or just the status
// when body is nil.
func reply(c *gin.Context, status int, body any, err error) {
	switch {
	case err != nil:
		WriteError(c, err)
	case body == nil:
		c.Status(status)
	default:
		c.JSON(status, body)
	}
}

// IsMediaType reports whether the request's Content-Type is want.
func IsMediaType(r *http.Request, want string) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == want
}

// ReadBody reads the whole request body, bounded by MaxBodyBytes, and checks
// it is valid UTF-8.
func ReadBody(c *gin.Context) ([]byte, error) {
	if c.Request.ContentLength > MaxBodyBytes {
		return nil, errTooLarge
	}
	data, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, errTooLarge
	case err != nil:
		return nil, models.Wrap(models.BadRequest, err, "the request body could not be read")
	case !utf8.Valid(data):
		return nil, models.Errorf(models.BadRequest, "the request body must be valid UTF-8")
	}
	return data, nil
}

// UnmarshalJSON decodes one JSON object from data into dst.
func UnmarshalJSON(data []byte, dst any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return models.Errorf(models.BadRequest, "the request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	err := dec.Decode(dst)
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return models.Errorf(models.BadRequest, "field %q must be a %s", typeErr.Field, jsonType(typeErr.Type.Kind().String()))
	case errors.As(err, &typeErr):
		return models.Errorf(models.BadRequest, "the request body must be a JSON object")
	case err != nil:
		return models.Errorf(models.BadRequest, "the request body is not valid JSON")
	case dec.More():
		return models.Errorf(models.BadRequest, "the request body must hold a single JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return models.Errorf(models.BadRequest, "the request body must hold a single JSON object")
	}
	return nil
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int64", "float64":
		return "number"
	}
	return "value of another type"
}
