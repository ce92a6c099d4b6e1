package auth

import (
	"context"
	"strconv"

	"github.com/google/uuid"

	"github.com/portcullis-auth/portcullis/models"
)

// errNoUser is the NotFound answer for a user id that names nobody.
var errNoUser = models.Errorf(models.NotFound, "no such user")

func noUserAs(err error) error {
	if models.IsKind(err, models.NotFound) {
		return errNoUser
	}
	return err
}

// canonicalID is an id in the one spelling the store keeps (any spelling of
// a UUID names the same record), or false when it is no UUID.
func canonicalID(raw string) (string, bool) {
	id, err := uuid.Parse(raw)
	return id.String(), err == nil
}

// User returns one user; id may be any spelling of a UUID.
func (s *Service) User(ctx context.Context, id string) (models.User, error) {
	id, ok := canonicalID(id)
	if !ok {
		return models.User{}, errNoUser
	}
	u, err := s.store.UserByID(ctx, id)
	return u, noUserAs(err)
}

// Users returns a page of users (those whose email contains emailLike, when
// set) and how many match in all.
func (s *Service) Users(ctx context.Context, emailLike string, offset, limit int) ([]models.User, int64, error) {
	return s.store.ListUsers(ctx, emailLike, offset, limit)
}

// requireFreshAdmin asks a signed-in administrator for a fresh session
// (DESIGN.md, "Fresh") before a change that removes protection or grants
// power: an MFA reset, any role change, re-enabling, a password-reset
// mail, lifting a lockout. A stolen stale admin session can then do none of
// them. The command line needs none: it is the break-glass way in.
func (s *Service) requireFreshAdmin(ctx context.Context, by *Principal) error {
	if by == nil {
		return ErrUnauthenticated
	}
	return s.requireFresh(ctx, by)
}

// AdminUpdateUser applies a signed-in administrator's change to a user
// (UpdateUser): a role change or re-enabling needs a fresh session, a
// disable does not (it takes power away).
func (s *Service) AdminUpdateUser(ctx context.Context, cl Client, by *Principal, id string, ch models.UserChange) (models.User, error) {
	if ch.Role != nil || (ch.Disabled != nil && !*ch.Disabled) {
		if err := s.requireFreshAdmin(ctx, by); err != nil {
			return models.User{}, err
		}
	}
	return s.UpdateUser(ctx, cl, by.User, id, ch)
}

// UpdateUser applies a change to a user, by an administrator (through
// AdminUpdateUser, which asks for a fresh session) or the operator on the
// command line. Nothing may leave the service without an active
// administrator (ErrLastAdmin); disabling ends every session of the user.
func (s *Service) UpdateUser(ctx context.Context, cl Client, by models.User, id string, ch models.UserChange) (models.User, error) {
	id, ok := canonicalID(id)
	if !ok {
		return models.User{}, errNoUser
	}
	fields := models.FieldErrors{}
	if ch.Role != nil && !ch.Role.Valid() {
		fields.Add("role", "must be user or admin")
	}
	var apply func([]byte) ([]byte, error)
	if ch.AppMetadata != nil {
		var prob string
		if apply, prob = patchMetadata("appMetadata", ch.AppMetadata); prob != "" {
			fields.Add("appMetadata", prob)
		}
	}
	if err := fields.Err(); err != nil {
		return models.User{}, err
	}
	var (
		u   models.User
		err error
	)
	if apply != nil && (ch.Role != nil || ch.Disabled != nil) {
		// Check the merged metadata against the limits before the role or
		// status changes, so a 422 changes nothing. (The store checks again
		// under its lock; only a metadata change racing this one could
		// still refuse the merge after the role moved.)
		cur, err := s.store.UserByID(ctx, id)
		if err != nil {
			return models.User{}, noUserAs(err)
		}
		if _, err := apply([]byte(cur.AppMetadata)); err != nil {
			return models.User{}, err
		}
	}
	if ch.Role != nil || ch.Disabled != nil || apply == nil {
		u, err = s.store.UpdateUser(ctx, id, ch, s.now(), func(before models.User, otherAdmins int) error {
			if losesAdmin(before, ch) && otherAdmins == 0 {
				return ErrLastAdmin
			}
			return nil
		})
		if err != nil {
			return models.User{}, noUserAs(err)
		}
	}
	if apply != nil {
		if u, err = s.setMetadata(ctx, id, true, apply); err != nil {
			return models.User{}, noUserAs(err)
		}
	}
	detail := "role=" + string(u.Role) + " disabled=" + strconv.FormatBool(u.Disabled()) + " by " + by.ID
	if apply != nil {
		detail += " appMetadata"
	}
	s.record(ctx, cl, event{typ: models.EventUserUpdated, userID: u.ID, email: u.Email, detail: detail})
	return u, nil
}

