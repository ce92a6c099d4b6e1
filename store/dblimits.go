package store

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// DBLimiter is a fixed-window rate limiter whose counters live in the
// database, so every instance shares them (AUTH_RATE_LIMIT_STORE=database).
type DBLimiter struct {
	db     *DB
	events int
	per    time.Duration
	now    func() time.Time
}

// NewDBLimiter allows events per period for each key, counted in the database.
func NewDBLimiter(db *DB, events int, per time.Duration, now func() time.Time) *DBLimiter {
	return &DBLimiter{db: db, events: events, per: per, now: now}
}

// Allow counts one event for key with an atomic upsert and returns how long
// until the window resets when the allowance is spent.
func (l *DBLimiter) Allow(ctx context.Context, key string) (time.Duration, error) {
	now := l.now().UTC()
	window := now.Truncate(l.per)
	var count int
	err := l.db.with(ctx).Raw(`
INSERT INTO rate_counters (key, window_start, count) VALUES (?, ?, 1)
ON CONFLICT (key) DO UPDATE SET
  count = CASE WHEN rate_counters.window_start = excluded.window_start THEN rate_counters.count + 1 ELSE 1 END,
  window_start = excluded.window_start
RETURNING count`, key, window).Scan(&count).Error
	if err != nil {
		return 0, translate(err, "rate limiter unavailable")
	}
	if count > l.events {
		return window.Add(l.per).Sub(now), nil
	}
	return 0, nil
}

// DBLockout counts password attempts per key in the database, so every
// instance shares them; last_failure is the latest reservation.
type DBLockout struct {
	db       *DB
	duration time.Duration
	now      func() time.Time
}

// NewDBLockout keeps counts for duration after the latest attempt and locks
// for duration.
func NewDBLockout(db *DB, duration time.Duration, now func() time.Time) *DBLockout {
	return &DBLockout{db: db, duration: duration, now: now}
}

type lockRow struct {
	Key         string
	Failures    int
	Pending     int
	LastFailure time.Time
	LockedUntil *time.Time
}

// update runs change on key's row, created if missing, under a row lock, and
// writes back what change leaves (nothing, when it leaves nothing to count).
func (l *DBLockout) update(ctx context.Context, key string, change func(e *lockEntry, now time.Time)) error {
	now := l.now().UTC()
	err := l.db.with(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO lockouts (key, failures, last_failure) VALUES (?, 0, ?) ON CONFLICT (key) DO NOTHING`, key, now).Error; err != nil {
			return err
		}
		q := tx.Table("lockouts").Where("key = ?", key)
		if l.db.dialect == "postgres" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var r lockRow
		if err := q.Take(&r).Error; err != nil {
			return err
		}
		e := lockEntry{failures: r.Failures, pending: r.Pending, last: r.LastFailure}
		if r.LockedUntil != nil {
			e.lockedUntil = *r.LockedUntil
		}
		change(&e, now)
		if e.empty(now) {
			return tx.Exec("DELETE FROM lockouts WHERE key = ?", key).Error
		}
		var until *time.Time
		if !e.lockedUntil.IsZero() {
			until = &e.lockedUntil
		}
		if e.last.IsZero() {
			e.last = now
		}
		return tx.Exec("UPDATE lockouts SET failures = ?, pending = ?, last_failure = ?, locked_until = ? WHERE key = ?",
			e.failures, e.pending, e.last, until, key).Error
	})
	return translate(err, "lockout store unavailable")
}

// Reserve counts one attempt for key unless the key is locked or limit
// attempts are already counted; then it returns how long to wait.
func (l *DBLockout) Reserve(ctx context.Context, key string, limit int) (time.Duration, error) {
	var wait time.Duration
	err := l.update(ctx, key, func(e *lockEntry, now time.Time) {
		if wait = lockWait(e, now, l.duration, limit); wait == 0 {
			e.pending++
			e.last = now
		}
	})
	return wait, err
}

// Fail records that a reserved attempt failed and locks the key once limit
// failures are counted. It reports whether this call locked it.
func (l *DBLockout) Fail(ctx context.Context, key string, limit int) (bool, error) {
	locked := false
	err := l.update(ctx, key, func(e *lockEntry, now time.Time) { locked = settle(e, now, l.duration, limit, true) })
	return locked, err
}

// Release returns a reserved attempt whose proof was never checked.
func (l *DBLockout) Release(ctx context.Context, key string) error {
	return l.update(ctx, key, func(e *lockEntry, now time.Time) { settle(e, now, l.duration, 0, false) })
}

// Reset settles a successful attempt and forgets key's failures, unless the
// key is locked or other attempts are still being checked: a right password
// among parallel guesses must not give the guesses a fresh allowance.
func (l *DBLockout) Reset(ctx context.Context, key string) error {
	return l.update(ctx, key, func(e *lockEntry, now time.Time) {
		settle(e, now, l.duration, 0, false)
		if e.pending == 0 && !now.Before(e.lockedUntil) {
			e.failures = 0
		}
	})
}

// Clear forgets every key that starts with prefix, locks included.
func (l *DBLockout) Clear(ctx context.Context, prefix string) error {
	err := l.db.with(ctx).Exec("DELETE FROM lockouts WHERE substr(key, 1, ?) = ?", len([]rune(prefix)), prefix).Error
	return translate(err, "lockout store unavailable")
}
