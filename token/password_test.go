package token

import (
	"context"
	"errors"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"golang.org/x/crypto/bcrypt"
)

// fastParams keep tests quick; production uses Argon2Params.
var fastParams = &argon2id.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

func TestHasherArgon2idPHC(t *testing.T) {
	h := NewHasher(2, 4, nil)
	hash, err := h.Hash(context.Background(), "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash = %q, want PHC argon2id m=19456,t=2,p=1", hash)
	}
	ok, rehash, err := h.Verify(context.Background(), "correct horse battery", hash)
	if !ok || rehash || err != nil {
		t.Errorf("Verify(right) = %v, %v, %v", ok, rehash, err)
	}
	ok, _, _ = h.Verify(context.Background(), "wrong horse battery", hash)
	if ok {
		t.Error("Verify(wrong) = true")
	}
	ok, _, _ = h.Verify(context.Background(), "anything", "")
	if ok {
		t.Error("Verify against the dummy = true")
	}
}

func TestHasherBcryptUpgrade(t *testing.T) {
	h := NewHasher(1, 1, fastParams)
	b, _ := bcrypt.GenerateFromPassword([]byte("legacy password"), bcrypt.MinCost)
	ok, rehash, err := h.Verify(context.Background(), "legacy password", string(b))
	if !ok || !rehash || err != nil {
		t.Errorf("Verify(bcrypt) = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
}

func TestHasherShedsWhenQueueFull(t *testing.T) {
	h := NewHasher(1, 0, fastParams)
	release, err := h.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Hash(context.Background(), "abcdefgh"); !errors.Is(err, ErrBusy) {
		t.Errorf("Hash with a full queue: err = %v, want ErrBusy", err)
	}
	release()
	if _, err := h.Hash(context.Background(), "abcdefgh"); err != nil {
		t.Errorf("Hash after release: %v", err)
	}
}

func TestHasherRaisesGOGCOnlyDuringBursts(t *testing.T) {
	h := NewHasher(1, 1, fastParams)
	h.BurstGCPercent = 300
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	release, err := h.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// SetGCPercent is the only reader; setting the value it returns keeps it.
	if got := debug.SetGCPercent(300); got != 300 {
		t.Errorf("GOGC while hashing = %d, want 300", got)
	}
	release()
	deadline := time.Now().Add(5 * time.Second)
	for burst := true; burst; {
		h.mu.Lock()
		burst = h.inBurst
		h.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("the burst never ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC after the burst = %d, want 100 restored", got)
	}
}

func TestHasherBoundsMemoryDuringBursts(t *testing.T) {
	h := NewHasher(1, 1, fastParams)
	h.BurstGCPercent, h.BurstMemoryLimit = 300, 160<<20
	before := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(before)
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	release, err := h.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != 160<<20 {
		t.Errorf("memory limit while hashing = %d, want 160 MiB", got)
	}
	release()
	deadline := time.Now().Add(5 * time.Second)
	for debug.SetMemoryLimit(-1) != before {
		if time.Now().After(deadline) {
			t.Fatal("the memory limit was not restored after the burst")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
