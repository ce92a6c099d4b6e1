package store

import (
	"context"
	"crypto/subtle"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/portcullis-auth/portcullis/models"
)

// IssueToken stores t, consuming the user's outstanding tokens of the same
// purpose in the same transaction (under a lock on the user, on
// PostgreSQL): only the newest one works.
func (db *DB) IssueToken(ctx context.Context, t *models.OneTimeToken) error {
	if t.ID == "" {
		t.ID = newID()
	}
	err := db.with(ctx).Transaction(func(tx *gorm.DB) error {
		if db.dialect == "postgres" {
			// Two instances issuing for one user at once queue here, so the
			// second consumes the first's token (SQLite writers are serial).
			var id string
			if err := tx.Raw("SELECT id FROM users WHERE id = ? FOR UPDATE", t.UserID).Scan(&id).Error; err != nil {
				return err
			}
		}
		if err := tx.Model(&models.OneTimeToken{}).Where("user_id = ? AND purpose = ? AND consumed_at IS NULL", t.UserID, t.Purpose).
			Update("consumed_at", t.CreatedAt).Error; err != nil {
			return err
		}
		return tx.Create(t).Error
	})
	return translate(err, "could not issue the token")
}

// TokenByHash returns the live token of a purpose stored under any of
// hashes (the token's hash under each key that may have stored it), without
// consuming it.
func (db *DB) TokenByHash(ctx context.Context, purpose models.TokenPurpose, hashes []string, now time.Time) (models.OneTimeToken, error) {
	var t models.OneTimeToken
	err := db.with(ctx).Where("token_hash IN ? AND purpose = ? AND consumed_at IS NULL AND expires_at > ?", hashes, purpose, now).Take(&t).Error
	return t, translate(err, "could not read the token")
}

// ConsumeToken uses the live token of a purpose stored under any of hashes,
// in one conditional UPDATE, so of several requests racing for it exactly
// one succeeds; the others, like unknown or expired tokens, get NotFound.
func (db *DB) ConsumeToken(ctx context.Context, purpose models.TokenPurpose, hashes []string, now time.Time) (models.OneTimeToken, error) {
	if len(hashes) == 0 {
		return models.OneTimeToken{}, models.Errorf(models.NotFound, "no such token")
	}
	var ts []models.OneTimeToken
	err := db.with(ctx).Raw(`UPDATE one_time_tokens SET consumed_at = ?
WHERE token_hash IN ? AND purpose = ? AND consumed_at IS NULL AND expires_at > ? RETURNING *`, now, hashes, purpose, now).Scan(&ts).Error
	if err != nil {
		return models.OneTimeToken{}, translate(err, "could not consume the token")
	}
	if len(ts) != 1 {
		return models.OneTimeToken{}, models.Errorf(models.NotFound, "no such token")
	}
	return ts[0], nil
}

// ConsumeCode checks a code against the newest live token of a purpose sent
// to email, under a row lock: the code matches when the stored hash is any
// of codeHashes (one per key that may have stored it). A match consumes the
// token; a miss counts an attempt, and the maxAttempts-th miss consumes it
// too. ok reports a match; NotFound means there is no live token.
func (db *DB) ConsumeCode(ctx context.Context, purpose models.TokenPurpose, email string, codeHashes []string, maxAttempts int, now time.Time) (tok models.OneTimeToken, ok bool, err error) {
	err = db.with(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Where("email = ? AND purpose = ? AND consumed_at IS NULL AND expires_at > ? AND code_hash <> ''", email, purpose, now).
			Order("created_at DESC")
		if db.dialect == "postgres" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		if err := q.Take(&tok).Error; err != nil {
			return err
		}
		for _, h := range codeHashes {
			if subtle.ConstantTimeCompare([]byte(tok.CodeHash), []byte(h)) == 1 {
				ok = true
			}
		}
		updates := map[string]any{}
		if ok || tok.Attempts+1 >= maxAttempts {
			updates["consumed_at"] = now
		}
		if !ok {
			updates["attempts"] = tok.Attempts + 1
		}
		return tx.Model(&models.OneTimeToken{}).Where("id = ?", tok.ID).Updates(updates).Error
	})
	return tok, ok, translate(err, "could not check the code")
}

