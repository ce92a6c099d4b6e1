package store

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/portcullis-auth/portcullis/models"
)

// Cached puts a bounded cache of session and user state in front of the
// store for the authentication hot path. It wraps the store explicitly: every
// method it offers is written out here, and each write that changes session
// or user state evicts at once and is published on the Bus, so other
// instances evict too. A reconnect of the bus drops the whole cache. Entries
// also expire after MaxStaleness as a safety net.
type Cached struct {
	db       *DB
	bus      Bus
	log      *slog.Logger
	sessions *lru.Cache[string, cachedSession]
	users    *lru.Cache[string, cachedUser]
	// mu orders fills against invalidations; epoch advances on every
	// invalidation, and a fill that began in an older epoch is dropped, so a
	// read racing a revocation cannot re-cache the revoked state.
	mu    sync.Mutex
	epoch uint64

	touchMu sync.Mutex
	// touches are the queued last-seen times; writing is the batch the
	// flush in flight took, until it has been written. RevokeExcessSessions
	// reads both (queuedSeen) to choose the least recently used sessions:
	// choosing from the table alone, while a batch is not yet written, would
	// revoke a session just used.
	touches map[string]time.Time
	writing map[string]time.Time
	flushed uint64 // flushes finished (see addNotYetWritten)
	// flushing is held by the flush in flight (a one-slot semaphore), so
	// that writing is one batch; a waiter gives up when its context ends.
	flushing chan struct{}

	// afterRead, when set (tests only), runs between a database read and
	// the fill that caches it; afterPeek between the read of a cached entry
	// and its update in place; onContended when mu is taken while held
	// elsewhere, before waiting for it.
	afterRead   func()
	afterPeek   func()
	onContended func()
	// afterTakeTouches, when set (tests only), runs once a flush has taken
	// its batch and before it writes it; afterReadLastSeen once the session
	// cap has read the user's sessions, before it adds the times not yet
	// written.
	afterTakeTouches  func()
	afterReadLastSeen func()
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
	c := &Cached{db: db, bus: bus, log: log, touches: map[string]time.Time{}, flushing: make(chan struct{}, 1)}
	c.sessions, _ = lru.New[string, cachedSession](size)
	c.users, _ = lru.New[string, cachedUser](size)
	go bus.Run(ctx, c.onKey, c.Purge)
	go c.flushLoop(ctx, flushEvery)
	return c
}

// DB is the store the cache wraps, for what holds no cached state (the
// outbox worker).
func (c *Cached) DB() *DB { return c.db }

// Purge drops every cached entry.
func (c *Cached) Purge() {
	c.lock()
	defer c.mu.Unlock()
	c.epoch++
	c.sessions.Purge()
	c.users.Purge()
}

