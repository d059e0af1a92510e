package profile

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// unsafeRune is the oracle of what no extracted text may hold, written
// independently of clean: a control character (C0, DEL, C1) or a
// bidirectional embedding, override, isolate or mark.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || strings.ContainsRune("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u2028\u2029", r)
}

// FuzzNormalise feeds any bytes through a field's normalisation, with each
// combination of trim and collapse: the result is valid UTF-8 without one
// unsafe rune, trimmed and collapsed when asked, and cleaning it again
// changes nothing.
func FuzzNormalise(f *testing.F) {
	for _, s := range []string{
		"", "The Godfather", "\x1b[31mRed\x1b[0m", "\u202egnp.exe", "a\tb\nc\r\nd", "\u0085\u2028\u2029",
		"\xff\xfe\x00", "\xc2\x9b31m", "\u2066\u2069\u200e\u200f\u061c", " \u00a0 x \u3000 ", "\ufffd\xe2\x80",
	} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, s string, flags uint8) {
		fl := field{trim: flags&1 != 0, collapse: flags&2 != 0}
		got, ok := fl.normalise(s)
		if !utf8.ValidString(got) {
			t.Fatalf("normalise(%q) = %q: not valid UTF-8", s, got)
		}
		if ok != (got != "") {
			t.Errorf("normalise(%q) = %q, %v: ok must say whether text is left", s, got, ok)
		}
		for i, r := range got {
			if unsafeRune(r) {
				t.Fatalf("normalise(%q) = %q: %U at byte %d", s, got, r, i)
			}
		}
		if fl.trim && strings.TrimSpace(got) != got {
			t.Errorf("normalise(%q) with trim = %q: white space at an end", s, got)
		}
		if fl.collapse && strings.Contains(got, "  ") {
			t.Errorf("normalise(%q) with collapse = %q: a run of spaces", s, got)
		}
		if again := clean(got); again != got {
			t.Errorf("clean is not idempotent: %q, then %q", got, again)
		}
		if c := clean(s); isClean(s) != (c == s) {
			t.Errorf("isClean(%q) = %v, but clean gives %q", s, isClean(s), c)
		}
	})
}
