package store

import (
	"context"

	"github.com/portcullis-auth/portcullis/models"
)

// RecordEvent appends an audit event, assigning an id when it has none.
func (db *DB) RecordEvent(ctx context.Context, e *models.AuditEvent) error {
	if e.ID == "" {
		e.ID = newID()
	}
	return translate(db.with(ctx).Create(e).Error, "could not record the event")
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