// onKey applies an invalidation: "s:<session id>", "u:<user id>" or
// "us:<user id>" (every session of a user).
func (c *Cached) onKey(key string) {
	c.lock()
	defer c.mu.Unlock()
	c.epoch++
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
		c.sessions.Purge()
		c.users.Purge()
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

// SessionWithUser serves the session and its user from the cache when they
// are there and not stale, unless fresh asks for the database's state; what
// it reads from the database it caches.
func (c *Cached) SessionWithUser(ctx context.Context, id string, fresh bool) (models.Session, models.User, error) {
	now := time.Now()
	if !fresh {
		cs, sok := c.sessions.Get(id)
		if sok && now.Sub(cs.at) < MaxStaleness {
			if cu, uok := c.users.Get(cs.s.UserID); uok && now.Sub(cu.at) < MaxStaleness {
				return cs.s, cu.u, nil
			}
		}
	}
	c.lock()
	epoch := c.epoch
	c.mu.Unlock()
	s, u, err := c.db.SessionWithUser(ctx, id, true)
	if err != nil {
		return s, u, err
	}
	if c.afterRead != nil {
		c.afterRead()
	}
	c.fill(epoch, func() {
		c.sessions.Add(s.ID, cachedSession{s: s, at: now})
		c.users.Add(u.ID, cachedUser{u: u, at: now})
	})
	return s, u, nil
}

// fill runs add unless an invalidation has happened since epoch was read.
func (c *Cached) fill(epoch uint64, add func()) {
	c.lock()
	defer c.mu.Unlock()
	if c.epoch == epoch {
		add()
	}
}

// lock takes mu, telling onContended (tests) when it has to wait.
func (c *Cached) lock() {
	if c.mu.TryLock() {
		return
	}
	if c.onContended != nil {
		c.onContended()
	}
	c.mu.Lock()
}

// updateSession changes a cached session in place, atomically with respect to
// invalidations (so a revoked session is never put back).
func (c *Cached) updateSession(id string, change func(*models.Session) bool) {
	c.lock()
	defer c.mu.Unlock()
	if e, ok := c.sessions.Peek(id); ok {
		if c.afterPeek != nil {
			c.afterPeek()
		}
		if change(&e.s) {
			c.sessions.Add(id, e)
		} else {
			c.sessions.Remove(id)
		}
	}
}

// TouchSession records last-seen in the cache and queues the write, which a
// background loop batches: authenticated reads never write synchronously.
func (c *Cached) TouchSession(_ context.Context, id string, now time.Time) error {
	c.updateSession(id, func(s *models.Session) bool { s.LastSeenAt = now; return true })
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

// FlushTouches writes the queued last-seen times, after waiting for a flush
// in flight. It fails only when ctx ends before that flush does.
func (c *Cached) FlushTouches(ctx context.Context) error {
	select {
	case c.flushing <- struct{}{}:
	case <-ctx.Done():
		return translate(ctx.Err(), "last-seen times not written")
	}
	defer func() { <-c.flushing }()
	c.touchMu.Lock()
	batch := c.touches
	c.touches = map[string]time.Time{}
	c.writing = batch
	c.touchMu.Unlock()
	defer func() {
		c.touchMu.Lock()
		c.writing = nil
		c.flushed++
		c.touchMu.Unlock()
	}()
	if c.afterTakeTouches != nil {
		c.afterTakeTouches()
	}
	for id, at := range batch {
		if err := c.db.TouchSession(ctx, id, at); err != nil {
			c.log.Warn("last-seen write failed", "error", err.Error())
		}
	}
	return nil
}

// flushesDone counts the flushes that have finished writing.
func (c *Cached) flushesDone() uint64 {
	c.touchMu.Lock()
	defer c.touchMu.Unlock()
	return c.flushed
}

// addNotYetWritten raises each session of live, read from the table after
// flushesDone returned done, to its last-seen time not yet written (queued,
// or taken by the flush in flight). It reports false when a flush has
// finished since: its writes may have landed after the read and are no
// longer queued, so the caller should read again.
func (c *Cached) addNotYetWritten(live []lastSeen, done uint64) bool {
	c.touchMu.Lock()
	defer c.touchMu.Unlock()
	for i, s := range live {
		for _, at := range []time.Time{c.touches[s.ID], c.writing[s.ID]} {
			if at.After(live[i].LastSeenAt) {
				live[i].LastSeenAt = at
			}
		}
	}
	return c.flushed == done
}

// RotateRefresh slides the session and updates the local entry. Slides are
// not broadcast: another instance whose cached expiry looks past re-reads the
// database before rejecting (see auth.Service.Authenticate).
func (c *Cached) RotateRefresh(ctx context.Context, id string, gen int64, now, expiresAt time.Time) (bool, error) {
	won, err := c.db.RotateRefresh(ctx, id, gen, now, expiresAt)
	if won {
		c.updateSession(id, func(s *models.Session) bool {
			if s.RefreshGen != gen {
				return false
			}
			s.RefreshGen, s.RotatedAt, s.ExpiresAt, s.LastSeenAt = gen+1, now, expiresAt, now
			return true
		})
	}
	return won, err
}

// RevokeSession revokes a session and evicts it everywhere.
func (c *Cached) RevokeSession(ctx context.Context, id string, now time.Time) (bool, error) {
	ok, err := c.db.RevokeSession(ctx, id, now)
	if err == nil {
		c.invalidate(ctx, "s:"+id)
	}
	return ok, err
}

// RevokeUserSessions revokes a user's sessions and evicts them everywhere.
func (c *Cached) RevokeUserSessions(ctx context.Context, userID, except string, now time.Time) (int64, error) {
	n, err := c.db.RevokeUserSessions(ctx, userID, except, now)
	if err == nil {
		c.invalidate(ctx, "us:"+userID)
	}
	return n, err
}

// UpdateUser applies an administrator's change and evicts the user (and, on
// disabling, their sessions) everywhere.
func (c *Cached) UpdateUser(ctx context.Context, id string, ch models.UserChange, now time.Time, check func(models.User, int) error) (models.User, error) {
	u, err := c.db.UpdateUser(ctx, id, ch, now, check)
	if err == nil {
		c.invalidate(ctx, "u:"+u.ID, "us:"+u.ID)
	}
	return u, err
}

// UpdateUserName changes a display name and evicts the user everywhere.
func (c *Cached) UpdateUserName(ctx context.Context, id, name string, now time.Time) (models.User, error) {
	u, err := c.db.UpdateUserName(ctx, id, name, now)
	if err == nil {
		c.invalidate(ctx, "u:"+u.ID)
	}
	return u, err
}

// UpdateMetadata changes a user's metadata or app metadata; it evicts
// the user.
func (c *Cached) UpdateMetadata(ctx context.Context, id string, app bool, now time.Time, apply func([]byte) ([]byte, error)) (models.User, error) {
	u, err := c.db.UpdateMetadata(ctx, id, app, now, apply)
	if err == nil {
		c.invalidate(ctx, "u:"+id)
	}
	return u, err
}

// DeleteUser deletes a user and evicts them and their sessions
// everywhere.
func (c *Cached) DeleteUser(ctx context.Context, id string, d models.Deletion, check func(models.User, int) error) (models.User, error) {
	u, err := c.db.DeleteUser(ctx, id, d, check)
	if err == nil {
		c.invalidate(ctx, "u:"+id, "us:"+id)
	}
	return u, err
}

// ExportUser reads what an export returns (no cached state).
func (c *Cached) ExportUser(ctx context.Context, id string) (models.Export, error) {
	return c.db.ExportUser(ctx, id)
}

// RevokeExcessSessions revokes the sessions over a user's bound and
// evicts them everywhere.
func (c *Cached) RevokeExcessSessions(ctx context.Context, userID string, keep int, now time.Time) ([]string, error) {
	// The last-seen times decide which is least recent: those not yet
	// written count too, read from the queue and the flush in flight rather
	// than waited for (a flush held up by a stalled row must not hold up a
	// sign-in, nor let it pass the cap). A flush that finishes during the
	// read means reading again (rare: one every few seconds).
	var live []lastSeen
	for try := 1; ; try++ {
		done := c.flushesDone()
		var err error
		if live, err = c.db.liveLastSeen(ctx, userID, now); err != nil {
			return nil, err
		}
		if c.afterReadLastSeen != nil {
			c.afterReadLastSeen()
		}
		// Past three reads (flushes finishing faster than a read), the
		// last is taken as it is.
		if c.addNotYetWritten(live, done) || try == 3 {
			break
		}
	}
	ids, err := c.db.revokeBeyond(ctx, live, keep, now)
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = "s:" + id
	}
	c.invalidate(ctx, keys...)
	return ids, err
}

// WebhookDeliveries lists webhook deliveries (no cached state).
func (c *Cached) WebhookDeliveries(ctx context.Context, failed bool, offset, limit int) ([]models.WebhookDelivery, int64, error) {
	return c.db.WebhookDeliveries(ctx, failed, offset, limit)
}

// RetryWebhook retries a failed delivery (no cached state).
func (c *Cached) RetryWebhook(ctx context.Context, id int64, now time.Time) (bool, error) {
	return c.db.RetryWebhook(ctx, id, now)
}

// ChangePassword sets a new password and evicts the user everywhere.
func (c *Cached) ChangePassword(ctx context.Context, id, hash string, now time.Time) error {
	err := c.db.ChangePassword(ctx, id, hash, now)
	if err == nil {
		c.invalidate(ctx, "u:"+id)
	}
	return err
}

// UpgradePasswordHash rehashes the same password and evicts the user
// everywhere (the cached user holds the hash).
func (c *Cached) UpgradePasswordHash(ctx context.Context, id, hash string, version int64) error {
	err := c.db.UpgradePasswordHash(ctx, id, hash, version)
	if err == nil {
		c.invalidate(ctx, "u:"+id)
	}
	return err
}

// The reads and inserts below change no cached state and pass straight through.

// Ping checks the database answers.
func (c *Cached) Ping(ctx context.Context) error { return c.db.Ping(ctx) }

// CreateUser inserts a user; nothing of a new user is cached yet.
func (c *Cached) CreateUser(ctx context.Context, u *models.User) error {
	return c.db.CreateUser(ctx, u)
}

// UserByEmail reads the database.
func (c *Cached) UserByEmail(ctx context.Context, email string) (models.User, error) {
	return c.db.UserByEmail(ctx, email)
}

// UserByID reads the database.
func (c *Cached) UserByID(ctx context.Context, id string) (models.User, error) {
	return c.db.UserByID(ctx, id)
}

// ListUsers reads the database.
func (c *Cached) ListUsers(ctx context.Context, emailLike string, offset, limit int) ([]models.User, int64, error) {
	return c.db.ListUsers(ctx, emailLike, offset, limit)
}

// CountActiveAdmins reads the database.
func (c *Cached) CountActiveAdmins(ctx context.Context) (int64, error) {
	return c.db.CountActiveAdmins(ctx)
}

// CreateSession inserts a session; it is cached on first use.
func (c *Cached) CreateSession(ctx context.Context, s *models.Session, credentialVersion int64) error {
	return c.db.CreateSession(ctx, s, credentialVersion)
}

// LiveSessions reads the database.
func (c *Cached) LiveSessions(ctx context.Context, userID string, now time.Time) ([]models.Session, error) {
	return c.db.LiveSessions(ctx, userID, now)
}

// RecordEvent appends an audit event.
func (c *Cached) RecordEvent(ctx context.Context, e *models.AuditEvent) error {
	return c.db.RecordEvent(ctx, e)
}

// Events reads the database.
func (c *Cached) Events(ctx context.Context, f models.EventFilter) ([]models.AuditEvent, error) {
	return c.db.Events(ctx, f)
}

// MarkEmailVerified records a proven address and evicts the user everywhere.
func (c *Cached) MarkEmailVerified(ctx context.Context, userID, email string) error {
	err := c.db.MarkEmailVerified(ctx, userID, email)
	if err == nil {
		c.invalidate(ctx, "u:"+userID)
	}
	return err
}

// ChangeEmail replaces an address and evicts the user everywhere.
func (c *Cached) ChangeEmail(ctx context.Context, userID, to string, version int64, now time.Time) (models.User, models.User, error) {
	before, after, err := c.db.ChangeEmail(ctx, userID, to, version, now)
	if err == nil {
		c.invalidate(ctx, "u:"+userID)
	}
	return before, after, err
}

// ResetPassword sets a password with a reset token and evicts the user
// everywhere.
func (c *Cached) ResetPassword(ctx context.Context, userID, hash string, version int64, now time.Time) error {
	err := c.db.ResetPassword(ctx, userID, hash, version, now)
	if err == nil {
		c.invalidate(ctx, "u:"+userID)
	}
	return err
}

// ProveAddress records the first proof of an address and evicts the user
// everywhere.
func (c *Cached) ProveAddress(ctx context.Context, userID, email string, version int64, voidPassword bool, now time.Time) (models.User, error) {
	u, err := c.db.ProveAddress(ctx, userID, email, version, voidPassword, now)
	if err == nil {
		c.invalidate(ctx, "u:"+userID)
	}
	return u, err
}

// The one-time tokens and the outbox hold no cached state.

// IssueToken stores a token, consuming older ones of its purpose.
func (c *Cached) IssueToken(ctx context.Context, t *models.OneTimeToken) error {
	return c.db.IssueToken(ctx, t)
}

// TokenByHash reads a live token.
func (c *Cached) TokenByHash(ctx context.Context, purpose models.TokenPurpose, hashes []string, now time.Time) (models.OneTimeToken, error) {
	return c.db.TokenByHash(ctx, purpose, hashes, now)
}

// ConsumeToken uses a token once.
func (c *Cached) ConsumeToken(ctx context.Context, purpose models.TokenPurpose, hashes []string, now time.Time) (models.OneTimeToken, error) {
	return c.db.ConsumeToken(ctx, purpose, hashes, now)
}

// ConsumeCode checks a code, counting misses.
func (c *Cached) ConsumeCode(ctx context.Context, purpose models.TokenPurpose, email string, codeHashes []string, maxAttempts int, now time.Time) (models.OneTimeToken, bool, error) {
	return c.db.ConsumeCode(ctx, purpose, email, codeHashes, maxAttempts, now)
}

// ConsumeUserTokens consumes a user's outstanding tokens.
func (c *Cached) ConsumeUserTokens(ctx context.Context, userID string, purpose models.TokenPurpose, now time.Time) error {
	return c.db.ConsumeUserTokens(ctx, userID, purpose, now)
}

// Enqueue records a mail request.
func (c *Cached) Enqueue(ctx context.Context, r models.MailRequest) error {
	return c.db.Enqueue(ctx, r)
}

// RecentMail counts recent messages to a recipient.
func (c *Cached) RecentMail(ctx context.Context, kind models.MailKind, recipient string, since time.Time) (int64, time.Time, error) {
	return c.db.RecentMail(ctx, kind, recipient, since)
}

// UpgradeSession records a new proof in a session and evicts it everywhere.
func (c *Cached) UpgradeSession(ctx context.Context, id string, aal int, amr string, authTime time.Time) error {
	err := c.db.UpgradeSession(ctx, id, aal, amr, authTime)
	if err == nil {
		c.invalidate(ctx, "s:"+id)
	}
	return err
}

// BumpCredentialVersion moves the version on and evicts the user everywhere.
func (c *Cached) BumpCredentialVersion(ctx context.Context, userID string) error {
	err := c.db.BumpCredentialVersion(ctx, userID)
	if err == nil {
		c.invalidate(ctx, "u:"+userID)
	}
	return err
}

// Factors, recovery codes and challenges hold no cached state.

// CreateFactor stores a pending factor.
func (c *Cached) CreateFactor(ctx context.Context, f *models.Factor) error {
	return c.db.CreateFactor(ctx, f)
}

// Factors lists a user's factors.
func (c *Cached) Factors(ctx context.Context, userID string) ([]models.Factor, error) {
	return c.db.Factors(ctx, userID)
}

// ActivateFactor turns a factor active.
func (c *Cached) ActivateFactor(ctx context.Context, id string, step int64, now time.Time) error {
	return c.db.ActivateFactor(ctx, id, step, now)
}

// DeleteFactor removes a factor.
func (c *Cached) DeleteFactor(ctx context.Context, userID, id string) (bool, error) {
	return c.db.DeleteFactor(ctx, userID, id)
}

// ReplaceRecoveryCodes stores a new set of recovery codes.
func (c *Cached) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, now time.Time) error {
	return c.db.ReplaceRecoveryCodes(ctx, userID, hashes, now)
}

