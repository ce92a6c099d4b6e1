package handlers

import (
	"context"
	"math"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/models"
)

// Limiter rate-limits events per key. Allow returns 0 when the event is
// allowed, else how long until it would be.
type Limiter interface {
	Allow(ctx context.Context, key string) (time.Duration, error)
}

// Lockout counts failed logins per normalised email, whether or not an
// account exists, so that a lockout reveals nothing.
type Lockout interface {
	Locked(ctx context.Context, key string) (time.Duration, error)
	Fail(ctx context.Context, key string) (locked bool, err error)
	Reset(ctx context.Context, key string) error
}

// RateLimited returns the 429 error for a wait of d.
func RateLimited(d time.Duration) *models.Error {
	return &models.Error{
		Kind: models.RateLimited, Message: "too many attempts; try again later",
		RetryAfterSeconds: max(1, int(math.Ceil(d.Seconds()))),
	}
}

// LimitByIP rate-limits a credential endpoint per client IP. onLimited, when
// set, is called for each refused request.
func LimitByIP(l Limiter, writeErr func(*gin.Context, error), onLimited func()) gin.HandlerFunc {
	return func(c *gin.Context) {
		wait, err := l.Allow(c.Request.Context(), "ip:"+c.ClientIP())
		if err != nil {
			// A limiter outage must not lock everyone out; log and go on.
			Logger(c).Warn("rate limiter unavailable", "error", err.Error())
		} else if wait > 0 {
			if onLimited != nil {
				onLimited()
			}
			writeErr(c, RateLimited(wait))
			return
		}
		c.Next()
	}
}
