package token

import (
	"errors"
	"testing"
)

// FuzzOpen feeds arbitrary strings to Open: it must never panic, and anything
// it accepts must be a well-formed access token sealed with the ring's key.
func FuzzOpen(f *testing.F) {
	r, _ := NewKeyRing(Key{ID: "k1", Secret: make([]byte, KeySize)})
	tok, _ := r.Seal(accessClaims())
	f.Add(tok)
	f.Add("")
	f.Add("a.b.c.d.e")
	f.Add("eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIiwia2lkIjoiazEiLCJ6aXAiOiJERUYifQ..AAAA.AAAA.AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := r.Open(s, TypeAccess, now)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrExpired) {
				t.Fatalf("Open error %v is neither ErrInvalid nor ErrExpired", err)
			}
			return
		}
		if c.Type != TypeAccess || c.SessionID == "" || c.Subject == "" || c.Expiry == 0 {
			t.Fatalf("accepted malformed claims %+v", c)
		}
	})
}