// RecoveryCodes returns a user's unused recovery codes.
func (c *Cached) RecoveryCodes(ctx context.Context, userID string) ([]models.RecoveryCode, error) {
	return c.db.RecoveryCodes(ctx, userID)
}

// Spend uses up a proof.
func (c *Cached) Spend(ctx context.Context, sp models.Spend, now time.Time) (bool, error) {
	return c.db.Spend(ctx, sp, now)
}

// RecoveryCodesLeft counts unused recovery codes.
func (c *Cached) RecoveryCodesLeft(ctx context.Context, userID string) (int64, error) {
	return c.db.RecoveryCodesLeft(ctx, userID)
}

// DeleteRecoveryCodes removes a user's recovery codes.
func (c *Cached) DeleteRecoveryCodes(ctx context.Context, userID string) error {
	return c.db.DeleteRecoveryCodes(ctx, userID)
}

// DeleteMFA removes a user's factors and codes.
func (c *Cached) DeleteMFA(ctx context.Context, userID string) error {
	return c.db.DeleteMFA(ctx, userID)
}

// CreateChallenge stores a second step.
func (c *Cached) CreateChallenge(ctx context.Context, ch *models.MFAChallenge) error {
	return c.db.CreateChallenge(ctx, ch)
}

// LiveChallenge reads a live second step.
func (c *Cached) LiveChallenge(ctx context.Context, id string, now time.Time) (models.MFAChallenge, error) {
	return c.db.LiveChallenge(ctx, id, now)
}

