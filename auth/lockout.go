package auth

import (
	"context"
	"net/netip"

	"github.com/portcullis-auth/portcullis/models"
)

// AddressKey is the rate-limit and lockout identity of a client address: an
// IPv4 address (an IPv4-mapped IPv6 address counts as its IPv4), or the /64
// prefix of an IPv6 address, since one IPv6 client commonly holds a whole
// /64. Anything unparsable is used as it is.
func AddressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// lockPrefix is the start of every lockout key of an email; the bar ends the
// email, so one address's prefix never matches another's keys.
func lockPrefix(email string) string { return "email:" + models.NormalizeEmail(email) + "|" }

// guard is the lockout of one proof: each key with its limit (for a
// password, the (email, address) pair and the email alone).
type guard struct {
	s        *Service
	cl       Client
	keys     []string
	limits   []int
	reserved []bool
}

func (s *Service) newGuard(cl Client, keys []string, limits []int) *guard {
	return &guard{s: s, cl: cl, keys: keys, limits: limits, reserved: make([]bool, len(keys))}
}

// passwordGuard is the lockout of a password check for email from cl.
func (s *Service) passwordGuard(email string, cl Client) *guard {
	p := lockPrefix(email)
	return s.newGuard(cl, []string{p + "addr:" + AddressKey(cl.IP), p}, []int{s.limits.Pair, s.limits.Global})
}

// reserve counts the attempt on every key before the check. A locked key
// refuses it (429, counting nothing); a store outage lets it through, since
// an outage must not lock everyone out.
func (g *guard) reserve(ctx context.Context) error {
	for i, k := range g.keys {
		wait, err := g.s.lockout.Reserve(ctx, k, g.limits[i])
		switch {
		case err != nil:
			g.s.log(g.cl).Warn("lockout store unavailable", "error", err.Error())
		case wait > 0:
			g.release(ctx)
			return RateLimited(wait)
		default:
			g.reserved[i] = true
		}
	}
	return nil
}

// release gives back the reservations still held: of a proof never
// checked, or of a right proof that issued no session or token (a password
// before the second step, a reauthentication, an enrolment code), whose
// success must not forget earlier failures. It does nothing on a nil guard
// or once every reservation is settled, so callers defer it.
func (g *guard) release(ctx context.Context) {
	if g == nil {
		return
	}
	for i, k := range g.keys {
		if g.reserved[i] {
			g.reserved[i] = false
			if err := g.s.lockout.Release(ctx, k); err != nil {
				g.s.log(g.cl).Warn("lockout store unavailable", "error", err.Error())
			}
		}
	}
}

// failed records a wrong proof and reports whether it locked a key.
func (g *guard) failed(ctx context.Context) bool {
	locked := false
	for i, k := range g.keys {
		if !g.reserved[i] {
			continue
		}
		g.reserved[i] = false
		l, err := g.s.lockout.Fail(ctx, k, g.limits[i])
		if err != nil {
			g.s.log(g.cl).Warn("lockout store unavailable", "error", err.Error())
		}
		locked = locked || l
	}
	return locked
}

// succeeded forgets the failures once a right proof issued a session or
// token: the only success that resets the count (DESIGN.md, "Proofs and the
// lockout"). A right password that leads to a second step only releases its
// reservation, or password → wrong codes → password … would never lock.
func (g *guard) succeeded(ctx context.Context) {
	if g == nil {
		return
	}
	for i, k := range g.keys {
		if !g.reserved[i] {
			continue
		}
		g.reserved[i] = false
		if err := g.s.lockout.Reset(ctx, k); err != nil {
			g.s.log(g.cl).Warn("lockout store unavailable", "error", err.Error())
		}
	}
}

// forget resets every key of the guard without a reservation of its own:
// for a session issued by a second step that counts nothing itself (a
// passkey), after a first factor that did.
func (g *guard) forget(ctx context.Context) {
	for i := range g.keys {
		g.reserved[i] = true
	}
	g.succeeded(ctx)
}

// LiftLockout clears every lockout of an email, for every address, at an
// administrator's request (a fresh session). Unknown emails are answered
// the same way.
func (s *Service) LiftLockout(ctx context.Context, cl Client, by *Principal, email string) error {
	if err := s.requireFreshAdmin(ctx, by); err != nil {
		return err
	}
	email = models.NormalizeEmail(email)
	if email == "" || models.HasControl(email) || len(email) > 4*models.MaxEmailLength {
		return models.Errorf(models.BadRequest, "email must be an email address")
	}
	if err := s.lockout.Clear(ctx, lockPrefix(email)); err != nil {
		return err
	}
	s.record(ctx, cl, event{typ: models.EventLockoutLifted, email: loggableEmail(email), detail: "by " + by.User.ID})
	return nil
}

// loggableEmail is what the audit trail keeps of a submitted identifier:
// the address when it is one, else nothing (a password typed into the email
// field must not end up in the audit log).
func loggableEmail(email string) string {
	if models.EmailProblem(email) != "" {
		return ""
	}
	return email
}
