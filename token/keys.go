// Package session seals and opens Portcullis tokens (compact JWE, dir +
// A256GCM, with a kid header), holds the key ring, builds cookies and hashes
// passwords. It reads no environment and no clock: keys and now are passed in.
package token

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	jose "github.com/go-jose/go-jose/v4"
	"regexp"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
)

// KeySize is the length of an A256GCM content-encryption key.
const KeySize = 32

// Key is one named symmetric key.
type Key struct {
	ID     string
	Secret []byte
}

// KeyRing holds the keys tokens are sealed and opened with: the first seals,
// every one opens, so a new key can be added ahead of an old one and the old
// one removed once its tokens have expired.
type KeyRing struct {
	keys []Key
	byID map[string][]byte
	// opened caches tokens this ring has opened (token → claims), so a
	// browser's repeated cookie is decrypted once. Nil means no cache.
	opened *lru.Cache[string, Claims]
	// jwt and raw seal with the current key, with and without typ JWT.
	// go-jose's encrypters hold no per-message state (each Encrypt draws a
	// fresh nonce), so one of each serves every request.
	jwt, raw jose.Encrypter
}

var kidPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// NewKeyRing builds a ring from keys in order of preference.
func NewKeyRing(keys ...Key) (*KeyRing, error) {
	if len(keys) == 0 {
		return nil, errors.New("at least one key is required")
	}
	r := &KeyRing{byID: make(map[string][]byte, len(keys))}
	for _, k := range keys {
		if !kidPattern.MatchString(k.ID) {
			return nil, fmt.Errorf("key id %q must be 1-64 letters, digits, '.', '_' or '-'", k.ID)
		}
		if len(k.Secret) != KeySize {
			return nil, fmt.Errorf("key %q must be 32 bytes, not %d; generate one with `portcullis keys generate`", k.ID, len(k.Secret))
		}
		if _, dup := r.byID[k.ID]; dup {
			return nil, fmt.Errorf("key id %q appears twice", k.ID)
		}
		r.byID[k.ID] = k.Secret
		r.keys = append(r.keys, k)
	}
	cur := jose.Recipient{Algorithm: jose.DIRECT, Key: r.keys[0].Secret, KeyID: r.keys[0].ID}
	var err error
	if r.jwt, err = jose.NewEncrypter(jose.A256GCM, cur, (&jose.EncrypterOptions{}).WithType("JWT")); err != nil {
		return nil, err
	}
	if r.raw, err = jose.NewEncrypter(jose.A256GCM, cur, nil); err != nil {
		return nil, err
	}
	return r, nil
}

// ParseKeyRing parses AUTH_SESSION_KEYS: a comma list of kid:base64url(32 bytes).
// Error messages name key ids, never key material.
func ParseKeyRing(s string) (*KeyRing, error) {
	var keys []Key
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		kid, b64, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, errors.New("each entry must be kid:base64url-key")
		}
		secret, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(b64, "="))
		if err != nil {
			return nil, fmt.Errorf("key %q is not base64url", kid)
		}
		keys = append(keys, Key{ID: kid, Secret: secret})
	}
	return NewKeyRing(keys...)
}

// GenerateKey returns a new random key with the given id.
func GenerateKey(kid string) Key {
	secret := make([]byte, KeySize)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails on supported platforms.
	return Key{ID: kid, Secret: secret}
}

// String formats k as an AUTH_SESSION_KEYS entry. It exists for key
// generation; never log its result.
func (k Key) String() string {
	return k.ID + ":" + base64.RawURLEncoding.EncodeToString(k.Secret)
}

// WithCache returns a ring with the same keys that remembers the claims of up
// to size opened tokens. Expiry is still checked on every Open.
func (r *KeyRing) WithCache(size int) *KeyRing {
	c := *r
	c.opened, _ = lru.New[string, Claims](size)
	return &c
}

// Current returns the id of the sealing key.
func (r *KeyRing) Current() string { return r.keys[0].ID }

// DerivedKeys returns one 32-byte key per key of the ring, in the ring's
// order (the first is the current one), derived with HKDF-SHA-256 for the
// purpose info. Mailed tokens are stored as HMACs under such keys, so a copy
// of the database alone reveals none of them; an old key still derives the
// key that checks what it stored until it is removed from the ring.
func (r *KeyRing) DerivedKeys(info string) [][]byte {
	out := make([][]byte, len(r.keys))
	for i, k := range r.keys {
		dk, err := hkdf.Key(sha256.New, k.Secret, nil, info, KeySize)
		if err != nil {
			panic("token: hkdf: " + err.Error()) // only for a length over 255 hashes
		}
		out[i] = dk
	}
	return out
}
