package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/portcullis-auth/portcullis/models"
)

// CreateFactor stores a pending factor, dropping the user's other pending
// ones (an enrolment started again replaces the unfinished one).
func (db *DB) CreateFactor(ctx context.Context, f *models.Factor) error {
	if f.ID == "" {
		f.ID = newID()
	}
	err := db.with(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("user_id = ? AND status = ?", f.UserID, models.FactorPending).Delete(&models.Factor{}).Error; err != nil {
			return err
		}
		return tx.Create(f).Error
	})
	return translate(err, "could not store the factor")
}

// Factors lists a user's factors, oldest first.
func (db *DB) Factors(ctx context.Context, userID string) ([]models.Factor, error) {
	var fs []models.Factor
	err := db.with(ctx).Where("user_id = ?", userID).Order("created_at").Order("id").Find(&fs).Error
	return fs, translate(err, "could not list factors")
}

// ActivateFactor turns a pending factor active at the time step its first
// code used.
func (db *DB) ActivateFactor(ctx context.Context, id string, step int64, now time.Time) error {
	err := db.with(ctx).Model(&models.Factor{}).Where("id = ? AND status = ?", id, models.FactorPending).
		Updates(map[string]any{"status": models.FactorActive, "verified_at": now, "last_used_at": now, "last_step": step}).Error
	return translate(err, "could not activate the factor")
}

// DeleteFactor removes one of a user's factors and reports whether it existed.
func (db *DB) DeleteFactor(ctx context.Context, userID, id string) (bool, error) {
	res := db.with(ctx).Where("id = ? AND user_id = ?", id, userID).Delete(&models.Factor{})
	return res.RowsAffected == 1, translate(res.Error, "could not remove the factor")
}

// SetFactorSecret replaces a factor's sealed secret (key rotation).
func (db *DB) SetFactorSecret(ctx context.Context, id, sealed string) error {
	return translate(db.with(ctx).Model(&models.Factor{}).Where("id = ?", id).Update("secret", sealed).Error, "could not update the factor")
}

// AllFactors lists every factor of every user (key rotation).
func (db *DB) AllFactors(ctx context.Context) ([]models.Factor, error) {
	var fs []models.Factor
	return fs, translate(db.with(ctx).Order("id").Find(&fs).Error, "could not list factors")
}

// ReplaceRecoveryCodes voids a user's recovery codes and stores new hashes.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, now time.Time) error {
	err := db.with(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("user_id = ?", userID).Delete(&models.RecoveryCode{}).Error; err != nil {
			return err
		}
		for _, h := range hashes {
			if err := tx.Create(&models.RecoveryCode{ID: newID(), UserID: userID, CodeHash: h, CreatedAt: now}).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return translate(err, "could not store recovery codes")
}

// RecoveryCodes returns a user's unused recovery codes.
func (db *DB) RecoveryCodes(ctx context.Context, userID string) ([]models.RecoveryCode, error) {
	var cs []models.RecoveryCode
	err := db.with(ctx).Where("user_id = ? AND used_at IS NULL", userID).Order("id").Find(&cs).Error
	return cs, translate(err, "could not read recovery codes")
}

// Spend uses up a proof outside a second step (reauthentication): a TOTP
// step later than the factor's last, or an unused recovery code. It reports
// false when it was used already.
func (db *DB) Spend(ctx context.Context, sp models.Spend, now time.Time) (bool, error) {
	n, err := spend(db.with(ctx), sp, now)
	return n == 1, translate(err, "could not use the code")
}

func spend(tx *gorm.DB, sp models.Spend, now time.Time) (int64, error) {
	var res *gorm.DB
	if sp.RecoveryCodeID != "" {
		res = tx.Model(&models.RecoveryCode{}).Where("id = ? AND used_at IS NULL", sp.RecoveryCodeID).Update("used_at", now)
	} else {
		res = tx.Model(&models.Factor{}).Where("id = ? AND status = ? AND last_step < ?", sp.FactorID, models.FactorActive, sp.Step).
			Updates(map[string]any{"last_step": sp.Step, "last_used_at": now})
	}
	return res.RowsAffected, res.Error
}

// CompleteChallenge consumes a second step and spends its proof in one
// transaction: of parallel requests through one mfaToken only the one that
// consumes the challenge spends its code. It returns
// models.ErrChallengeConsumed when another request consumed it first and
// models.ErrProofSpent when the code was used meanwhile; then nothing
// changes. (On PostgreSQL the challenge's row lock orders the competitors:
// each re-reads consumed_at once the winner commits.)
func (db *DB) CompleteChallenge(ctx context.Context, id string, sp models.Spend, now time.Time) error {
	err := db.with(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&models.MFAChallenge{}).Where("id = ? AND consumed_at IS NULL", id).Update("consumed_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return models.ErrChallengeConsumed
		}
		n, err := spend(tx, sp, now)
		if err != nil {
			return err
		}
		if n != 1 {
			return models.ErrProofSpent
		}
		return nil
	})
	if errors.Is(err, models.ErrChallengeConsumed) || errors.Is(err, models.ErrProofSpent) {
		return err
	}
	return translate(err, "could not complete the second step")
}

