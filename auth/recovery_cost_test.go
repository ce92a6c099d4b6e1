package auth

import (
	"context"
	"strings"
	"testing"

	"github.com/alexedwards/argon2id"
)

// TestRecoveryCodeCost: with the production hasher a set is keyed at
// recoveryParams (m=2 MiB, t=1), not the password's m=19 MiB, t=2; a hasher
// configured cheaper than that (tests) is followed; every code of a set
// shares one salt, a new one per set.
func TestRecoveryCodeCost(t *testing.T) {
	ctx := context.Background()
	codes := []string{"ab1c0xyz99", "zzzzzzzzzz"}
	for _, c := range []struct {
		name   string
		params *argon2id.Params
		want   string
	}{
		{"production", nil, "$argon2id$v=19$m=2048,t=1,p=1$"},
		{"cheaper", &argon2id.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}, "$argon2id$v=19$m=64,t=1,p=1$"},
	} {
		s := &Service{hasher: NewHasher(1, 4, c.params)}
		first, err := s.recoveryHashes(ctx, codes)
		if err != nil {
			t.Fatal(err)
		}
		second, err := s.recoveryHashes(ctx, codes)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range first {
			if !strings.HasPrefix(h, c.want) {
				t.Errorf("%s: stored %.40q…, want %s…", c.name, h, c.want)
			}
			if ok, err := argon2id.ComparePasswordAndHash(codes[0], first[0]); err != nil || !ok {
				t.Errorf("%s: the first code does not match its key: %v", c.name, err)
			}
		}
		salt := func(h string) string { return strings.Split(h, "$")[4] }
		if salt(first[0]) != salt(first[1]) || salt(first[0]) == salt(second[0]) {
			t.Errorf("%s: salts %q %q, next set %q: want one per set, new with each", c.name, salt(first[0]), salt(first[1]), salt(second[0]))
		}
	}
}
