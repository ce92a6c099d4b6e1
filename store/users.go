package store

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/portcullis-auth/portcullis/models"
)

// CreateUser inserts u, assigning an id when it has none. A duplicate email is
// a Conflict error.
func (db *DB) CreateUser(ctx context.Context, u *models.User) error {
	if u.ID == "" {
		u.ID = newID()
	}
	u.Email = models.NormalizeEmail(u.Email)
	emptyMetadata(u)
	if err := db.with(ctx).Create(u).Error; err != nil {
		return translate(err, "could not create the user")
	}
	return nil
}

// UserByEmail finds a user by normalised email.
func (db *DB) UserByEmail(ctx context.Context, email string) (models.User, error) {
	var u models.User
	err := db.with(ctx).Where("email = ?", models.NormalizeEmail(email)).Take(&u).Error
	return u, translate(err, "could not load the user")
}

// UserByID finds a user by id.
func (db *DB) UserByID(ctx context.Context, id string) (models.User, error) {
	var u models.User
	err := db.with(ctx).Where("id = ?", id).Take(&u).Error
	return u, translate(err, "could not load the user")
}

// UpdateUserName sets a user's display name and returns the updated user.
func (db *DB) UpdateUserName(ctx context.Context, id, name string, now time.Time) (models.User, error) {
	res := db.with(ctx).Model(&models.User{}).Where("id = ?", id).
		Updates(map[string]any{"name": name, "updated_at": now})
	if err := res.Error; err != nil {
		return models.User{}, translate(err, "could not update the user")
	}
	if res.RowsAffected == 0 {
		return models.User{}, models.Errorf(models.NotFound, "not found")
	}
	return db.UserByID(ctx, id)
}

// ChangePassword sets a new password hash and moves the user's credential
// version on, so no check of the old password can still start a session.
func (db *DB) ChangePassword(ctx context.Context, id, hash string, now time.Time) error {
	err := db.with(ctx).Model(&models.User{}).Where("id = ?", id).
		Updates(map[string]any{"password_hash": hash, "updated_at": now, "credential_version": gorm.Expr("credential_version + 1")}).Error
	return translate(err, "could not update the password")
}

// UpgradePasswordHash replaces the hash of the same password (new hashing
// parameters), unless the credentials changed since version was read.
func (db *DB) UpgradePasswordHash(ctx context.Context, id, hash string, version int64) error {
	err := db.with(ctx).Model(&models.User{}).Where("id = ? AND credential_version = ?", id, version).
		Update("password_hash", hash).Error
	return translate(err, "could not update the password")
}

// emptyMetadata gives a new user the empty objects its columns default to.
func emptyMetadata(u *models.User) {
	if u.Metadata == "" {
		u.Metadata = "{}"
	}
	if u.AppMetadata == "" {
		u.AppMetadata = "{}"
	}
}

// UpdateMetadata replaces the user's metadata (app false) or app metadata
// (app true) with what apply makes of the stored value, in one transaction
// with the row locked, so concurrent patches each see the other's result.
// An error from apply aborts and is returned as is.
func (db *DB) UpdateMetadata(ctx context.Context, id string, app bool, now time.Time, apply func(current []byte) ([]byte, error)) (models.User, error) {
	col := "metadata"
	if app {
		col = "app_metadata"
	}
	var out models.User
	err := db.with(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Where("id = ?", id)
		if db.dialect == "postgres" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var u models.User
		if err := q.Take(&u).Error; err != nil {
			return err
		}
		cur := u.Metadata
		if app {
			cur = u.AppMetadata
		}
		next, err := apply(models.MetadataJSON(cur))
		if err != nil {
			return err
		}
		if err := tx.Model(&models.User{}).Where("id = ?", id).
			Updates(map[string]any{col: string(next), "updated_at": now}).Error; err != nil {
			return err
		}
		return tx.Where("id = ?", id).Take(&out).Error
	})
	return out, translate(err, "could not update the user")
}
