package auth

import (
	"context"
	"time"

	"github.com/portcullis-auth/portcullis/models"
)

// event is an audit event before the client and time are added.
type event struct {
	typ       models.EventType
	userID    string // "" when no account is known
	sessionID string
	email     string
	detail    string
}

// record writes an audit event. A failure is logged and never fails the
// caller: the audit trail must not take sign-in down with it.
func (s *Service) record(ctx context.Context, cl Client, ev event) {
	e := &models.AuditEvent{
		Type: ev.typ, UserID: optional(ev.userID), SessionID: optional(ev.sessionID), Email: ev.email, Detail: ev.detail,
		IP: cl.IP, UserAgent: models.Sanitize(cl.UserAgent, 512), CreatedAt: s.now(),
	}
	s.attachWebhooks(e)
	// The event is recorded even if the client has gone away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.store.RecordEvent(ctx, e); err != nil {
		s.log(cl).Warn("audit event not recorded", "type", string(ev.typ), "error", err.Error())
	} else if len(e.Webhooks) > 0 && s.webhooks.Kick != nil {
		s.webhooks.Kick()
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Events lists audit events matching f, newest first.
func (s *Service) Events(ctx context.Context, f models.EventFilter) ([]models.AuditEvent, error) {
	return s.store.Events(ctx, f)
}
