package token

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// MaxTokenSize is the longest token Open will look at.
const MaxTokenSize = 4096

// Token types, carried in the typ claim so neither kind can stand in for the other.
const (
	TypeAccess  = "access"
	TypeRefresh = "refresh"
	// TypeMFA is the second step of a sign-in (the mfaToken): its jti names
	// the challenge, sub the user, ver the credential version checked.
	TypeMFA = "mfa"
)

// Errors returned by Open. ErrExpired is distinguishable so clients can be told
// to refresh; every other failure is ErrInvalid and says nothing more.
var (
	ErrInvalid = errors.New("invalid token")
	ErrExpired = errors.New("token expired")
)

// Claims is the content of an access or refresh token. Access tokens carry
// typ, sid, sub, role, iat and exp; refresh tokens typ, sid, gen, iat and exp.
type Claims struct {
	Type      string `json:"typ"`
	SessionID string `json:"sid"`
	Subject   string `json:"sub,omitempty"`
	Role      string `json:"role,omitempty"`
	Gen       int64  `json:"gen,omitempty"`
	// AAL is an access token's assurance level (1 or 2).
	AAL int `json:"aal,omitempty"`
	// JTI and Ver belong to mfa tokens.
	JTI      string `json:"jti,omitempty"`
	Ver      int64  `json:"ver,omitempty"`
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
}

// ExpiresAt returns the exp claim as a time.
func (c Claims) ExpiresAt() time.Time { return time.Unix(c.Expiry, 0).UTC() }

// Seal encrypts claims with the ring's current key as a compact JWE.
func (r *KeyRing) Seal(c Claims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	return r.seal(r.jwt, payload)
}

// Open decrypts and checks a token of the wanted type at now. Only dir +
// A256GCM is accepted, with a known kid and no zip header; the token must not
// exceed MaxTokenSize and must carry exp, sid and the wanted typ.
func (r *KeyRing) Open(token, wantType string, now time.Time) (Claims, error) {
	c, err := r.OpenIgnoringExpiry(token, wantType)
	if err != nil {
		return Claims{}, err
	}
	if now.Unix() >= c.Expiry {
		return c, ErrExpired
	}
	return c, nil
}

// OpenIgnoringExpiry is Open without the expiry check. Logout uses it so a
// user whose access token just expired can still end the session it names.
func (r *KeyRing) OpenIgnoringExpiry(token, wantType string) (Claims, error) {
	if r.opened != nil {
		if c, ok := r.opened.Get(token); ok {
			if c.Type != wantType {
				return Claims{}, ErrInvalid
			}
			return c, nil
		}
	}
	c, err := r.open(token, wantType)
	// Only access tokens repeat; a refresh token is presented once.
	if err == nil && r.opened != nil && wantType == TypeAccess {
		r.opened.Add(token, c)
	}
	return c, err
}

func (r *KeyRing) open(token, wantType string) (Claims, error) {
	if token == "" || len(token) > MaxTokenSize {
		return Claims{}, ErrInvalid
	}
	// With dir there is no encrypted key: RFC 7516 requires the second
	// segment to be empty, and go-jose would silently ignore one.
	if i := strings.IndexByte(token, '.'); i < 0 || !strings.HasPrefix(token[i+1:], ".") {
		return Claims{}, ErrInvalid
	}
	obj, err := jose.ParseEncryptedCompact(token,
		[]jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return Claims{}, ErrInvalid
	}
	if _, zip := obj.Header.ExtraHeaders["zip"]; zip {
		return Claims{}, ErrInvalid
	}
	key, ok := r.byID[obj.Header.KeyID]
	if !ok {
		return Claims{}, ErrInvalid
	}
	payload, err := obj.Decrypt(key)
	if err != nil {
		return Claims{}, ErrInvalid
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return Claims{}, ErrInvalid
	}
	if c.Type != wantType || c.Expiry == 0 {
		return Claims{}, ErrInvalid
	}
	switch wantType {
	case TypeMFA:
		if c.JTI == "" || c.Subject == "" {
			return Claims{}, ErrInvalid
		}
	case TypeAccess:
		if c.SessionID == "" || c.Subject == "" {
			return Claims{}, ErrInvalid
		}
	default:
		if c.SessionID == "" {
			return Claims{}, ErrInvalid
		}
	}
	return c, nil
}

// SealBytes encrypts any payload with the ring's current key as a compact
// JWE (dir + A256GCM, kid), for secrets at rest such as queued mail.
func (r *KeyRing) SealBytes(payload []byte) (string, error) { return r.seal(r.raw, payload) }

// seal encrypts payload with the current key (dir + A256GCM, kid) through
// one of the ring's encrypters.
func (r *KeyRing) seal(enc jose.Encrypter, payload []byte) (string, error) {
	obj, err := enc.Encrypt(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// OpenBytes decrypts what SealBytes sealed with any key of the ring.
func (r *KeyRing) OpenBytes(sealed string) ([]byte, error) {
	obj, err := jose.ParseEncryptedCompact(sealed, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return nil, ErrInvalid
	}
	key, ok := r.byID[obj.Header.KeyID]
	if !ok {
		return nil, ErrInvalid
	}
	payload, err := obj.Decrypt(key)
	if err != nil {
		return nil, ErrInvalid
	}
	return payload, nil
}