// ClaimAttempt counts an attempt at a second step.
func (c *Cached) ClaimAttempt(ctx context.Context, id string, maxAttempts int, now time.Time) (bool, error) {
	return c.db.ClaimAttempt(ctx, id, maxAttempts, now)
}

// CompleteChallenge consumes a second step and spends its proof at once.
func (c *Cached) CompleteChallenge(ctx context.Context, id string, sp models.Spend, now time.Time) error {
	return c.db.CompleteChallenge(ctx, id, sp, now)
}

// Passkeys and WebAuthn ceremonies hold no cached state.

// CreatePasskey stores a passkey.
func (c *Cached) CreatePasskey(ctx context.Context, p *models.Passkey) error {
	return c.db.CreatePasskey(ctx, p)
}

// Passkeys lists a user's passkeys.
func (c *Cached) Passkeys(ctx context.Context, userID string) ([]models.Passkey, error) {
	return c.db.Passkeys(ctx, userID)
}

// PasskeyByCredentialID finds a passkey by its credential id.
func (c *Cached) PasskeyByCredentialID(ctx context.Context, credentialID string) (models.Passkey, error) {
	return c.db.PasskeyByCredentialID(ctx, credentialID)
}

// RenamePasskey renames a passkey.
func (c *Cached) RenamePasskey(ctx context.Context, userID, id, name string) (bool, error) {
	return c.db.RenamePasskey(ctx, userID, id, name)
}

