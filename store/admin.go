package store

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/portcullis-auth/portcullis/models"
)

// ListUsers returns a page of users ordered by creation, optionally those
// whose email contains emailLike, and the total that match.
func (db *DB) ListUsers(ctx context.Context, emailLike string, offset, limit int) ([]models.User, int64, error) {
	q := db.with(ctx).Model(&models.User{})
	if emailLike != "" {
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(models.NormalizeEmail(emailLike))
		q = q.Where(`email LIKE ? ESCAPE '\'`, "%"+esc+"%")
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, translate(err, "could not count users")
	}
	var us []models.User
	err := q.Order("created_at").Order("id").Offset(offset).Limit(limit).Find(&us).Error
	return us, total, translate(err, "could not list users")
}

// CountActiveAdmins counts administrators who are not disabled.
func (db *DB) CountActiveAdmins(ctx context.Context) (int64, error) {
	var n int64
	err := db.with(ctx).Model(&models.User{}).Where("role = ? AND disabled_at IS NULL", models.RoleAdmin).Count(&n).Error
	return n, translate(err, "could not count administrators")
}

// UpdateUser applies ch to the user with id in one transaction. Before any
// write it calls check with the user as stored and the number of other active
// administrators, read under locks so that concurrent changes see each other;
// an error from check (which may be nil) aborts the transaction and is
// returned as is. Disabling
// a user also revokes every session of theirs.
func (db *DB) UpdateUser(ctx context.Context, id string, ch models.UserChange, now time.Time, check func(before models.User, otherAdmins int) error) (models.User, error) {
	var out models.User
	err := db.with(ctx).Transaction(func(tx *gorm.DB) error {
		u, err := lockedForAdminCheck(tx, db.dialect, id, check)
		if err != nil {
			return err
		}
		updates := map[string]any{"updated_at": now}
		if ch.Role != nil {
			updates["role"] = *ch.Role
		}
		if ch.Disabled != nil {
			if *ch.Disabled && u.DisabledAt == nil {
				updates["disabled_at"] = now
				updates["credential_version"] = gorm.Expr("credential_version + 1")
			} else if !*ch.Disabled {
				updates["disabled_at"] = nil
			}
		}
		if err := tx.Model(&models.User{}).Where("id = ?", id).Updates(updates).Error; err != nil {
			return err
		}
		if ch.Disabled != nil && *ch.Disabled {
			if err := tx.Model(&models.Session{}).Where("user_id = ? AND revoked_at IS NULL", id).Update("revoked_at", now).Error; err != nil {
				return err
			}
		}
		return tx.Where("id = ?", id).Take(&out).Error
	})
	return out, translate(err, "could not update the user")
}

// lockedForAdminCheck reads the user with id and counts the other active
// administrators, with those rows locked, and hands both to check (which
// may be nil); its error aborts the caller's transaction. The rows are
// locked always in id order, so that two transactions demoting each other
// queue instead of deadlocking (SQLite transactions are already exclusive
// writers).
func lockedForAdminCheck(tx *gorm.DB, dialect, id string, check func(before models.User, otherAdmins int) error) (models.User, error) {
	locked := tx.Model(&models.User{}).Where("(role = ? AND disabled_at IS NULL) OR id = ?", models.RoleAdmin, id).Order("id")
	if dialect == "postgres" {
		locked = locked.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var rows []models.User
	if err := locked.Find(&rows).Error; err != nil {
		return models.User{}, err
	}
	var (
		u           models.User
		found       bool
		otherAdmins int
	)
	for _, r := range rows {
		switch {
		case r.ID == id:
			u, found = r, true
		case r.Role == models.RoleAdmin && r.DisabledAt == nil:
			otherAdmins++
		}
	}
	if !found {
		return models.User{}, gorm.ErrRecordNotFound
	}
	if check != nil {
		if err := check(u, otherAdmins); err != nil {
			return models.User{}, err
		}
	}
	return u, nil
}
