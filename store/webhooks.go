package store

import (
	"context"
	"time"

	"github.com/portcullis-auth/portcullis/models"
)

// ClaimWebhooks leases up to limit due deliveries until leaseUntil, oldest
// first, each only when no earlier delivery of the same user to the same URL
// is still pending: a user's events reach a URL in order, and a delivery
// that failed for good releases the ones behind it. On PostgreSQL claimed
// rows are skipped by other workers (FOR UPDATE SKIP LOCKED).
func (db *DB) ClaimWebhooks(ctx context.Context, now, leaseUntil time.Time, limit int) ([]models.WebhookDelivery, error) {
	skip := ""
	if db.dialect == "postgres" {
		skip = " FOR UPDATE SKIP LOCKED"
	}
	var rows []models.WebhookDelivery
	err := db.with(ctx).Raw(`UPDATE webhook_deliveries SET lease_until = ? WHERE id IN (
  SELECT d.id FROM webhook_deliveries d WHERE d.state = 'pending' AND d.next_attempt_at <= ?
    AND (d.lease_until IS NULL OR d.lease_until < ?)
    AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.user_id = d.user_id AND e.url = d.url AND e.id < d.id AND e.state = 'pending')
  ORDER BY d.id LIMIT ?`+skip+`)
RETURNING *`, leaseUntil, now, now, limit).Scan(&rows).Error
	return rows, translate(err, "could not claim webhook deliveries")
}

// FinishWebhook records a delivery's last attempt: state is delivered or
// failed (for good).
func (db *DB) FinishWebhook(ctx context.Context, id int64, state string, attempts, status int, errText string, now time.Time) error {
	err := db.with(ctx).Model(&models.WebhookDelivery{}).Where("id = ?", id).Updates(map[string]any{
		"state": state, "attempts": attempts, "last_status": status, "last_error": errText, "finished_at": now, "lease_until": nil,
	}).Error
	return translate(err, "could not finish the webhook delivery")
}

// RetryWebhookLater records a failed attempt and when to try again.
func (db *DB) RetryWebhookLater(ctx context.Context, id int64, attempts, status int, errText string, next time.Time) error {
	err := db.with(ctx).Model(&models.WebhookDelivery{}).Where("id = ?", id).Updates(map[string]any{
		"attempts": attempts, "last_status": status, "last_error": errText, "next_attempt_at": next, "lease_until": nil,
	}).Error
	return translate(err, "could not reschedule the webhook delivery")
}

// WebhookDeliveries lists deliveries, newest first: those whose last
// attempt failed (failed true: failed for good, or pending after a failed
// attempt), or all; and how many match.
func (db *DB) WebhookDeliveries(ctx context.Context, failed bool, offset, limit int) ([]models.WebhookDelivery, int64, error) {
	q := db.with(ctx).Model(&models.WebhookDelivery{})
	if failed {
		q = q.Where("state = 'failed' OR (state = 'pending' AND attempts > 0)")
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, translate(err, "could not count webhook deliveries")
	}
	var out []models.WebhookDelivery
	err := q.Order("id DESC").Offset(offset).Limit(limit).Find(&out).Error
	return out, total, translate(err, "could not list webhook deliveries")
}

// RetryWebhook makes a delivery that failed for good pending again, due
// now, with a new 24 hours of retries; false when there is none such.
func (db *DB) RetryWebhook(ctx context.Context, id int64, now time.Time) (bool, error) {
	res := db.with(ctx).Model(&models.WebhookDelivery{}).Where("id = ? AND state = 'failed'", id).Updates(map[string]any{
		"state": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now, "finished_at": nil, "lease_until": nil,
	})
	return res.RowsAffected == 1, translate(res.Error, "could not retry the webhook delivery")
}
