package auth

import (
	"context"
	"errors"
	"strings"

	"github.com/portcullis-auth/portcullis/models"
)

// NewUser is an account to create.
type NewUser struct {
	Email    string
	Name     string
	Password string
	Role     models.Role
	// Verified marks the address as proven: users an operator creates
	// (bootstrap, the command line) start verified.
	Verified bool
	// Client is who asked: the breached-password check and the
	// before-create hook see it.
	Client Client
	// Method, when set, makes this a self-service sign-up ("password"):
	// the before-create hook is asked and refusals are audited.
	Method string
	// NoPassword creates the user without a password (an invitation sets
	// it); Password is then ignored.
	NoPassword bool
}

// CreateUser validates and creates an account. Every field problem is
// reported together (an Invalid error with Fields), before any hashing; a
// taken email is ErrEmailTaken.
func (s *Service) CreateUser(ctx context.Context, nu NewUser) (models.User, error) {
	email, name := models.NormalizeEmail(nu.Email), models.NormalizeName(nu.Name)
	fields := models.FieldErrors{}
	if p := models.EmailProblem(email); p != "" {
		fields.Add("email", p)
	}
	if p := models.NameProblem(name); p != "" {
		fields.Add("name", p)
	}
	if p := PasswordProblem(nu.Password, email, name); p != "" && !nu.NoPassword {
		fields.Add("password", p)
	}
	if !nu.Role.Valid() {
		fields.Add("role", "must be user or admin")
	}
	if err := fields.Err(); err != nil {
		return models.User{}, err
	}
	// The abuse controls, after the free checks and before any hashing or
	// lookup: they depend on the request alone, never on whether the
	// address has an account.
	if err := s.domainErr("email", email); err != nil {
		if nu.Method != "" {
			s.record(ctx, nu.Client, event{typ: models.EventSignupDenied, email: email, detail: "reason: domain"})
		}
		return models.User{}, err
	}
	if !nu.NoPassword {
		if err := s.breachErr(ctx, nu.Client, "password", nu.Password); err != nil {
			return models.User{}, err
		}
	}
	var appMetadata []byte
	if nu.Method != "" {
		var err error
		if appMetadata, err = s.beforeCreate(ctx, nu.Client, email, name, nu.Method); err != nil {
			return models.User{}, err
		}
	}
	hash := ""
	if !nu.NoPassword {
		var err error
		if hash, err = s.hasher.Hash(ctx, nu.Password); err != nil {
			return models.User{}, hashErr(err)
		}
	}
	now := s.now()
	u := models.User{Email: email, Name: name, PasswordHash: hash, Role: nu.Role, EmailVerified: nu.Verified, AppMetadata: string(appMetadata), CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateUser(ctx, &u); err != nil {
		if models.IsKind(err, models.Conflict) {
			return models.User{}, &models.Error{Kind: models.Conflict, Code: ErrEmailTaken.Code, Message: ErrEmailTaken.Message, Err: err}
		}
		return models.User{}, err
	}
	return u, nil
}

// Register creates a user account. Unless verification is required it
// signs the user in (and, when optional, mails a verification link). When it
// is required nobody is signed in and accepted is true, for a new address
// and for one that has an account alike (its owner is mailed instead), after
// the same work: registration reveals nothing.
func (s *Service) Register(ctx context.Context, cl Client, email, password, name string) (res Result, accepted bool, err error) {
	required := s.email.Verification == VerificationRequired
	u, err := s.CreateUser(ctx, NewUser{Email: email, Name: name, Password: password, Role: models.RoleUser, Client: cl, Method: "password"})
	if required && models.CodeOf(err) == models.CodeEmailTaken {
		return Result{}, true, s.queue(ctx, models.MailAccountExists, models.NormalizeEmail(email), "", "")
	}
	if err != nil {
		return Result{}, false, err
	}
	if s.email.Verification != VerificationOff {
		if err := s.queue(ctx, models.MailVerifyEmail, u.Email, u.ID, ""); err != nil && (required || !errors.Is(err, ErrEmailUnavailable)) {
			return Result{}, false, err
		}
	}
	if required {
		s.record(ctx, cl, event{typ: models.EventRegister, userID: u.ID, email: u.Email})
		return Result{}, true, nil
	}
	res, err = s.start(ctx, cl, u, false, 1, AMRPassword)
	if err != nil {
		return Result{}, false, err
	}
	s.record(ctx, cl, event{typ: models.EventRegister, userID: u.ID, sessionID: res.Session.ID, email: u.Email})
	return res, false, nil
}

// LoginOptions shape a password login.
type LoginOptions struct {
	// Remember makes the session last AUTH_REMEMBER_TTL.
	Remember bool
	// Grant marks the OAuth password grant, in the audit trail.
	Grant bool
}

// Login checks an email and password and starts a session, or, for a user
// with a second factor, answers the second step instead.
func (s *Service) Login(ctx context.Context, cl Client, email, password string, opt LoginOptions) (SignIn, error) {
	if err := credentialFields(email, password); err != nil {
		return SignIn{}, err
	}
	u, g, err := s.checkPassword(ctx, cl, email, password)
	if err != nil {
		return SignIn{}, err
	}
	defer g.release(ctx)
	// Only after the password: without it, this reveals nothing.
	if s.email.Verification == VerificationRequired && !u.EmailVerified {
		return SignIn{}, ErrEmailNotVerified
	}
	in, err := s.signIn(ctx, cl, g, u, opt.Remember, AMRPassword)
	if err != nil || in.MFA != nil {
		return in, err
	}
	detail := ""
	if opt.Grant {
		detail = "token"
	}
	s.record(ctx, cl, event{typ: models.EventLoginSucceeded, userID: u.ID, sessionID: in.Session.ID, email: u.Email, detail: detail})
	s.checkBreachAfterSignIn(cl, u, password)
	return in, nil
}

// credentialFields checks that login fields are present and bounded, before
// any hashing.
func credentialFields(email, password string) error {
	fields := models.FieldErrors{}
	switch {
	case strings.TrimSpace(email) == "":
		fields.Add("email", "is required")
	case len(email) > 4*models.MaxEmailLength:
		fields.Add("email", "must be at most 254 characters")
	case models.HasControl(email):
		// Such a string never reaches the database (PostgreSQL refuses NUL).
		fields.Add("email", "must not contain control characters")
	}
	if password == "" {
		fields.Add("password", "is required")
	} else if len(password) > models.MaxPasswordBytes {
		fields.Add("password", "must be at most 256 characters")
	}
	return fields.Err()
}

// checkPassword returns the user whose email and password these are.
// Unknown emails cost the same as wrong passwords and get the same error; a
// locked (email, address) pair or email gets 429 even with the right
// password, and attempts are counted before hashing, so however many arrive
// at once no more than the limit are checked. A right password returns its
// guard still reserved: the caller passes it to signIn, which forgets the
// failures only if a session is issued, and releases it (deferred) otherwise.
func (s *Service) checkPassword(ctx context.Context, cl Client, email, password string) (models.User, *guard, error) {
	email = models.NormalizeEmail(email)
	g := s.passwordGuard(email, cl)
	if err := g.reserve(ctx); err != nil {
		s.metrics.Login(LoginLocked)
		return models.User{}, nil, err
	}
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil && !models.IsKind(err, models.NotFound) {
		g.release(ctx)
		return models.User{}, nil, err
	}
	ok, rehash, err := s.hasher.Verify(ctx, password, u.PasswordHash)
	if err != nil {
		g.release(ctx)
		return models.User{}, nil, hashErr(err)
	}
	if !ok || u.Disabled() {
		s.metrics.Login(LoginInvalidCredentials)
		failed := event{typ: models.EventLoginFailed, userID: u.ID, email: loggableEmail(email)}
		s.record(ctx, cl, failed)
		if g.failed(ctx) {
			failed.typ = models.EventLockout
			s.record(ctx, cl, failed)
		}
		return models.User{}, nil, ErrInvalidCreds
	}
	s.metrics.Login(LoginSuccess)
	if rehash {
		if h, err := s.hasher.Hash(ctx, password); err == nil {
			if err := s.store.UpgradePasswordHash(ctx, u.ID, h, u.CredentialVersion); err != nil {
				s.log(cl).Warn("password hash upgrade failed", "error", err.Error())
			}
		}
	}
	return u, g, nil
}

// ChangePassword replaces the caller's password, given the current one, and
// ends every other session of theirs.
func (s *Service) ChangePassword(ctx context.Context, cl Client, p *Principal, current, next string) error {
	fields := models.FieldErrors{}
	if current == "" {
		fields.Add("currentPassword", "is required")
	} else if len(current) > models.MaxPasswordBytes {
		fields.Add("currentPassword", "is incorrect")
	}
	if prob := PasswordProblem(next, p.User.Email, p.User.Name); prob != "" {
		fields.Add("newPassword", prob)
	}
	if err := fields.Err(); err != nil {
		return err
	}
	if err := s.breachErr(ctx, cl, "newPassword", next); err != nil {
		return err
	}
	if err := s.stepUp(ctx, cl, p, current, true, models.EventPasswordChangeFailed); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return hashErr(err)
	}
	if err := s.store.ChangePassword(ctx, p.User.ID, hash, s.now()); err != nil {
		return err
	}
	_, err = s.Revoke(ctx, cl, Revocation{UserID: p.User.ID, SessionID: p.Session.ID, Scope: ScopeOthers, Reason: ReasonPasswordChange})
	return err
}