// ConsumeUserTokens consumes a user's outstanding tokens: of one purpose, or
// of every purpose when purpose is "".
func (db *DB) ConsumeUserTokens(ctx context.Context, userID string, purpose models.TokenPurpose, now time.Time) error {
	q := db.with(ctx).Model(&models.OneTimeToken{}).Where("user_id = ? AND consumed_at IS NULL", userID)
	if purpose != "" {
		q = q.Where("purpose = ?", purpose)
	}
	return translate(q.Update("consumed_at", now).Error, "could not consume tokens")
}

// MarkEmailVerified records that the user proved email, if it is still the
// user's address.
func (db *DB) MarkEmailVerified(ctx context.Context, userID, email string) error {
	err := db.with(ctx).Model(&models.User{}).Where("id = ? AND email = ?", userID, email).Update("email_verified", true).Error
	return translate(err, "could not update the user")
}

// ChangeEmail replaces the user's address with a verified one and moves
// the credential version on, provided the user is enabled and still at
// version (the version the change token was issued under); it returns the
// user before and after. A taken address is a Conflict; a user who changed
// meanwhile is NotFound.
func (db *DB) ChangeEmail(ctx context.Context, userID, to string, version int64, now time.Time) (before, after models.User, err error) {
	err = db.with(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("id = ? AND credential_version = ? AND disabled_at IS NULL", userID, version).Take(&before).Error; err != nil {
			return err
		}
		res := tx.Model(&models.User{}).Where("id = ? AND credential_version = ? AND disabled_at IS NULL", userID, version).Updates(map[string]any{
			"email": to, "email_verified": true, "updated_at": now, "credential_version": gorm.Expr("credential_version + 1"),
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return tx.Where("id = ?", userID).Take(&after).Error
	})
	return before, after, translate(err, "could not change the email")
}

// ResetPassword sets a new password hash with a reset token issued under
// version: the address counts as verified and the credential version moves
// on. A user who is disabled or whose version moved on since is NotFound.
func (db *DB) ResetPassword(ctx context.Context, userID, hash string, version int64, now time.Time) error {
	res := db.with(ctx).Model(&models.User{}).Where("id = ? AND credential_version = ? AND disabled_at IS NULL", userID, version).Updates(map[string]any{
		"password_hash": hash, "email_verified": true, "updated_at": now, "credential_version": gorm.Expr("credential_version + 1"),
	})
	if res.Error != nil {
		return translate(res.Error, "could not reset the password")
	}
	if res.RowsAffected == 0 {
		return models.Errorf(models.NotFound, "not found")
	}
	return nil
}

// ProveAddress records the first proof of a user's address: it is verified
// and the credential version moves on, and with voidPassword the password is
// removed, provided the address is still email, still unverified, and the
// user enabled and at version. Otherwise it is NotFound.
func (db *DB) ProveAddress(ctx context.Context, userID, email string, version int64, voidPassword bool, now time.Time) (models.User, error) {
	updates := map[string]any{"email_verified": true, "updated_at": now, "credential_version": gorm.Expr("credential_version + 1")}
	if voidPassword {
		updates["password_hash"] = ""
	}
	res := db.with(ctx).Model(&models.User{}).
		Where("id = ? AND email = ? AND credential_version = ? AND disabled_at IS NULL AND email_verified = ?", userID, email, version, false).
		Updates(updates)
	if res.Error != nil {
		return models.User{}, translate(res.Error, "could not update the user")
	}
	if res.RowsAffected == 0 {
		return models.User{}, models.Errorf(models.NotFound, "not found")
	}
	return db.UserByID(ctx, userID)
}

// outboxRow is an email_outbox row.
type outboxRow struct {
	ID             int64
	Kind           models.MailKind
	Recipient      string
	UserID         *string
	NewEmail       string
	Payload        string
	TokenExpiresAt *time.Time
	State          string
	Attempts       int
	NextAttemptAt  time.Time
	LeaseUntil     *time.Time
	CreatedAt      time.Time
	SentAt         *time.Time
	FinishedAt     *time.Time
	// CredentialVersion is the version a user-bound request was made under.
	CredentialVersion *int64
}

func (outboxRow) TableName() string { return "email_outbox" }

// Enqueue records a mail request for the outbox worker.
func (db *DB) Enqueue(ctx context.Context, r models.MailRequest) error {
	row := outboxRow{Kind: r.Kind, Recipient: r.Recipient, NewEmail: r.NewEmail, State: "pending",
		NextAttemptAt: r.CreatedAt, CreatedAt: r.CreatedAt, CredentialVersion: r.CredentialVersion}
	if r.UserID != "" {
		row.UserID = &r.UserID
	}
	return translate(db.with(ctx).Omit("id").Create(&row).Error, "could not queue the mail")
}

// ClaimMail leases up to limit due entries to this worker until leaseUntil,
// skipping those another worker holds (FOR UPDATE SKIP LOCKED on
// PostgreSQL), so each entry is handled by one worker at a time.
func (db *DB) ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]models.QueuedMail, error) {
	skip := ""
	if db.dialect == "postgres" {
		skip = " FOR UPDATE SKIP LOCKED"
	}
	var rows []outboxRow
	err := db.with(ctx).Raw(`UPDATE email_outbox SET lease_until = ? WHERE id IN (
  SELECT id FROM email_outbox WHERE state IN ('pending', 'queued') AND next_attempt_at <= ?
    AND (lease_until IS NULL OR lease_until < ?) ORDER BY id LIMIT ?`+skip+`)
RETURNING *`, leaseUntil, now, now, limit).Scan(&rows).Error
	if err != nil {
		return nil, translate(err, "could not claim mail")
	}
	out := make([]models.QueuedMail, len(rows))
	for i, r := range rows {
		out[i] = models.QueuedMail{ID: r.ID, Kind: r.Kind, Recipient: r.Recipient, NewEmail: r.NewEmail, Payload: r.Payload,
			TokenExpiresAt: r.TokenExpiresAt, Attempts: r.Attempts, CreatedAt: r.CreatedAt, CredentialVersion: r.CredentialVersion}
		if r.UserID != nil {
			out[i].UserID = *r.UserID
		}
	}
	return out, nil
}