// DeletePasskey removes a passkey.
func (c *Cached) DeletePasskey(ctx context.Context, userID, id string, check func(models.LoginMethods) error) (bool, error) {
	return c.db.DeletePasskey(ctx, userID, id, check)
}

// UsePasskey moves a passkey's counter on.
func (c *Cached) UsePasskey(ctx context.Context, id string, count int64, backupState bool, now time.Time) error {
	return c.db.UsePasskey(ctx, id, count, backupState, now)
}

// CreateWebAuthnChallenge stores a ceremony.
func (c *Cached) CreateWebAuthnChallenge(ctx context.Context, ch *models.WebAuthnChallenge) error {
	return c.db.CreateWebAuthnChallenge(ctx, ch)
}

// ConsumeWebAuthnChallenge uses up a ceremony.
func (c *Cached) ConsumeWebAuthnChallenge(ctx context.Context, id, purpose string, now time.Time) (models.WebAuthnChallenge, error) {
	return c.db.ConsumeWebAuthnChallenge(ctx, id, purpose, now)
}

// ConsumeChallenge consumes a second step.
func (c *Cached) ConsumeChallenge(ctx context.Context, id string, now time.Time) error {
	return c.db.ConsumeChallenge(ctx, id, now)
}

// Identities hold no cached state; the writes that move the credential
// version on evict the user.

