package token

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func ring(t *testing.T, keys ...Key) *KeyRing {
	t.Helper()
	r, err := NewKeyRing(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func accessClaims() Claims {
	return Claims{Type: TypeAccess, SessionID: "s1", Subject: "u1", Role: "user", IssuedAt: now.Unix(), Expiry: now.Add(15 * time.Minute).Unix()}
}

func TestSealOpenRoundTrip(t *testing.T) {
	r := ring(t, GenerateKey("k1"))
	tok, err := r.Seal(accessClaims())
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Open(tok, TypeAccess, now)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if got != accessClaims() {
		t.Errorf("claims = %+v, want %+v", got, accessClaims())
	}
	obj, err := jose.ParseEncryptedCompact(tok, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		t.Fatal(err)
	}
	if obj.Header.KeyID != "k1" || obj.Header.Algorithm != "dir" {
		t.Errorf("header = %+v", obj.Header)
	}
}

func TestOpenRefusesTampering(t *testing.T) {
	r := ring(t, GenerateKey("k1"))
	tok, _ := r.Seal(accessClaims())
	parts := strings.Split(tok, ".")
	for i := range parts {
		if i == 1 {
			continue // dir has an empty encrypted-key segment
		}
		p := append([]string(nil), parts...)
		b := []byte(p[i])
		if b[len(b)/2] == 'A' {
			b[len(b)/2] = 'B'
		} else {
			b[len(b)/2] = 'A'
		}
		p[i] = string(b)
		if _, err := r.Open(strings.Join(p, "."), TypeAccess, now); !errors.Is(err, ErrInvalid) {
			t.Errorf("segment %d tampered: err = %v, want ErrInvalid", i, err)
		}
	}
	p := append([]string(nil), parts...)
	p[1] = "AAAA"
	if _, err := r.Open(strings.Join(p, "."), TypeAccess, now); !errors.Is(err, ErrInvalid) {
		t.Errorf("encrypted key added: err = %v", err)
	}
	for _, bad := range []string{"", "a.b.c", tok + ".x", strings.Repeat("A", MaxTokenSize+1)} {
		if _, err := r.Open(bad, TypeAccess, now); !errors.Is(err, ErrInvalid) {
			t.Errorf("Open(%.20q) err = %v", bad, err)
		}
	}
}

func TestOpenExpiryAndType(t *testing.T) {
	r := ring(t, GenerateKey("k1"))
	tok, _ := r.Seal(accessClaims())
	if _, err := r.Open(tok, TypeAccess, now.Add(15*time.Minute)); !errors.Is(err, ErrExpired) {
		t.Errorf("at expiry: err = %v, want ErrExpired", err)
	}
	if _, err := r.Open(tok, TypeRefresh, now); !errors.Is(err, ErrInvalid) {
		t.Errorf("access as refresh: err = %v, want ErrInvalid", err)
	}
	noExp := accessClaims()
	noExp.Expiry = 0
	tok, _ = r.Seal(noExp)
	if _, err := r.Open(tok, TypeAccess, now); !errors.Is(err, ErrInvalid) {
		t.Errorf("no exp: err = %v, want ErrInvalid", err)
	}
}

func TestKeyRotation(t *testing.T) {
	oldKey, newKey := GenerateKey("old"), GenerateKey("new")
	oldTok, _ := ring(t, oldKey).Seal(accessClaims())
	both := ring(t, newKey, oldKey)
	if _, err := both.Open(oldTok, TypeAccess, now); err != nil {
		t.Errorf("old token with new,old ring: %v", err)
	}
	newTok, _ := both.Seal(accessClaims())
	if _, err := ring(t, newKey).Open(newTok, TypeAccess, now); err != nil {
		t.Errorf("new token sealed with the first key: %v", err)
	}
	if _, err := ring(t, newKey).Open(oldTok, TypeAccess, now); !errors.Is(err, ErrInvalid) {
		t.Errorf("old token after removal: err = %v, want ErrInvalid", err)
	}
	// Same kid, different secret: authentication fails.
	if _, err := ring(t, GenerateKey("old")).Open(oldTok, TypeAccess, now); !errors.Is(err, ErrInvalid) {
		t.Errorf("wrong secret: err = %v", err)
	}
}

func TestOpenRefusesZipAndOtherAlgorithms(t *testing.T) {
	k := GenerateKey("k1")
	r := ring(t, k)
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.DIRECT, Key: k.Secret, KeyID: k.ID},
		&jose.EncrypterOptions{Compression: jose.DEFLATE})
	if err != nil {
		t.Fatal(err)
	}
	obj, _ := enc.Encrypt([]byte(`{"typ":"access","sid":"s1","sub":"u1","exp":9999999999}`))
	tok, _ := obj.CompactSerialize()
	if _, err := r.Open(tok, TypeAccess, now); !errors.Is(err, ErrInvalid) {
		t.Errorf("zip token: err = %v, want ErrInvalid", err)
	}
	enc, _ = jose.NewEncrypter(jose.A128GCM, jose.Recipient{Algorithm: jose.DIRECT, Key: k.Secret[:16], KeyID: k.ID}, nil)
	obj, _ = enc.Encrypt([]byte(`{"typ":"access","sid":"s1","sub":"u1","exp":9999999999}`))
	tok, _ = obj.CompactSerialize()
	if _, err := r.Open(tok, TypeAccess, now); !errors.Is(err, ErrInvalid) {
		t.Errorf("A128GCM token: err = %v, want ErrInvalid", err)
	}
}

