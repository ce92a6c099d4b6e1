package store

import (
	"context"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/portcullis-auth/portcullis/models"
)

// CreateSession inserts s, assigning an id when it has none, in one
// conditional statement: only if its user is not disabled and still has the
// credential version the caller checked. Otherwise it inserts nothing and
// returns models.ErrStaleCredentials.
func (db *DB) CreateSession(ctx context.Context, s *models.Session, credentialVersion int64) error {
	if s.ID == "" {
		s.ID = newID()
	}
	// On PostgreSQL the user row is locked in share mode: a password change
	// committing meanwhile is either seen (the row is re-checked and no longer
	// matches) or waits for this insert, and its revocation then sees the new
	// session. SQLite has one writer at a time, which gives the same order.
	lock := ""
	if db.dialect == "postgres" {
		lock = " FOR SHARE OF u"
	}
	insert := func(g *gorm.DB) error {
		res := g.Exec(`INSERT INTO sessions
  (id, user_id, created_at, last_seen_at, expires_at, refresh_gen, rotated_at, remember, user_agent, ip, aal, amr, auth_time)
SELECT ?, u.id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
FROM users u WHERE u.id = ? AND u.credential_version = ? AND u.disabled_at IS NULL`+lock,
			s.ID, s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.RefreshGen, s.RotatedAt, s.Remember, s.UserAgent, s.IP, s.AAL, s.AMR, s.AuthTime,
			s.UserID, credentialVersion)
		if res.Error != nil {
			return translate(res.Error, "could not create the session")
		}
		if res.RowsAffected == 0 {
			return models.ErrStaleCredentials
		}
		return nil
	}
	hook := db.beforeSessionCommit
	if hook == nil {
		return insert(db.with(ctx))
	}
	// Tests only: the same statement in a transaction of its own, held open
	// for the hook. An autocommit statement has the same window, between its
	// read of the user and its commit, only too short to hit on purpose.
	return db.with(ctx).Transaction(func(tx *gorm.DB) error {
		if err := insert(tx); err != nil {
			return err
		}
		hook()
		return nil
	})
}

// SessionByID loads a session by id.
func (db *DB) SessionByID(ctx context.Context, id string) (models.Session, error) {
	var s models.Session
	err := db.with(ctx).Where("id = ?", id).Take(&s).Error
	return s, translate(err, "could not load the session")
}

// SessionWithUser loads a session and the user it belongs to. The database
// is always fresh; fresh matters to the cache in front of it.
func (db *DB) SessionWithUser(ctx context.Context, id string, fresh bool) (models.Session, models.User, error) {
	s, err := db.SessionByID(ctx, id)
	if err != nil {
		return models.Session{}, models.User{}, err
	}
	u, err := db.UserByID(ctx, s.UserID)
	return s, u, err
}

// RotateRefresh advances a live session's refresh generation from gen to
// gen+1 and slides its expiry, in one conditional UPDATE so that of several
// concurrent callers presenting the same generation exactly one wins. It
// reports whether this call won; it loses too when the session is revoked or
// expired.
func (db *DB) RotateRefresh(ctx context.Context, id string, gen int64, now, expiresAt time.Time) (bool, error) {
	// Every refresh runs this one statement: it goes to database/sql
	// directly, in the dialect's own placeholders, rather than through
	// GORM's statement builder and callbacks.
	q := rotateRefreshSQL
	if db.dialect == "postgres" {
		q = rotateRefreshPG
	}
	res, err := db.sql.ExecContext(ctx, q, now, expiresAt, now, id, gen, now)
	if err != nil {
		return false, translate(err, "could not rotate the session")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, translate(err, "could not rotate the session")
	}
	return n == 1, nil
}

