package auth

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-auth/portcullis/models"
)

// WebhookStore lists and retries webhook deliveries.
type WebhookStore interface {
	WebhookDeliveries(ctx context.Context, failed bool, offset, limit int) ([]models.WebhookDelivery, int64, error)
	RetryWebhook(ctx context.Context, id int64, now time.Time) (bool, error)
}

// Webhooks are where account events are delivered (AUTH_WEBHOOK_URLS); no
// URL, no events.
type Webhooks struct {
	URLs []string
	// Kick wakes the delivery worker.
	Kick func()
}

// Webhook event types (lifecycle.md, "Webhooks").
const (
	HookUserCreated       = "user.created"
	HookUserUpdated       = "user.updated"
	HookUserDeleted       = "user.deleted"
	HookUserEmailVerified = "user.email_verified"
	HookSessionCreated    = "session.created"
	HookSessionRevoked    = "session.revoked"
	HookPasswordChanged   = "password.changed"
	HookMFAEnrolled       = "mfa.enrolled"
	HookMFARemoved        = "mfa.removed"
	HookLoginLocked       = "login.locked"
)

// hookTypes are the webhook events an audit event becomes.
var hookTypes = map[models.EventType][]string{
	models.EventRegister:         {HookUserCreated, HookSessionCreated},
	models.EventUserCreated:      {HookUserCreated},
	models.EventUserUpdated:      {HookUserUpdated},
	models.EventEmailChanged:     {HookUserUpdated},
	models.EventAccountDeleted:   {HookUserDeleted},
	models.EventEmailVerified:    {HookUserEmailVerified},
	models.EventLoginSucceeded:   {HookSessionCreated},
	models.EventLogout:           {HookSessionRevoked},
	models.EventSessionRevoked:   {HookSessionRevoked},
	models.EventPasswordChanged:  {HookPasswordChanged},
	models.EventPasswordReset:    {HookPasswordChanged},
	models.EventMFAEnrolled:      {HookMFAEnrolled},
	models.EventMFARemoved:       {HookMFARemoved},
	models.EventMFAReset:         {HookMFARemoved},
	models.EventLockout:          {HookLoginLocked},
	models.EventPasswordVoided:   {HookPasswordChanged},
	models.EventIdentityLinked:   {HookUserUpdated},
	models.EventIdentityUnlinked: {HookUserUpdated},
}

// HookPayload is a webhook's body: ids and non-secret fields only.
type HookPayload struct {
	Type      string   `json:"type"`
	Timestamp string   `json:"timestamp"`
	Data      HookData `json:"data"`
}

// HookData names what the event is about.
type HookData struct {
	UserID    string `json:"userId"`
	SessionID string `json:"sessionId,omitempty"`
	Email     string `json:"email,omitempty"`
}

// attachWebhooks adds to e the deliveries it makes (one per type and URL),
// written in e's transaction. login.locked goes out for existing accounts
// only (an unknown email must not reach anyone), user.deleted without the
// address.
func (s *Service) attachWebhooks(e *models.AuditEvent) {
	if len(s.webhooks.URLs) == 0 || e.UserID == nil {
		return
	}
	for i, typ := range hookTypes[e.Type] {
		// The webhook id is the audit event's id (filled in when it is
		// written); a second event of the same audit event gets its own.
		eventID := ""
		if i > 0 {
			eventID = uuid.NewString()
		}
		d := HookData{UserID: *e.UserID, Email: e.Email}
		if e.SessionID != nil {
			d.SessionID = *e.SessionID
		}
		if typ == HookUserDeleted {
			d.Email = ""
		}
		body, err := json.Marshal(HookPayload{Type: typ, Timestamp: e.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Data: d})
		if err != nil {
			continue
		}
		for _, u := range s.webhooks.URLs {
			e.Webhooks = append(e.Webhooks, models.WebhookDelivery{EventID: eventID, EventType: typ, UserID: *e.UserID, URL: u, Payload: string(body),
				NextAttemptAt: e.CreatedAt, CreatedAt: e.CreatedAt})
		}
	}
}

// WebhookDeliveries lists deliveries, newest first (failed: those whose
// last attempt failed).
func (s *Service) WebhookDeliveries(ctx context.Context, failed bool, offset, limit int) ([]models.WebhookDelivery, int64, error) {
	return s.store.WebhookDeliveries(ctx, failed, offset, limit)
}

// RetryWebhook sends a delivery that failed for good again.
func (s *Service) RetryWebhook(ctx context.Context, id int64) error {
	ok, err := s.store.RetryWebhook(ctx, id, s.now())
	if err == nil && !ok {
		return models.Errorf(models.NotFound, "no failed delivery has this id")
	}
	if err == nil && s.webhooks.Kick != nil {
		s.webhooks.Kick()
	}
	return err
}
