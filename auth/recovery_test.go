package auth

import (
	"math"
	"strings"
	"testing"
)

// The contract asks for recovery codes of 10 characters with at least 50
// bits, from an alphabet without look-alikes.
func TestRecoveryAlphabet(t *testing.T) {
	seen := map[rune]bool{}
	for _, r := range recoveryAlphabet {
		if seen[r] {
			t.Fatalf("%q appears twice", r)
		}
		seen[r] = true
	}
	if bits := 10 * math.Log2(float64(len(seen))); bits < 50 || 256%len(seen) != 0 {
		t.Errorf("%d symbols: %.1f bits per code, or a biased byte mapping", len(seen), bits)
	}
	if strings.ContainsAny(recoveryAlphabet, "ilou") {
		t.Errorf("look-alike letters in %q", recoveryAlphabet)
	}
	for typed, want := range map[string]string{"AB1C0-XYZ99": "ab1c0xyz99", " abIcO xyzLL ": "ab1c0xyz11"} {
		if got := normalizeRecovery(typed); got != want {
			t.Errorf("normalizeRecovery(%q) = %q, want %q", typed, got, want)
		}
	}
}