// RecoveryCodesLeft counts a user's unused recovery codes.
func (db *DB) RecoveryCodesLeft(ctx context.Context, userID string) (int64, error) {
	var n int64
	err := db.with(ctx).Model(&models.RecoveryCode{}).Where("user_id = ? AND used_at IS NULL", userID).Count(&n).Error
	return n, translate(err, "could not count recovery codes")
}

// DeleteRecoveryCodes removes a user's recovery codes.
func (db *DB) DeleteRecoveryCodes(ctx context.Context, userID string) error {
	return translate(db.with(ctx).Where("user_id = ?", userID).Delete(&models.RecoveryCode{}).Error, "could not remove recovery codes")
}

// DeleteMFA removes every factor, passkey and recovery code of a user.
func (db *DB) DeleteMFA(ctx context.Context, userID string) error {
	err := db.with(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("user_id = ?", userID).Delete(&models.Factor{}).Error; err != nil {
			return err
		}
		if err := tx.Where("user_id = ?", userID).Delete(&models.Passkey{}).Error; err != nil {
			return err
		}
		return tx.Where("user_id = ?", userID).Delete(&models.RecoveryCode{}).Error
	})
	return translate(err, "could not remove the factors")
}

// CreateChallenge stores the second step of a sign-in.
func (db *DB) CreateChallenge(ctx context.Context, c *models.MFAChallenge) error {
	if c.ID == "" {
		c.ID = newID()
	}
	return translate(db.with(ctx).Create(c).Error, "could not store the challenge")
}

// LiveChallenge returns an unspent, unexpired challenge.
func (db *DB) LiveChallenge(ctx context.Context, id string, now time.Time) (models.MFAChallenge, error) {
	var c models.MFAChallenge
	err := db.with(ctx).Where("id = ? AND consumed_at IS NULL AND expires_at > ?", id, now).Take(&c).Error
	return c, translate(err, "could not read the challenge")
}

// ClaimAttempt counts an attempt at a live challenge before its code is
// checked, and reports false once maxAttempts have been counted: parallel
// guesses through one mfaToken get no more checks than serial ones.
func (db *DB) ClaimAttempt(ctx context.Context, id string, maxAttempts int, now time.Time) (bool, error) {
	res := db.with(ctx).Exec(`UPDATE mfa_challenges SET attempts = attempts + 1
WHERE id = ? AND consumed_at IS NULL AND attempts < ? AND expires_at > ?`, id, maxAttempts, now)
	return res.RowsAffected == 1, translate(res.Error, "could not update the challenge")
}

// UpgradeSession records a new proof in a session: its assurance level,
// methods and authentication time.
func (db *DB) UpgradeSession(ctx context.Context, id string, aal int, amr string, authTime time.Time) error {
	err := db.with(ctx).Model(&models.Session{}).Where("id = ?", id).
		Updates(map[string]any{"aal": aal, "amr": amr, "auth_time": authTime}).Error
	return translate(err, "could not update the session")
}

// BumpCredentialVersion moves a user's credential version on: checks made
// before (a pending second step, a login in flight) can no longer start a
// session.
func (db *DB) BumpCredentialVersion(ctx context.Context, userID string) error {
	err := db.with(ctx).Model(&models.User{}).Where("id = ?", userID).
		Update("credential_version", gorm.Expr("credential_version + 1")).Error
	return translate(err, "could not update the user")
}
