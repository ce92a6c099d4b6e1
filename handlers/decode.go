package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/models"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 64 << 10

// DecodeJSON reads an application/json body into dst leniently: members dst
// does not have are ignored, as the OAuth endpoints must (RFC 6749 §3.2); the
// rest of the API decodes strictly (bodyOf). Every failure is a client error
// with a message that names the problem, never parser internals.
func DecodeJSON(c *gin.Context, dst any) error {
	data, err := jsonBody(c)
	if err != nil {
		return err
	}
	return UnmarshalJSON(data, dst)
}

// jsonBody reads the body of an application/json request.
func jsonBody(c *gin.Context) ([]byte, error) {
	if !IsMediaType(c.Request, "application/json") {
		return nil, errNotJSON
	}
	return ReadBody(c)
}

// decode reads the JSON body into a new T, strictly (see bodyOf); when it
// cannot, it writes the error and reports false.
func decode[T any](c *gin.Context) (T, bool) {
	req, err := bodyOf[T](c)
	if err != nil {
		WriteError(c, err)
		return req, false
	}
	return req, true
}

// bodyOf reads the JSON body into a new T and holds it to T's schema: a
// field T does not have is 422 naming it (names match exactly, not in any
// case as encoding/json would), a field tagged validate:"required" that is
// absent or null is 422 naming it, and a T with a check method adds what
// its fields require of each other. The request reaches no domain code, so
// nothing is counted. The OAuth endpoints read leniently (DecodeJSON).
func bodyOf[T any](c *gin.Context) (T, error) {
	var req T
	data, err := jsonBody(c)
	if err != nil {
		return req, err
	}
	if err := UnmarshalJSON(data, &req); err != nil {
		return req, err
	}
	fields := models.FieldErrors{}
	conform(data, fieldsOf(reflect.TypeFor[T]()), fields)
	if ch, ok := any(&req).(checker); ok && len(fields) == 0 {
		ch.check(fields)
	}
	return req, fields.Err()
}

// checker is a request whose fields constrain each other (exactly one of
// two, say), which tags cannot say.
type checker interface {
	check(fields models.FieldErrors)
}

// bodyField is one field of a request body as its tags declare it.
type bodyField struct {
	name     string
	required bool
}

var bodyFields sync.Map // reflect.Type → []bodyField

// fieldsOf lists the JSON fields of struct type t.
func fieldsOf(t reflect.Type) []bodyField {
	if v, ok := bodyFields.Load(t); ok {
		return v.([]bodyField)
	}
	var out []bodyField
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		required := slices.Contains(strings.Split(f.Tag.Get("validate"), ","), "required")
		out = append(out, bodyField{name: name, required: required})
	}
	bodyFields.Store(t, out)
	return out
}

// conform records in fields every member of the JSON object data that is
// not in want, and every required one of want that data lacks (or sets to
// null). data has already been decoded into the request type, so it is an
// object (or null, which lacks every field).
func conform(data []byte, want []bodyField, fields models.FieldErrors) {
	var got map[string]json.RawMessage
	if err := json.Unmarshal(data, &got); err != nil {
		return
	}
	known := make(map[string]bool, len(want))
	for _, f := range want {
		known[f.name] = true
		if v, ok := got[f.name]; f.required && (!ok || string(bytes.TrimSpace(v)) == "null") {
			fields.Add(f.name, "is required")
		}
	}
	for name := range got {
		if known[name] {
			continue
		}
		msg := "is not a field of this request"
		for _, f := range want {
			if strings.EqualFold(f.name, name) {
				msg += "; did you mean " + f.name + "?"
			}
		}
		fields.Add(name, msg)
	}
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
