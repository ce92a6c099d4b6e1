package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"

	"github.com/portcullis-auth/portcullis/models"
)

// ErrInvalidClient answers a service client whose name or secret is wrong.
var ErrInvalidClient = &models.Error{Kind: models.Unauthenticated, Code: models.CodeInvalidClient, Message: "client authentication failed"}

// AuthenticateClient checks a service client's name and secret (an
// AUTH_INTROSPECT_CLIENTS entry) in constant time, doing the same work for
// unknown names. Failures are counted per client address like password
// attempts: past the limit the address gets 429 before any check. ok is
// false when the request carried no credentials at all.
func (s *Service) AuthenticateClient(ctx context.Context, cl Client, id, secret string, ok bool) error {
	g := s.newGuard(cl, []string{"client|addr:" + AddressKey(cl.IP)}, []int{s.limits.Client})
	if err := g.reserve(ctx); err != nil {
		return err
	}
	want, known := s.clients[id]
	got, exp := sha256.Sum256([]byte(secret)), sha256.Sum256([]byte(want))
	if subtle.ConstantTimeCompare(got[:], exp[:]) == 1 && known && ok {
		// A success forgets nothing: an attacker sharing the address with a
		// real client must not get a fresh allowance from its calls.
		g.release(ctx)
		return nil
	}
	g.failed(ctx)
	return ErrInvalidClient
}
