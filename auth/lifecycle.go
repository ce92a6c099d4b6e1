package auth

import (
	"context"

	"github.com/portcullis-auth/portcullis/models"
)

// LifecycleStore deletes and exports accounts.
type LifecycleStore interface {
	// DeleteUser removes the user and every row that names them in one
	// transaction (audit events kept, their email replaced by
	// d.EmailMAC), queueing d.Notice and recording d.Event in it; check
	// runs first as for UpdateUser.
	DeleteUser(ctx context.Context, id string, d models.Deletion, check func(before models.User, otherAdmins int) error) (models.User, error)
	ExportUser(ctx context.Context, id string) (models.Export, error)
}

// ErrLastAdminDelete refuses to delete the last active administrator.
var ErrLastAdminDelete = &models.Error{Kind: models.Conflict, Code: models.CodeLastAdmin, Message: "cannot delete the last active administrator"}

// DeleteMe deletes the caller's own account (DESIGN.md, "Fresh": the
// current password counts as the proof for a user without a factor).
func (s *Service) DeleteMe(ctx context.Context, cl Client, p *Principal, currentPassword string) error {
	if err := s.stepUp(ctx, cl, p, currentPassword, false, ""); err != nil {
		return err
	}
	return s.deleteUser(ctx, cl, p.User.ID, "self")
}

// AdminDeleteUser deletes a user at a signed-in administrator's hand, which
// needs a fresh session.
func (s *Service) AdminDeleteUser(ctx context.Context, cl Client, by *Principal, id string) error {
	if err := s.requireFreshAdmin(ctx, by); err != nil {
		return err
	}
	id, ok := canonicalID(id)
	if !ok {
		return errNoUser
	}
	return noUserAs(s.deleteUser(ctx, cl, id, "by "+by.User.ID))
}

// deleteUser removes the account and everything naming it, queues the
// account_deleted notice and audits account_deleted, in one transaction;
// the audit trail keeps the user's events with the email replaced by a MAC.
// The lockouts of the address are forgotten.
func (s *Service) deleteUser(ctx context.Context, cl Client, id, detail string) error {
	before, err := s.store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	mac := s.emailMAC(before.Email)
	now := s.now()
	d := models.Deletion{
		EmailMAC: mac,
		Event: &models.AuditEvent{Type: models.EventAccountDeleted, UserID: optional(id), Email: mac, Detail: detail,
			IP: cl.IP, UserAgent: models.Sanitize(cl.UserAgent, 512), CreatedAt: now},
	}
	s.attachWebhooks(d.Event)
	if s.email.Templates != nil {
		d.Notice = models.MailRequest{Kind: models.MailAccountDeleted, Recipient: before.Email, CreatedAt: now}
	}
	u, err := s.store.DeleteUser(ctx, id, d, func(u models.User, otherAdmins int) error {
		if u.Role == models.RoleAdmin && !u.Disabled() && otherAdmins == 0 {
			return ErrLastAdminDelete
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.lockout.Clear(ctx, lockPrefix(u.Email)); err != nil {
		s.log(cl).Warn("lockouts of a deleted account not cleared", "error", err.Error())
	}
	if d.Notice.Kind != "" && s.email.Kick != nil {
		s.email.Kick()
	}
	if len(d.Event.Webhooks) > 0 && s.webhooks.Kick != nil {
		s.webhooks.Kick()
	}
	return nil
}

// emailMAC is what the audit trail keeps of a deleted account's email: a
// keyed hash, so events of one address can still be told apart.
func (s *Service) emailMAC(email string) string {
	return "hmac:" + s.storedHash("deleted-email\x00"+models.NormalizeEmail(email))
}

// Export is what GET /auth/me/export returns (fresh session).
func (s *Service) Export(ctx context.Context, p *Principal) (models.Export, error) {
	if err := s.requireFresh(ctx, p); err != nil {
		return models.Export{}, err
	}
	return s.store.ExportUser(ctx, p.User.ID)
}

// AdminCreateUser creates a user at a signed-in administrator's hand:
// with a password the user starts verified; without one an invitation is
// mailed whose link (7 days, once) sets the password like a reset, which
// also proves the address. Creating an administrator needs a fresh session.
func (s *Service) AdminCreateUser(ctx context.Context, cl Client, by *Principal, nu NewUser) (models.User, error) {
	if by == nil {
		return models.User{}, ErrUnauthenticated
	}
	if nu.Role == "" {
		nu.Role = models.RoleUser
	}
	if nu.Role == models.RoleAdmin {
		if err := s.requireFreshAdmin(ctx, by); err != nil {
			return models.User{}, err
		}
	}
	invite := nu.Password == ""
	if invite && s.email.Templates == nil {
		return models.User{}, ErrEmailUnavailable
	}
	nu.NoPassword, nu.Verified = invite, !invite
	u, err := s.CreateUser(ctx, nu)
	if err != nil {
		return models.User{}, err
	}
	detail := "by " + by.User.ID
	if invite {
		detail += " invited"
		if err := s.queue(ctx, models.MailInvite, u.Email, u.ID, ""); err != nil {
			return models.User{}, err
		}
	}
	s.record(ctx, cl, event{typ: models.EventUserCreated, userID: u.ID, email: u.Email, detail: detail})
	return u, nil
}
