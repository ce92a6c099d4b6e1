package store

import (
	"context"

	"gorm.io/gorm"

	"github.com/portcullis-auth/portcullis/models"
)

// DeleteUser removes the user with id and every row that names them: their
// pending mail (first), ceremonies and tokens, then the user, whose
// sessions, factors, recovery codes, challenges, passkeys and identities go
// with it (ON DELETE CASCADE). Audit events are kept, with the email
// replaced by d.EmailMAC. Before any write it calls check with the user as
// stored and the number of other active administrators, read under locks
// (as UpdateUser); an error from check aborts and is returned as is.
func (db *DB) DeleteUser(ctx context.Context, id string, d models.Deletion, check func(before models.User, otherAdmins int) error) (models.User, error) {
	var u models.User
	err := db.with(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if u, err = lockedForAdminCheck(tx, db.dialect, id, check); err != nil {
			return err
		}
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{"DELETE FROM email_outbox WHERE user_id = ? OR recipient = ?", []any{id, u.Email}},
			{"DELETE FROM webauthn_challenges WHERE user_id = ? OR session_id IN (SELECT id FROM sessions WHERE user_id = ?)", []any{id, id}},
			{"DELETE FROM one_time_tokens WHERE user_id = ? OR email = ?", []any{id, u.Email}},
		} {
			if err := tx.Exec(q.sql, q.args...).Error; err != nil {
				return err
			}
		}
		if err := tx.Exec("UPDATE audit_events SET email = ? WHERE user_id = ? OR email = ?", d.EmailMAC, id, u.Email).Error; err != nil {
			return err
		}
		// A detail may name an address too ("from old@…" of an email
		// change): none survives the account.
		if err := tx.Exec("UPDATE audit_events SET detail = '' WHERE user_id = ? AND detail LIKE ?", id, "%@%").Error; err != nil {
			return err
		}
		if err := tx.Exec("DELETE FROM webhook_deliveries WHERE user_id = ?", id).Error; err != nil {
			return err
		}
		if err := tx.Exec("DELETE FROM users WHERE id = ?", id).Error; err != nil {
			return err
		}
		if d.Notice.Kind != "" {
			r := d.Notice
			row := outboxRow{Kind: r.Kind, Recipient: r.Recipient, State: "pending", NextAttemptAt: r.CreatedAt, CreatedAt: r.CreatedAt}
			if err := tx.Omit("id").Create(&row).Error; err != nil {
				return err
			}
		}
		if d.Event != nil {
			if err := recordEvent(tx, d.Event); err != nil {
				return err
			}
		}
		return nil
	})
	return u, translate(err, "could not delete the user")
}

// ExportUser reads what GET /auth/me/export returns.
func (db *DB) ExportUser(ctx context.Context, id string) (models.Export, error) {
	var x models.Export
	c := db.with(ctx)
	if err := c.Where("id = ?", id).Take(&x.User).Error; err != nil {
		return x, translate(err, "could not export the user")
	}
	for _, q := range []struct {
		dst   any
		order string
	}{{&x.Sessions, "created_at"}, {&x.Identities, "created_at"}, {&x.Factors, "created_at"}, {&x.Passkeys, "created_at"}, {&x.Events, "created_at"}} {
		if err := c.Where("user_id = ?", id).Order(q.order).Find(q.dst).Error; err != nil {
			return x, translate(err, "could not export the user")
		}
	}
	return x, nil
}
