package store

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/portcullis-auth/portcullis/models"
)

// Cached puts a bounded cache of session and user state in front of the
// store for the authentication hot path. Every local change evicts at once and
// is published on the Bus, so other instances evict too; a reconnect of the
// bus drops the whole cache. Entries also expire after MaxStaleness as a
// safety net.
type Cached struct {
	*DB
	bus      Bus
	log      *slog.Logger
	sessions *lru.Cache[string, cachedSession]
	users    *lru.Cache[string, cachedUser]
	// epoch advances on every invalidation; a fill that began in an older
	// epoch is dropped, so a read racing a revocation cannot re-cache the
	// revoked state.
	epoch atomic.Uint64

	touchMu sync.Mutex
	touches map[string]time.Time
}

type cachedSession struct {
	s  models.Session
	at time.Time
}

type cachedUser struct {
	u  models.User
	at time.Time
}

// MaxStaleness bounds how long an entry is trusted without an invalidation.
const MaxStaleness = time.Minute

// NewCached wraps db with caches of size entries each and starts listening on
// bus until ctx ends. Batched last-seen writes are flushed every flushEvery.
func NewCached(ctx context.Context, db *DB, bus Bus, size int, flushEvery time.Duration, log *slog.Logger) *Cached {
	c := &Cached{DB: db, bus: bus, log: log, touches: map[string]time.Time{}}
	c.sessions, _ = lru.New[string, cachedSession](size)
	c.users, _ = lru.New[string, cachedUser](size)
	go bus.Run(ctx, c.onKey, c.Purge)
	go c.flushLoop(ctx, flushEvery)
	return c
}

// Purge drops every cached entry.
func (c *Cached) Purge() {
	c.epoch.Add(1)
	c.sessions.Purge()
	c.users.Purge()
}

// onKey applies an invalidation: "s:<session id>", "u:<user id>" or
// "us:<user id>" (every session of a user).
func (c *Cached) onKey(key string) {
	c.epoch.Add(1)
	kind, id, _ := strings.Cut(key, ":")
	switch kind {
	case "s":
		c.sessions.Remove(id)
	case "u":
		c.users.Remove(id)
	case "us":
		for _, sid := range c.sessions.Keys() {
			if e, ok := c.sessions.Peek(sid); ok && e.s.UserID == id {
				c.sessions.Remove(sid)
			}
		}
	default:
		c.Purge()
	}
}

// invalidate evicts locally at once and tells the other instances.
func (c *Cached) invalidate(ctx context.Context, keys ...string) {
	for _, k := range keys {
		c.onKey(k)
		// The change is committed; a failed publish must not fail the
		// request. Other instances still drop the entry within MaxStaleness.
		if err := c.bus.Publish(context.WithoutCancel(ctx), k); err != nil {
			c.log.Warn("cache invalidation not published", "key", k, "error", err.Error())
		}
	}
}

// SessionWithUser serves the session and its user from the cache when fresh.
func (c *Cached) SessionWithUser(ctx context.Context, id string) (models.Session, models.User, error) {
	now := time.Now()
	cs, sok := c.sessions.Get(id)
	if sok && now.Sub(cs.at) < MaxStaleness {
		if cu, uok := c.users.Get(cs.s.UserID); uok && now.Sub(cu.at) < MaxStaleness {
			return cs.s, cu.u, nil
		}
	}
	epoch := c.epoch.Load()
	s, u, err := c.DB.SessionWithUser(ctx, id)
	if err != nil {
		return s, u, err
	}
	if c.epoch.Load() == epoch {
		c.sessions.Add(id, cachedSession{s: s, at: now})
		c.users.Add(u.ID, cachedUser{u: u, at: now})
	}
	return s, u, nil
}

// TouchSession records last-seen in the cache and queues the write, which a
// background loop batches: authenticated reads never write synchronously.
func (c *Cached) TouchSession(_ context.Context, id string, now time.Time) error {
	if e, ok := c.sessions.Peek(id); ok {
		e.s.LastSeenAt = now
		c.sessions.Add(id, e)
	}
	c.touchMu.Lock()
	c.touches[id] = now
	c.touchMu.Unlock()
	return nil
}

func (c *Cached) flushLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.FlushTouches(context.Background())
			return
		case <-t.C:
			c.FlushTouches(ctx)
		}
	}
}

// FlushTouches writes the queued last-seen times.
func (c *Cached) FlushTouches(ctx context.Context) {
	c.touchMu.Lock()
	batch := c.touches
	c.touches = map[string]time.Time{}
	c.touchMu.Unlock()
	for id, at := range batch {
		if err := c.DB.TouchSession(ctx, id, at); err != nil {
			c.log.Warn("last-seen write failed", "error", err.Error())
		}
	}
}

// RotateRefresh slides the session and updates the local entry. Slides are
// not broadcast: another instance whose cached expiry looks past re-reads the
// database before rejecting (see handlers.Sessions.Authenticate).
func (c *Cached) RotateRefresh(ctx context.Context, id string, gen int64, now, expiresAt time.Time) (bool, error) {
	won, err := c.DB.RotateRefresh(ctx, id, gen, now, expiresAt)
	if won {
		if e, ok := c.sessions.Peek(id); ok && e.s.RefreshGen == gen {
			e.s.RefreshGen, e.s.RotatedAt, e.s.ExpiresAt, e.s.LastSeenAt = gen+1, now, expiresAt, now
			c.sessions.Add(id, e)
		} else {
			c.sessions.Remove(id)
		}
	}
	return won, err
}

// RevokeSession revokes a session and evicts it everywhere.
func (c *Cached) RevokeSession(ctx context.Context, id string, now time.Time) (bool, error) {
	ok, err := c.DB.RevokeSession(ctx, id, now)
	if err == nil {
		c.invalidate(ctx, "s:"+id)
	}
	return ok, err
}

// RevokeUserSessions revokes a user's sessions and evicts them everywhere.
func (c *Cached) RevokeUserSessions(ctx context.Context, userID, except string, now time.Time) (int64, error) {
	n, err := c.DB.RevokeUserSessions(ctx, userID, except, now)
	if err == nil {
		c.invalidate(ctx, "us:"+userID)
	}
	return n, err
}

// UpdateUser applies an administrator's change and evicts the user (and, on
// disabling, their sessions) everywhere.
func (c *Cached) UpdateUser(ctx context.Context, id string, ch models.UserChange, now time.Time) (models.User, error) {
	u, err := c.DB.UpdateUser(ctx, id, ch, now)
	if err == nil {
		c.invalidate(ctx, "u:"+id, "us:"+id)
	}
	return u, err
}

// UpdateUserName changes a display name and evicts the user everywhere.
func (c *Cached) UpdateUserName(ctx context.Context, id, name string, now time.Time) (models.User, error) {
	u, err := c.DB.UpdateUserName(ctx, id, name, now)
	if err == nil {
		c.invalidate(ctx, "u:"+id)
	}
	return u, err
}

// SetPasswordHash replaces a password hash and evicts the user everywhere.
func (c *Cached) SetPasswordHash(ctx context.Context, id, hash string, now time.Time) error {
	err := c.DB.SetPasswordHash(ctx, id, hash, now)
	if err == nil {
		c.invalidate(ctx, "u:"+id)
	}
	return err
}