// CreateUserWithIdentity creates a user and its first identity.
func (c *Cached) CreateUserWithIdentity(ctx context.Context, u *models.User, id *models.Identity) error {
	return c.db.CreateUserWithIdentity(ctx, u, id)
}

// IdentityBySubject finds an identity.
func (c *Cached) IdentityBySubject(ctx context.Context, issuer, subject string) (models.Identity, error) {
	return c.db.IdentityBySubject(ctx, issuer, subject)
}

// Identities lists a user's identities.
func (c *Cached) Identities(ctx context.Context, userID string) ([]models.Identity, error) {
	return c.db.Identities(ctx, userID)
}

// LinkIdentity links an identity and evicts its user everywhere.
func (c *Cached) LinkIdentity(ctx context.Context, id *models.Identity) error {
	err := c.db.LinkIdentity(ctx, id)
	if err == nil {
		c.invalidate(ctx, "u:"+id.UserID)
	}
	return err
}

// TouchIdentity records a sign-in through an identity.
func (c *Cached) TouchIdentity(ctx context.Context, id, email string, verified bool, now time.Time) error {
	return c.db.TouchIdentity(ctx, id, email, verified, now)
}

// UnlinkIdentity unlinks an identity and evicts its user everywhere.
func (c *Cached) UnlinkIdentity(ctx context.Context, userID, id string, check func(models.LoginMethods) error) (bool, error) {
	found, err := c.db.UnlinkIdentity(ctx, userID, id, check)
	if found && err == nil {
		c.invalidate(ctx, "u:"+userID)
	}
	return found, err
}

// DropUnprovenIdentities unlinks the identities that did not prove an
// address, and evicts the user everywhere.
func (c *Cached) DropUnprovenIdentities(ctx context.Context, userID, email string) (int64, error) {
	n, err := c.db.DropUnprovenIdentities(ctx, userID, email)
	if n > 0 {
		c.invalidate(ctx, "u:"+userID)
	}
	return n, err
}

// SpendOIDCState records a finished callback's state.
func (c *Cached) SpendOIDCState(ctx context.Context, hash string, expiresAt time.Time) (bool, error) {
	return c.db.SpendOIDCState(ctx, hash, expiresAt)
}
