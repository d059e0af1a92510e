package stream

import (
	"math/big"
	"testing"
)

func TestCompareSeq(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1", "2", -1}, {"2", "1", 1}, {"7", "7", 0}, {"10", "9", 1}, {"0009", "9", 0},
		{"49590338271490256608559692538361571095921575989136588898", "49590338271490256608559692538361571095921575989136588899", -1},
		{"", "0", 0},
	}
	for _, tt := range tests {
		if got := CompareSeq(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareSeq(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// FuzzCompareSeq holds CompareSeq to math/big on decimal strings (they
// arrive from SQS messages) and checks it is antisymmetric on anything.
func FuzzCompareSeq(f *testing.F) {
	f.Add("49590338271490256608559692538361571095921575989136588898", "1")
	f.Add("0", "000")
	f.Add("12a", "12")
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := CompareSeq(a, b), CompareSeq(b, a)
		if ab != -ba {
			t.Fatalf("CompareSeq(%q, %q) = %d but reversed %d", a, b, ab, ba)
		}
		x, okA := new(big.Int).SetString(a, 10)
		y, okB := new(big.Int).SetString(b, 10)
		if !okA || !okB || x.Sign() < 0 || y.Sign() < 0 || !digits(a) || !digits(b) {
			return
		}
		if want := x.Cmp(y); ab != want {
			t.Fatalf("CompareSeq(%q, %q) = %d, math/big says %d", a, b, ab, want)
		}
	})
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
