package store

import (
	"context"
	"gorm.io/gorm"

	"github.com/portcullis-auth/portcullis/models"
)

// RecordEvent appends an audit event, assigning an id when it has none.
func (db *DB) RecordEvent(ctx context.Context, e *models.AuditEvent) error {
	if e.ID == "" {
		e.ID = newID()
	}
	if len(e.Webhooks) == 0 {
		return translate(db.with(ctx).Create(e).Error, "could not record the event")
	}
	return translate(db.with(ctx).Transaction(func(tx *gorm.DB) error { return recordEvent(tx, e) }), "could not record the event")
}

// Events lists audit events matching f, newest first. Limit is capped at 1000.
func (db *DB) Events(ctx context.Context, f models.EventFilter) ([]models.AuditEvent, error) {
	q := db.with(ctx).Order("created_at DESC").Order("id DESC")
	if f.UserID != "" {
		q = q.Where("user_id = ?", f.UserID)
	}
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	var evs []models.AuditEvent
	err := q.Limit(limit).Find(&evs).Error
	return evs, translate(err, "could not list events")
}

// recordEvent inserts e and its webhook deliveries in tx.
func recordEvent(tx *gorm.DB, e *models.AuditEvent) error {
	if e.ID == "" {
		e.ID = newID()
	}
	if err := tx.Create(e).Error; err != nil {
		return err
	}
	for i := range e.Webhooks {
		w := &e.Webhooks[i]
		if w.EventID == "" {
			w.EventID = e.ID
		}
		w.State = "pending"
		if err := tx.Omit("id").Create(w).Error; err != nil {
			return err
		}
	}
	return nil
}