// ResolveMail stores the sealed message an entry resolved to.
func (db *DB) ResolveMail(ctx context.Context, id int64, payload string, tokenExpires *time.Time) error {
	err := db.with(ctx).Model(&outboxRow{}).Where("id = ?", id).
		Updates(map[string]any{"payload": payload, "token_expires_at": tokenExpires, "state": "queued"}).Error
	return translate(err, "could not update the outbox")
}

// FinishMail ends an entry at now: sent, failed or dropped. Its payload is
// wiped, and a dropped entry keeps no address either (it may be of someone
// without an account).
func (db *DB) FinishMail(ctx context.Context, id int64, state string, now time.Time) error {
	updates := map[string]any{"state": state, "payload": "", "lease_until": nil, "finished_at": now}
	if state == "sent" {
		updates["sent_at"] = now
	}
	if state == "dropped" {
		updates["recipient"], updates["new_email"] = "", ""
	}
	return translate(db.with(ctx).Model(&outboxRow{}).Where("id = ?", id).Updates(updates).Error, "could not update the outbox")
}

// RetryMail schedules another attempt at next.
func (db *DB) RetryMail(ctx context.Context, id int64, attempts int, next time.Time) error {
	err := db.with(ctx).Model(&outboxRow{}).Where("id = ?", id).
		Updates(map[string]any{"attempts": attempts, "next_attempt_at": next, "lease_until": nil}).Error
	return translate(err, "could not update the outbox")
}

// RecentMail counts the messages of a kind resolved for a recipient since a
// time, and when the latest was created: the sending limits.
func (db *DB) RecentMail(ctx context.Context, kind models.MailKind, recipient string, since time.Time) (int64, time.Time, error) {
	q := db.with(ctx).Model(&outboxRow{}).
		Where("kind = ? AND recipient = ? AND state IN ('queued', 'sent', 'failed') AND created_at >= ?", kind, recipient, since)
	var n int64
	if err := q.Count(&n).Error; err != nil || n == 0 {
		return 0, time.Time{}, translate(err, "could not count mail")
	}
	// The latest is read as a row, so each driver parses its time.
	var latest outboxRow
	err := db.with(ctx).Where("kind = ? AND recipient = ? AND state IN ('queued', 'sent', 'failed')", kind, recipient).
		Order("created_at DESC").Take(&latest).Error
	return n, latest.CreatedAt, translate(err, "could not count mail")
}

// MailDepth counts the entries waiting to be sent.
func (db *DB) MailDepth(ctx context.Context) (int64, error) {
	var n int64
	err := db.with(ctx).Model(&outboxRow{}).Where("state IN ('pending', 'queued')").Count(&n).Error
	return n, translate(err, "could not count mail")
}