// losesAdmin reports whether ch takes an active administrator away.
func losesAdmin(u models.User, ch models.UserChange) bool {
	return u.Role == models.RoleAdmin && !u.Disabled() &&
		((ch.Role != nil && *ch.Role != models.RoleAdmin) || (ch.Disabled != nil && *ch.Disabled))
}

// RevokeAllSessions signs a user out everywhere, by an administrator's hand.
func (s *Service) RevokeAllSessions(ctx context.Context, cl Client, id string) error {
	u, err := s.User(ctx, id)
	if err != nil {
		return err
	}
	_, err = s.Revoke(ctx, cl, Revocation{UserID: u.ID, Scope: ScopeGlobal, Reason: ReasonAdmin, Email: u.Email})
	return err
}

// ErrBootstrapEmailTaken means no active administrator exists and the
// bootstrap email belongs to a user who is not one: starting would leave the
// service without an administrator.
var ErrBootstrapEmailTaken = models.Errorf(models.Conflict, "belongs to an existing user who is not an active administrator; promote that user with another administrator, or choose another email")

// BootstrapAdmin creates the administrator nu when there is no active one,
// and reports whether it did. A replica that loses the race to create it
// reports false; an email taken by anyone else is ErrBootstrapEmailTaken.
func (s *Service) BootstrapAdmin(ctx context.Context, nu NewUser) (bool, error) {
	n, err := s.store.CountActiveAdmins(ctx)
	if err != nil || n > 0 {
		return false, err
	}
	nu.Role = models.RoleAdmin
	_, err = s.CreateUser(ctx, nu)
	if models.CodeOf(err) != models.CodeEmailTaken {
		return err == nil, err
	}
	if n, err = s.store.CountActiveAdmins(ctx); err != nil || n > 0 {
		return false, err
	}
	return false, ErrBootstrapEmailTaken
}

// UserByEmail returns the user with this email, or NotFound saying so.
func (s *Service) UserByEmail(ctx context.Context, email string) (models.User, error) {
	email = models.NormalizeEmail(email)
	u, err := s.store.UserByEmail(ctx, email)
	if models.IsKind(err, models.NotFound) {
		return models.User{}, models.Errorf(models.NotFound, "no user has the email %s", email)
	}
	return u, err
}

// SetPassword replaces a user's password at an operator's hand (a forgotten
// password, no mail yet): the policy applies, the credential version moves
// on and every session of the user ends.
func (s *Service) SetPassword(ctx context.Context, cl Client, u models.User, password string) error {
	hash, err := s.newPasswordHash(ctx, cl, u, password)
	if err != nil {
		return err
	}
	if err := s.store.ChangePassword(ctx, u.ID, hash, s.now()); err != nil {
		return err
	}
	_, err = s.Revoke(ctx, cl, Revocation{UserID: u.ID, Scope: ScopeGlobal, Reason: ReasonPasswordSet, Email: u.Email})
	return err
}

// newPasswordHash checks a new password of u against the policy (a field
// error on "password") and hashes it.
func (s *Service) newPasswordHash(ctx context.Context, cl Client, u models.User, password string) (string, error) {
	if p := PasswordProblem(password, u.Email, u.Name); p != "" {
		fields := models.FieldErrors{}
		fields.Add("password", p)
		return "", fields.Err()
	}
	if err := s.breachErr(ctx, cl, "password", password); err != nil {
		return "", err
	}
	hash, err := s.hasher.Hash(ctx, password)
	return hash, hashErr(err)
}
