package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/alexedwards/argon2id"
	"golang.org/x/crypto/argon2"
)

// Recovery codes are stored as argon2id keys under one salt per user (a new
// salt with every set), in PHC form, so a copy of the database does not
// give them away: an attempt costs one hash on the hasher's queue, compared
// with every unused code of the user. Rows from before are the unsalted
// SHA-256 of the code (64 hex digits) and keep working until the user
// regenerates the set.

// recoveryParams is the argon2id cost of a recovery code's key: less than a
// password's, because a code is 50 random bits (10 symbols of 32) where a
// password's cost is there for secrets people choose. At 2.7 ms a key (one
// core here), finding one of a user's ten codes from a copy of the database
// takes some 2^50 / 10 keys, about 9,600 core-years (GPUs do better at 2 MiB
// than at 19 MiB), and a code is only the second step: the password is
// needed too. At the password's cost a set of ten took 0.4 s of one core
// (2.5 s under the race detector, which on a loaded machine passed the
// request's 5 s limit: enrolling a first factor answered 503). Hashers
// configured cheaper than this (tests) are followed. Matching reads the
// parameters stored with each set.
var recoveryParams = argon2id.Params{Memory: 2 * 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// recoveryHashes returns the stored forms of codes under one new salt.
func (s *Service) recoveryHashes(ctx context.Context, codes []string) ([]string, error) {
	p := recoveryParams
	if hp := s.hasher.Params(); uint64(hp.Memory)*uint64(hp.Iterations) < uint64(p.Memory)*uint64(p.Iterations) {
		p = hp
	}
	salt := make([]byte, p.SaltLength)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	out := make([]string, len(codes))
	for i, code := range codes {
		key, err := s.hasher.Key(ctx, normalizeRecovery(code), salt, p)
		if err != nil {
			return nil, hashErr(err)
		}
		out[i] = fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Iterations, p.Parallelism,
			base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
	}
	return out, nil
}

// maxRecoveryCode bounds what is hashed: a code is 10 symbols, typed with a
// dash or spaces.
const maxRecoveryCode = 32

// matchRecoveryCode returns the id of the user's unused recovery code that
// typed is, without spending it: one hash for the salted rows (they share
// one salt), a SHA-256 for rows from before.
func (s *Service) matchRecoveryCode(ctx context.Context, userID, typed string) (string, bool, error) {
	if len(typed) > maxRecoveryCode {
		return "", false, nil
	}
	code := normalizeRecovery(typed)
	rows, err := s.store.RecoveryCodes(ctx, userID)
	if err != nil {
		return "", false, err
	}
	var key []byte
	var params *argon2id.Params
	var salt []byte
	match := ""
	for _, r := range rows {
		var ok bool
		if strings.HasPrefix(r.CodeHash, "$argon2id$") {
			p, sa, k, err := argon2id.DecodeHash(r.CodeHash)
			if err != nil {
				continue
			}
			if key == nil || *p != *params || subtle.ConstantTimeCompare(sa, salt) != 1 {
				// The first salted row, or (never written so) a set under
				// another salt or other parameters.
				if key, err = s.hasher.Key(ctx, code, sa, *p); err != nil {
					return "", false, hashErr(err)
				}
				params, salt = p, sa
			}
			ok = subtle.ConstantTimeCompare(key, k) == 1
		} else {
			ok = subtle.ConstantTimeCompare([]byte(hashToken(code)), []byte(r.CodeHash)) == 1
		}
		if ok && match == "" {
			match = r.ID
		}
	}
	return match, match != "", nil
}
