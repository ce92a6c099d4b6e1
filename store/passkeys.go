package store

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/portcullis-auth/portcullis/models"
)

// CreatePasskey stores a new passkey.
func (db *DB) CreatePasskey(ctx context.Context, p *models.Passkey) error {
	if p.ID == "" {
		p.ID = newID()
	}
	return translate(db.with(ctx).Create(p).Error, "could not store the passkey")
}

// Passkeys lists a user's passkeys, oldest first.
func (db *DB) Passkeys(ctx context.Context, userID string) ([]models.Passkey, error) {
	var ps []models.Passkey
	err := db.with(ctx).Where("user_id = ?", userID).Order("created_at").Order("id").Find(&ps).Error
	return ps, translate(err, "could not list passkeys")
}

// PasskeyByCredentialID finds the passkey an authenticator names.
func (db *DB) PasskeyByCredentialID(ctx context.Context, credentialID string) (models.Passkey, error) {
	var p models.Passkey
	err := db.with(ctx).Where("credential_id = ?", credentialID).Take(&p).Error
	return p, translate(err, "could not read the passkey")
}

// RenamePasskey renames one of a user's passkeys and reports whether it
// existed.
func (db *DB) RenamePasskey(ctx context.Context, userID, id, name string) (bool, error) {
	res := db.with(ctx).Model(&models.Passkey{}).Where("id = ? AND user_id = ?", id, userID).Update("name", name)
	return res.RowsAffected == 1, translate(res.Error, "could not rename the passkey")
}

// DeletePasskey removes one of a user's passkeys and reports whether it
// existed.
func (db *DB) DeletePasskey(ctx context.Context, userID, id string, check func(left models.LoginMethods) error) (found bool, err error) {
	err = db.with(ctx).Transaction(func(tx *gorm.DB) error {
		left, err := loginMethodsLocked(tx, db.dialect, userID)
		if err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&models.Passkey{}).Where("id = ? AND user_id = ?", id, userID).Count(&n).Error; err != nil || n == 0 {
			return err
		}
		found = true
		left.Passkeys--
		if err := check(left); err != nil {
			return err
		}
		return tx.Where("id = ? AND user_id = ?", id, userID).Delete(&models.Passkey{}).Error
	})
	return found, translate(err, "could not remove the passkey")
}

// UsePasskey records an assertion of a passkey: its signature counter
// moves to count only if that is past the stored one (or both are 0, an
// authenticator without a counter), in one conditional update, so of two
// assertions with the same counter one wins. models.ErrSignCountBehind
// otherwise.
func (db *DB) UsePasskey(ctx context.Context, id string, count int64, backupState bool, now time.Time) error {
	res := db.with(ctx).Model(&models.Passkey{}).
		Where("id = ? AND (sign_count < ? OR (? = 0 AND sign_count = 0))", id, count, count).
		Updates(map[string]any{"sign_count": count, "backup_state": backupState, "last_used_at": now})
	if res.Error != nil {
		return translate(res.Error, "could not update the passkey")
	}
	if res.RowsAffected != 1 {
		return models.ErrSignCountBehind
	}
	return nil
}

// CreateWebAuthnChallenge stores a ceremony in flight.
func (db *DB) CreateWebAuthnChallenge(ctx context.Context, c *models.WebAuthnChallenge) error {
	if c.ID == "" {
		c.ID = newID()
	}
	return translate(db.with(ctx).Create(c).Error, "could not store the challenge")
}

// ConsumeWebAuthnChallenge uses up a live ceremony of purpose: one
// conditional update, so of parallel answers to one flowId one gets it.
// NotFound when it is unknown, of another purpose, expired or used.
func (db *DB) ConsumeWebAuthnChallenge(ctx context.Context, id, purpose string, now time.Time) (models.WebAuthnChallenge, error) {
	var c models.WebAuthnChallenge
	err := db.with(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&models.WebAuthnChallenge{}).
			Where("id = ? AND purpose = ? AND consumed_at IS NULL AND expires_at > ?", id, purpose, now).
			Update("consumed_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return models.Errorf(models.NotFound, "no such ceremony")
		}
		return tx.Where("id = ?", id).Take(&c).Error
	})
	return c, translate(err, "could not read the challenge")
}

// ConsumeChallenge consumes a second step whose proof spends nothing (a
// passkey, whose counter UsePasskey moved): models.ErrChallengeConsumed
// when another request consumed it first.
func (db *DB) ConsumeChallenge(ctx context.Context, id string, now time.Time) error {
	res := db.with(ctx).Model(&models.MFAChallenge{}).Where("id = ? AND consumed_at IS NULL", id).Update("consumed_at", now)
	if res.Error != nil {
		return translate(res.Error, "could not complete the second step")
	}
	if res.RowsAffected != 1 {
		return models.ErrChallengeConsumed
	}
	return nil
}