func TestParseKeyRing(t *testing.T) {
	k := GenerateKey("2026-11")
	r, err := ParseKeyRing(k.String() + "," + GenerateKey("old").String())
	if err != nil || r.Current() != "2026-11" {
		t.Fatalf("ParseKeyRing = %v, %v", r, err)
	}
	for _, bad := range []string{"", "nokey", "k:short", "k:!!!", k.String() + "," + k.String()} {
		_, err := ParseKeyRing(bad)
		if err == nil {
			t.Errorf("ParseKeyRing(%q) accepted", bad)
		} else if strings.Contains(err.Error(), k.String()[8:]) {
			t.Errorf("error leaks key material: %v", err)
		}
	}
}

func TestCachedOpenStillChecksExpiryAndType(t *testing.T) {
	r := ring(t, GenerateKey("k1")).WithCache(10)
	tok, _ := r.Seal(accessClaims())
	if _, err := r.Open(tok, TypeAccess, now); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Open(tok, TypeAccess, now.Add(time.Hour)); !errors.Is(err, ErrExpired) {
		t.Errorf("cached token after expiry: %v, want ErrExpired", err)
	}
	if _, err := r.Open(tok, TypeRefresh, now); !errors.Is(err, ErrInvalid) {
		t.Errorf("cached access token as refresh: %v, want ErrInvalid", err)
	}
	// A ring without the key does not share the cache.
	if _, err := ring(t, GenerateKey("k2")).Open(tok, TypeAccess, now); !errors.Is(err, ErrInvalid) {
		t.Errorf("other ring: %v", err)
	}
}

// The ring's one encrypter serves every seal: each token gets its own
// nonce (the JWE's IV), also when sealed at once from many goroutines, and
// every one opens.
func TestSealsDrawAFreshNonceEachTime(t *testing.T) {
	r, err := NewKeyRing(GenerateKey("k1"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	toks := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			toks[i], _ = r.SealBytes([]byte("the same payload"))
		}()
	}
	wg.Wait()
	ivs := map[string]bool{}
	for _, tok := range toks {
		parts := strings.Split(tok, ".")
		if len(parts) != 5 || parts[2] == "" {
			t.Fatalf("not a compact JWE with an IV: %q", tok)
		}
		if ivs[parts[2]] {
			t.Fatalf("an IV was used twice: %s", parts[2])
		}
		ivs[parts[2]] = true
		if got, err := r.OpenBytes(tok); err != nil || string(got) != "the same payload" {
			t.Fatalf("OpenBytes = %q, %v", got, err)
		}
	}
}
