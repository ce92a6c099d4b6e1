package store

import (
	"context"
	"time"

	"gorm.io/gorm"
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

// DBLockout counts failed logins per key in the database.
type DBLockout struct {
	db        *DB
	threshold int
	duration  time.Duration
	now       func() time.Time
}

// NewDBLockout locks a key for duration after threshold failures, each within
// duration of the previous one, counted in the database.
func NewDBLockout(db *DB, threshold int, duration time.Duration, now func() time.Time) *DBLockout {
	return &DBLockout{db: db, threshold: threshold, duration: duration, now: now}
}

// Locked returns how long key stays locked, or 0.
func (l *DBLockout) Locked(ctx context.Context, key string) (time.Duration, error) {
	now := l.now().UTC()
	var until []time.Time
	err := l.db.with(ctx).Table("lockouts").Where("key = ? AND locked_until > ?", key, now).Pluck("locked_until", &until).Error
	if err != nil {
		return 0, translate(err, "lockout store unavailable")
	}
	if len(until) == 0 {
		return 0, nil
	}
	return until[0].Sub(now), nil
}

// Fail counts a failure for key atomically and locks it at the threshold.
func (l *DBLockout) Fail(ctx context.Context, key string) (bool, error) {
	now := l.now().UTC()
	locked := false
	err := l.db.with(ctx).Transaction(func(tx *gorm.DB) error {
		var failures int
		if err := tx.Raw(`
INSERT INTO lockouts (key, failures, last_failure) VALUES (?, 1, ?)
ON CONFLICT (key) DO UPDATE SET
  failures = CASE WHEN lockouts.last_failure < ? THEN 1 ELSE lockouts.failures + 1 END,
  last_failure = excluded.last_failure
RETURNING failures`, key, now, now.Add(-l.duration)).Scan(&failures).Error; err != nil {
			return err
		}
		if failures < l.threshold {
			return nil
		}
		locked = true
		return tx.Exec("UPDATE lockouts SET failures = 0, locked_until = ? WHERE key = ?", now.Add(l.duration), key).Error
	})
	return locked, translate(err, "lockout store unavailable")
}

// Reset forgets key's failures unless it is locked.
func (l *DBLockout) Reset(ctx context.Context, key string) error {
	now := l.now().UTC()
	err := l.db.with(ctx).Exec("DELETE FROM lockouts WHERE key = ? AND (locked_until IS NULL OR locked_until <= ?)", key, now).Error
	return translate(err, "lockout store unavailable")
}

// Prune deletes counters whose window has passed.
func (l *DBLimiter) Prune(ctx context.Context) error {
	cutoff := l.now().UTC().Truncate(l.per).Add(-l.per)
	return translate(l.db.with(ctx).Exec("DELETE FROM rate_counters WHERE window_start < ?", cutoff).Error, "could not prune rate counters")
}

// Prune deletes failure counts and lockouts that no longer matter.
func (l *DBLockout) Prune(ctx context.Context) error {
	now := l.now().UTC()
	err := l.db.with(ctx).Exec("DELETE FROM lockouts WHERE last_failure < ? AND (locked_until IS NULL OR locked_until < ?)",
		now.Add(-l.duration), now).Error
	return translate(err, "could not prune lockouts")
}