// verifyOwnPassword checks the signed-in user's password. A wrong one counts
// toward the lockout like a failed login, so no endpoint that asks for the
// password is a free oracle; failed, when set, is the event it is audited as.
func (s *Service) verifyOwnPassword(ctx context.Context, cl Client, p *Principal, password string, failed models.EventType) (bool, error) {
	g := s.passwordGuard(p.User.Email, cl)
	if err := g.reserve(ctx); err != nil {
		return false, err
	}
	ok, _, err := s.hasher.Verify(ctx, password, p.User.PasswordHash)
	if err != nil {
		g.release(ctx)
		return false, hashErr(err)
	}
	if ok {
		// No session is issued: the failures stay (DESIGN.md, "Proofs and
		// the lockout").
		g.release(ctx)
		return true, nil
	}
	ev := event{typ: failed, userID: p.User.ID, sessionID: p.Session.ID, email: p.User.Email}
	if failed != "" {
		s.record(ctx, cl, ev)
	}
	if g.failed(ctx) {
		ev.typ = models.EventLockout
		s.record(ctx, cl, ev)
	}
	return false, nil
}

// ProfileChange is a change to the caller's own profile. Name nil keeps the
// name; Email, Role and Password say the request tried to change those,
// which are changed elsewhere.
type ProfileChange struct {
	Name                  *string
	Email, Role, Password bool
	// Metadata, when set, is a JSON merge patch (RFC 7396) of the user's
	// metadata.
	Metadata []byte
}

