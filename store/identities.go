package store

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/portcullis-auth/portcullis/models"
)

// CreateUserWithIdentity creates a user and its first identity together. A
// taken email or identity is Conflict and creates neither.
func (db *DB) CreateUserWithIdentity(ctx context.Context, u *models.User, id *models.Identity) error {
	if u.ID == "" {
		u.ID = newID()
	}
	if id.ID == "" {
		id.ID = newID()
	}
	u.Email = models.NormalizeEmail(u.Email)
	emptyMetadata(u)
	id.UserID = u.ID
	err := db.with(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(u).Error; err != nil {
			return err
		}
		return tx.Create(id).Error
	})
	return translate(err, "could not create the user")
}

// IdentityBySubject finds the identity an issuer knows as subject.
func (db *DB) IdentityBySubject(ctx context.Context, issuer, subject string) (models.Identity, error) {
	var id models.Identity
	err := db.with(ctx).Where("issuer = ? AND subject = ?", issuer, subject).Take(&id).Error
	return id, translate(err, "could not load the identity")
}

// Identities lists a user's identities, oldest first.
func (db *DB) Identities(ctx context.Context, userID string) ([]models.Identity, error) {
	var ids []models.Identity
	err := db.with(ctx).Where("user_id = ?", userID).Order("created_at").Order("id").Find(&ids).Error
	return ids, translate(err, "could not list identities")
}

// LinkIdentity adds an identity to its user and moves the user's credential
// version on, in one transaction. An identity already held (by anyone) is
// Conflict; a user gone is NotFound.
func (db *DB) LinkIdentity(ctx context.Context, id *models.Identity) error {
	if id.ID == "" {
		id.ID = newID()
	}
	err := db.with(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&models.User{}).Where("id = ?", id.UserID).Update("credential_version", gorm.Expr("credential_version + 1"))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return tx.Create(id).Error
	})
	return translate(err, "could not link the identity")
}

// TouchIdentity records a sign-in through an identity and what the provider
// said of its email this time.
func (db *DB) TouchIdentity(ctx context.Context, id, email string, verified bool, now time.Time) error {
	err := db.with(ctx).Model(&models.Identity{}).Where("id = ?", id).
		Updates(map[string]any{"email": email, "email_verified": verified, "last_used_at": now}).Error
	return translate(err, "could not update the identity")
}

// UnlinkIdentity removes one of a user's identities and moves the user's
// credential version on, in one transaction. Before deleting it calls check
// with the user and the number of the user's other identities, read with
// the user locked, so two parallel unlinks see each other; an error from
// check aborts and is returned as is. found is false when the user holds no
// such identity.
func (db *DB) UnlinkIdentity(ctx context.Context, userID, id string, check func(left models.LoginMethods) error) (found bool, err error) {
	err = db.with(ctx).Transaction(func(tx *gorm.DB) error {
		left, err := loginMethodsLocked(tx, db.dialect, userID)
		if err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&models.Identity{}).Where("id = ? AND user_id = ?", id, userID).Count(&n).Error; err != nil || n == 0 {
			return err
		}
		found = true
		left.Identities--
		if err := check(left); err != nil {
			return err
		}
		if err := tx.Where("id = ? AND user_id = ?", id, userID).Delete(&models.Identity{}).Error; err != nil {
			return err
		}
		return tx.Model(&models.User{}).Where("id = ?", userID).Update("credential_version", gorm.Expr("credential_version + 1")).Error
	})
	return found, translate(err, "could not unlink the identity")
}

// loginMethodsLocked locks a user's row (PostgreSQL; SQLite transactions
// are serial) and counts the ways into the account, so that of two
// removals racing, the second sees what the first left.
func loginMethodsLocked(tx *gorm.DB, dialect, userID string) (models.LoginMethods, error) {
	q := tx.Where("id = ?", userID)
	if dialect == "postgres" {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var u models.User
	if err := q.Take(&u).Error; err != nil {
		return models.LoginMethods{}, err
	}
	var pks, ids int64
	if err := tx.Model(&models.Passkey{}).Where("user_id = ?", userID).Count(&pks).Error; err != nil {
		return models.LoginMethods{}, err
	}
	if err := tx.Model(&models.Identity{}).Where("user_id = ?", userID).Count(&ids).Error; err != nil {
		return models.LoginMethods{}, err
	}
	return models.LoginMethods{Password: u.PasswordHash != "", Passkeys: int(pks), Identities: int(ids)}, nil
}

// SpendOIDCState records a finished callback's state and reports whether
// this call was the first to finish it.
func (db *DB) SpendOIDCState(ctx context.Context, hash string, expiresAt time.Time) (bool, error) {
	res := db.with(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&models.OIDCState{ID: hash, ExpiresAt: expiresAt})
	return res.RowsAffected == 1, translate(res.Error, "could not record the sign-in")
}

// DropUnprovenIdentities unlinks every identity of a user that did not
// itself prove email (a provider that did not verify it, or verified
// another address), and says how many it removed.
func (db *DB) DropUnprovenIdentities(ctx context.Context, userID, email string) (int64, error) {
	res := db.with(ctx).Where("user_id = ? AND NOT (email_verified = ? AND email = ?)", userID, true, email).Delete(&models.Identity{})
	return res.RowsAffected, translate(res.Error, "could not unlink identities")
}
