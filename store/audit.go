package store

import (
	"context"

	"portcullis/models"
)

// RecordEvent appends an audit event, assigning an id when it has none.
func (db *DB) RecordEvent(ctx context.Context, e *models.AuditEvent) error {
	if e.ID == "" {
		e.ID = newID()
	}
	return translate(db.with(ctx).Create(e).Error, "could not record the event")
}