// UpdateProfile changes the caller's profile: a partial update. A field that
// is changed elsewhere is refused, saying where.
func (s *Service) UpdateProfile(ctx context.Context, cl Client, p *Principal, ch ProfileChange) (models.User, error) {
	fields := models.FieldErrors{}
	if ch.Email {
		fields.Add("email", "cannot be changed with PATCH /auth/me; use POST /auth/email/change (it mails a link to the new address)")
	}
	if ch.Role {
		fields.Add("role", "cannot be changed with PATCH /auth/me; an administrator changes it with PATCH /admin/users/{id}")
	}
	if ch.Password {
		fields.Add("password", "cannot be changed with PATCH /auth/me; use POST /auth/password")
	}
	var name string
	if ch.Name != nil {
		if name = models.NormalizeName(*ch.Name); models.NameProblem(name) != "" {
			fields.Add("name", models.NameProblem(name))
		}
	}
	var apply func([]byte) ([]byte, error)
	if ch.Metadata != nil {
		var prob string
		if apply, prob = patchMetadata("metadata", ch.Metadata); prob != "" {
			fields.Add("metadata", prob)
		}
	}
	if err := fields.Err(); err != nil {
		return p.User, err
	}
	u := p.User
	if ch.Name != nil {
		var err error
		if u, err = s.store.UpdateUserName(ctx, p.User.ID, name, s.now()); err != nil {
			return models.User{}, err
		}
	}
	if apply != nil {
		var err error
		if u, err = s.setMetadata(ctx, p.User.ID, false, apply); err != nil {
			return models.User{}, err
		}
	}
	if ch.Name != nil || apply != nil {
		s.record(ctx, cl, event{typ: models.EventUserUpdated, userID: u.ID, sessionID: p.Session.ID, email: u.Email, detail: "profile, by the user"})
	}
	return u, nil
}

// Activity lists a user's recent audit events, newest first.
func (s *Service) Activity(ctx context.Context, userID string) ([]models.AuditEvent, error) {
	return s.store.Events(ctx, models.EventFilter{UserID: userID, Limit: 100})
}
