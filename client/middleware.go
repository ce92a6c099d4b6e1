package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
)

type principalKey struct{}

// PrincipalFrom returns the principal Middleware put in ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// WithPrincipal returns ctx carrying p (for tests of handlers behind Middleware).
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// Requirement is a condition Middleware checks after Verify.
type Requirement func(*Principal) *Error

// RequireRole refuses a principal without role; "admin" satisfies any role.
func RequireRole(role string) Requirement {
	return func(p *Principal) *Error {
		if p.Role == role || p.Role == "admin" {
			return nil
		}
		return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "this requires the " + role + " role"}
	}
}

// RequireAAL refuses a session below assurance level aal (2: signed in with
// a second factor).
func RequireAAL(aal int) Requirement {
	return func(p *Principal) *Error {
		if p.AAL >= aal {
			return nil
		}
		return &Error{Status: http.StatusForbidden, Code: "insufficient_aal", Message: "this needs a session signed in with a second factor"}
	}
}

// RequireVerifiedEmail refuses a user whose email address is not confirmed.
func RequireVerifiedEmail() Requirement {
	return func(p *Principal) *Error {
		if p.EmailVerified {
			return nil
		}
		return &Error{Status: http.StatusForbidden, Code: "email_not_verified", Message: "confirm your email address first"}
	}
}

// Middleware lets through only requests with a live Portcullis session that
// meets every requirement, with the principal in the request's context
// (PrincipalFrom). Others get 401 or 403 as JSON in Portcullis's error
// envelope, so a browser client handles them as it handles Portcullis's own
// (a 401 token_expired makes it refresh and retry).
func (c *Client) Middleware(next http.Handler, reqs ...Requirement) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, err := c.Authorize(r, reqs...)
		if err != nil {
			WriteError(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Authorize is Middleware's check, for adapting it to a framework: it
// verifies r, applies the requirements, and returns r with the principal in
// its context, or the refusal to write with WriteError.
func (c *Client) Authorize(r *http.Request, reqs ...Requirement) (*http.Request, error) {
	p, err := c.Verify(r.Context(), r)
	if err != nil {
		return nil, err
	}
	for _, req := range reqs {
		if e := req(p); e != nil {
			return nil, e
		}
	}
	return r.WithContext(WithPrincipal(r.Context(), p)), nil
}

// WriteError writes err (from Verify or Authorize) in Portcullis's error
// envelope with its status; an error that is not an *Error is a 503.
func WriteError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the authentication service cannot be reached"}
	}
	for k, v := range e.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(struct {
		Error *Error `json:"error"`
	}{e})
}
