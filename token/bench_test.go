package token

import (
	"context"
	"testing"
)

func BenchmarkSeal(b *testing.B) {
	r, _ := NewKeyRing(GenerateKey("k1"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Seal(accessClaims()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen is a cold open: parse, decrypt, unmarshal.
func BenchmarkOpen(b *testing.B) {
	r, _ := NewKeyRing(GenerateKey("k1"))
	tok, _ := r.Seal(accessClaims())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Open(tok, TypeAccess, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenCached is the repeated cookie of one browser.
func BenchmarkOpenCached(b *testing.B) {
	r, _ := NewKeyRing(GenerateKey("k1"))
	r = r.WithCache(1000)
	tok, _ := r.Seal(accessClaims())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Open(tok, TypeAccess, now); err != nil {
			b.Fatal(err)
		}
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
