package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"golang.org/x/crypto/bcrypt"
)

// fastParams keep tests quick; production uses DefaultArgon2Params.
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

func TestHasherReportsBursts(t *testing.T) {
	h := NewHasher(2, 4, fastParams)
	events := make(chan bool, 8)
	h.OnBusy = func(busy bool) { events <- busy }
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.Hash(context.Background(), "abcdefgh"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// One burst: one call when it starts, one once hashing has been idle.
	for i, want := range []bool{true, false} {
		select {
		case got := <-events:
			if got != want {
				t.Fatalf("call %d: OnBusy(%v), want OnBusy(%v)", i, got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("call %d: OnBusy(%v) never came", i, want)
		}
	}
	// A second burst starts with OnBusy(true) again.
	if _, err := h.Hash(context.Background(), "abcdefgh"); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-events:
		if !got {
			t.Fatal("second burst began with OnBusy(false)")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second burst never reported")
	}
	if len(events) > 1 {
		t.Errorf("extra OnBusy calls: %d", len(events))
	}
}

// BenchmarkHash is one production argon2id hash (m=19 MiB, t=2, p=1).
func BenchmarkHash(b *testing.B) {
	h := NewHasher(1, 1, nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(context.Background(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
