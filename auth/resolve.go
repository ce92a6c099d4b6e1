package auth

import (
	"context"
	"time"

	"github.com/portcullis-auth/portcullis/mail"
	"github.com/portcullis-auth/portcullis/models"
)

// ResolveMail decides what a queued mail request becomes, for the outbox
// worker: whether it is sent at all (an account that does not exist or
// cannot use it, a sending limit reached), the token it carries, and the
// rendered message. This is where the requests that answered 202 find out
// whether the address has an account.
func (s *Service) ResolveMail(ctx context.Context, q models.QueuedMail) (mail.Message, *time.Time, bool, error) {
	if s.emailHooks != nil && s.emailHooks.BeforeResolve != nil {
		s.emailHooks.BeforeResolve(q.Kind)
	}
	now := s.now()
	n, last, err := s.store.RecentMail(ctx, q.Kind, q.Recipient, now.Add(-time.Hour))
	if err != nil {
		return mail.Message{}, nil, false, err
	}
	if n >= mailPerHour || (!last.IsZero() && now.Sub(last) < mailSpacing) {
		// Dropped, and logged without the address, so whoever waits for it
		// can learn why it never came.
		s.logger.Info("mail not sent: the sending limit for this address is reached (one a minute, five an hour per kind)", "kind", q.Kind, "outboxId", q.ID)
		return mail.Message{}, nil, false, nil
	}
	if q.Kind == models.MailAccountDeleted {
		// The account is gone: nothing to look up.
		m, err := s.email.Templates.Render(string(q.Kind), mail.Data{Email: q.Recipient, AppURL: s.email.AppURL})
		return m, nil, err == nil, err
	}
	var u models.User
	if q.UserID != "" {
		u, err = s.store.UserByID(ctx, q.UserID)
	} else {
		u, err = s.store.UserByEmail(ctx, q.Recipient)
	}
	switch {
	case models.IsKind(err, models.NotFound):
		return mail.Message{}, nil, false, nil
	case err != nil:
		return mail.Message{}, nil, false, err
	}
	if q.CredentialVersion != nil && *q.CredentialVersion != u.CredentialVersion {
		return mail.Message{}, nil, false, nil // asked for under credentials that have changed since
	}
	d := mail.Data{Email: q.Recipient, NewEmail: q.NewEmail, AppURL: s.email.AppURL}
	var purpose models.TokenPurpose
	switch q.Kind {
	case models.MailVerifyEmail:
		// Registration queues none under "off"; a resend still mails one
		// (TOTP enrolment asks for a verified address).
		if u.Disabled() || u.EmailVerified {
			return mail.Message{}, nil, false, nil
		}
		purpose = models.PurposeVerifyEmail
	case models.MailResetPassword:
		if u.Disabled() {
			return mail.Message{}, nil, false, nil
		}
		purpose = models.PurposeResetPassword
	case models.MailInvite:
		if u.Disabled() {
			return mail.Message{}, nil, false, nil
		}
		purpose = models.PurposeInvite
	case models.MailSignInCode:
		if u.Disabled() {
			return mail.Message{}, nil, false, nil
		}
		purpose = models.PurposeSignIn
	case models.MailChangeEmail:
		// Nothing goes to an address that has an account.
		if _, err := s.store.UserByEmail(ctx, q.Recipient); !models.IsKind(err, models.NotFound) {
			return mail.Message{}, nil, false, err
		}
		if u.Disabled() {
			return mail.Message{}, nil, false, nil
		}
		purpose = models.PurposeChangeEmail
	case models.MailAccountExists, models.MailPasswordChanged, models.MailEmailChanged,
		models.MailMFAEnrolled, models.MailMFARemoved, models.MailMFAFailed, models.MailPasswordRemoved, models.MailPasswordBreached:
	default:
		return mail.Message{}, nil, false, nil
	}
	// A token goes only to the address the account has now: a request
	// queued before an email change must not mail the old address a link
	// to the account (the change email goes to the new one by design).
	if purpose != "" && purpose != models.PurposeChangeEmail && u.Email != q.Recipient {
		return mail.Message{}, nil, false, nil
	}
	var expires *time.Time
	if purpose != "" {
		raw, err := newToken()
		if err != nil {
			return mail.Message{}, nil, false, err
		}
		ttl := defaultTTL[purpose]
		if over, ok := s.email.TTL[purpose]; ok && over > 0 {
			ttl = over
		}
		t := &models.OneTimeToken{Purpose: purpose, UserID: u.ID, Email: q.Recipient, TokenHash: s.storedHash(raw),
			CredentialVersion: u.CredentialVersion, CreatedAt: now, ExpiresAt: now.Add(ttl)}
		if purpose == models.PurposeSignIn {
			if d.Code, err = newCode(); err != nil {
				return mail.Message{}, nil, false, err
			}
			t.CodeHash = s.storedHash(codeInput(q.Recipient, d.Code))
		}
		if err := s.store.IssueToken(ctx, t); err != nil {
			return mail.Message{}, nil, false, err
		}
		d.Link, d.ExpiresIn, expires = s.link(purpose, raw), words(ttl), &t.ExpiresAt
	}
	m, err := s.email.Templates.Render(string(q.Kind), d)
	return m, expires, err == nil, err
}
