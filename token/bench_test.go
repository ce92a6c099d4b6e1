package token

import (
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