const (
	rotateRefreshSQL = `UPDATE sessions SET refresh_gen = refresh_gen + 1, rotated_at = ?, expires_at = ?, last_seen_at = ?
WHERE id = ? AND refresh_gen = ? AND revoked_at IS NULL AND expires_at > ?`
	rotateRefreshPG = `UPDATE sessions SET refresh_gen = refresh_gen + 1, rotated_at = $1, expires_at = $2, last_seen_at = $3
WHERE id = $4 AND refresh_gen = $5 AND revoked_at IS NULL AND expires_at > $6`
)

// TouchSession records that a session was used at now.
func (db *DB) TouchSession(ctx context.Context, id string, now time.Time) error {
	err := db.with(ctx).Model(&models.Session{}).Where("id = ?", id).Update("last_seen_at", now).Error
	return translate(err, "could not update the session")
}

// RevokeSession revokes one session. It reports whether it was live.
func (db *DB) RevokeSession(ctx context.Context, id string, now time.Time) (bool, error) {
	res := db.with(ctx).Model(&models.Session{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", now)
	if res.Error != nil {
		return false, translate(res.Error, "could not revoke the session")
	}
	return res.RowsAffected == 1, nil
}

// RevokeUserSessions revokes every live session of a user except the one
// with id except (which may be empty). It returns how many it revoked.
func (db *DB) RevokeUserSessions(ctx context.Context, userID, except string, now time.Time) (int64, error) {
	q := db.with(ctx).Model(&models.Session{}).Where("user_id = ? AND revoked_at IS NULL", userID)
	if except != "" {
		q = q.Where("id <> ?", except)
	}
	res := q.Update("revoked_at", now)
	return res.RowsAffected, translate(res.Error, "could not revoke sessions")
}

// LiveSessions lists a user's sessions that are neither revoked nor expired
// at now, newest first.
func (db *DB) LiveSessions(ctx context.Context, userID string, now time.Time) ([]models.Session, error) {
	var ss []models.Session
	err := db.with(ctx).Where("user_id = ? AND revoked_at IS NULL AND expires_at > ?", userID, now).
		Order("created_at DESC").Order("id DESC").Find(&ss).Error
	return ss, translate(err, "could not list sessions")
}

// RevokeExcessSessions revokes the live sessions of userID beyond the keep
// most recently used (by last_seen_at, then id) and returns their ids.
func (db *DB) RevokeExcessSessions(ctx context.Context, userID string, keep int, now time.Time) ([]string, error) {
	live, err := db.liveLastSeen(ctx, userID, now)
	if err != nil {
		return nil, err
	}
	return db.revokeBeyond(ctx, live, keep, now)
}

// lastSeen is a live session's id and last-seen time.
type lastSeen struct {
	ID         string
	LastSeenAt time.Time
}

// liveLastSeen lists the live sessions of userID at now, unordered.
func (db *DB) liveLastSeen(ctx context.Context, userID string, now time.Time) ([]lastSeen, error) {
	var live []lastSeen
	err := db.with(ctx).Model(&models.Session{}).Select("id", "last_seen_at").
		Where("user_id = ? AND revoked_at IS NULL AND expires_at > ?", userID, now).Find(&live).Error
	return live, translate(err, "could not list sessions")
}

// revokeBeyond revokes the sessions of live beyond the keep most recently
// used (last seen, then the larger id, as ORDER BY last_seen_at DESC, id
// DESC) and returns their ids.
func (db *DB) revokeBeyond(ctx context.Context, live []lastSeen, keep int, now time.Time) ([]string, error) {
	if len(live) <= keep {
		return nil, nil
	}
	slices.SortFunc(live, func(a, b lastSeen) int {
		if c := b.LastSeenAt.Compare(a.LastSeenAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	ids := make([]string, 0, len(live)-keep)
	for _, s := range live[keep:] {
		ids = append(ids, s.ID)
	}
	err := db.with(ctx).Model(&models.Session{}).Where("id IN ? AND revoked_at IS NULL", ids).Update("revoked_at", now).Error
	return ids, translate(err, "could not revoke sessions")
}
