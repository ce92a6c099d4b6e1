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

// UpdateUser applies ch to the user with id in one transaction. It refuses,
// with a Conflict, to leave no active administrator; disabling a user also
// revokes every session of theirs.
func (db *DB) UpdateUser(ctx context.Context, id string, ch models.UserChange, now time.Time) (models.User, error) {
	var out models.User
	err := db.with(ctx).Transaction(func(tx *gorm.DB) error {
		var u models.User
		if err := tx.Where("id = ?", id).Take(&u).Error; err != nil {
			return err
		}
		updates := map[string]any{"updated_at": now}
		if ch.Role != nil {
			updates["role"] = *ch.Role
		}
		if ch.Disabled != nil {
			if *ch.Disabled && u.DisabledAt == nil {
				updates["disabled_at"] = now
			} else if !*ch.Disabled {
				updates["disabled_at"] = nil
			}
		}
		losesAdmin := u.Role == models.RoleAdmin && u.DisabledAt == nil &&
			((ch.Role != nil && *ch.Role != models.RoleAdmin) || (ch.Disabled != nil && *ch.Disabled))
		if losesAdmin {
			// Lock the active administrators so two concurrent demotions
			// cannot both see the other as remaining (SQLite transactions are
			// already exclusive writers).
			q := tx.Model(&models.User{}).Where("role = ? AND disabled_at IS NULL AND id <> ?", models.RoleAdmin, id)
			if db.dialect == "postgres" {
				q = q.Clauses(clause.Locking{Strength: "UPDATE"})
			}
			var others []string
			if err := q.Pluck("id", &others).Error; err != nil {
				return err
			}
			if len(others) == 0 {
				return &models.Error{Kind: models.Conflict, Code: "last_admin", Message: "cannot demote or disable the last active administrator"}
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
