package handlers

import (
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/token"
)

// Cookies writes and reads the session cookies.
type Cookies struct {
	Config    token.CookieConfig
	AccessTTL time.Duration
}

// Set sets the access and refresh cookies of a signed-in result.
func (k Cookies) Set(c *gin.Context, r auth.Result) {
	h := c.Writer.Header()
	h.Add("Set-Cookie", k.Config.Access(r.Tokens.Access, k.AccessTTL).String())
	h.Add("Set-Cookie", k.Config.Refresh(r.Tokens.Refresh, r.Session.ExpiresAt.Sub(r.Tokens.IssuedAt)).String())
}

// Clear deletes both cookies.
func (k Cookies) Clear(c *gin.Context) {
	for _, ck := range k.Config.Clear() {
		c.Writer.Header().Add("Set-Cookie", ck.String())
	}
}

// Refresh returns the refresh cookie's value, or "".
func (k Cookies) Refresh(c *gin.Context) string {
	return token.CookieValue(c.Request, k.Config.RefreshName())
}

// client describes the request's sender to the domain.
func client(c *gin.Context) auth.Client {
	return auth.Client{IP: c.ClientIP(), UserAgent: c.Request.UserAgent(), RequestID: RequestID(c)}
}
