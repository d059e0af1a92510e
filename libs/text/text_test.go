package text_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

func TestClip(t *testing.T) {
	tests := []struct {
		name     string
		s        string
		maxBytes int
		want     string
	}{
		{"empty", "", 8, ""},
		{"fits", "hello", 5, "hello"},
		{"cut", "hello, world", 5, "hello…"},
		{"zero", "hello", 0, "…"},
		{"negative", "hello", -3, "…"},
		{"empty at zero", "", 0, ""},
		// "é" is 2 bytes: a cut inside it keeps the whole rune out.
		{"rune boundary", "café au lait", 4, "caf…"},
		{"rune fits", "café au lait", 5, "café…"},
		{"emoji not halved", "ab😀cd", 5, "ab…"},
		{"invalid replaced", "a\xffb", 8, "a\uFFFDb"},
		{"invalid run is one replacement", "a\xff\xfe\xfdb", 8, "a\uFFFDb"},
		{"replacement counts its bytes", "a\xffb", 3, "a…"},
		{"replacement fits exactly", "a\xffb", 4, "a\uFFFD…"},
		{"truncated rune at the end", "ab\xe2\x80", 8, "ab\uFFFD"},
		{"valid U+FFFD kept", "\uFFFDx", 3, "\uFFFD…"},
		{"ellipsis in the text", "…x", 3, "……"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, text.Clip(tc.s, tc.maxBytes)); diff != "" {
				t.Errorf("Clip(%q, %d) (-want +got):\n%s", tc.s, tc.maxBytes, diff)
			}
		})
	}
}

func TestClipReturnsWhatFitsWithoutAllocating(t *testing.T) {
	s := strings.Repeat("x", 100)
	if n := testing.AllocsPerRun(100, func() { _ = text.Clip(s, 100) }); n != 0 {
		t.Errorf("Clip of a string that fits: %v allocations, want 0", n)
	}
}

// FuzzClip checks Clip against its specification: the valid text
// (strings.ToValidUTF8 with U+FFFD) when it fits, else its longest prefix
// of whole runes within maxBytes and the ellipsis.
func FuzzClip(f *testing.F) {
	for _, seed := range []struct {
		s string
		n int
	}{{"", 0}, {"hello", 3}, {"café", 4}, {"a\xff\xfeb", 2}, {"😀😀", 5}, {"…", 1}, {"x", -1}} {
		f.Add(seed.s, seed.n)
	}
	f.Fuzz(func(t *testing.T, s string, maxBytes int) {
		maxBytes %= 1 << 12 // the loop is linear; keep the cases small
		got := text.Clip(s, maxBytes)
		limit := max(maxBytes, 0)
		if !utf8.ValidString(got) {
			t.Fatalf("Clip(%q, %d) = %q: not valid UTF-8", s, maxBytes, got)
		}
		if len(got) > limit+len(text.Ellipsis) {
			t.Fatalf("Clip(%q, %d) = %q: %d bytes, more than %d+%d", s, maxBytes, got, len(got), limit, len(text.Ellipsis))
		}
		valid := strings.ToValidUTF8(s, "\uFFFD")
		if len(valid) <= limit {
			if got != valid {
				t.Fatalf("Clip(%q, %d) = %q, want the whole valid text %q", s, maxBytes, got, valid)
			}
			return
		}
		kept, ok := strings.CutSuffix(got, text.Ellipsis)
		if !ok || !strings.HasPrefix(valid, kept) || len(kept) > limit {
			t.Fatalf("Clip(%q, %d) = %q, want a prefix of %q within %d bytes and %q", s, maxBytes, got, valid, limit, text.Ellipsis)
		}
		if _, w := utf8.DecodeRuneInString(valid[len(kept):]); len(kept)+w <= limit {
			t.Fatalf("Clip(%q, %d) = %q: the next rune of %q fits too", s, maxBytes, got, valid)
		}
	})
}
