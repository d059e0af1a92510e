// Package text handles text that came from outside (a page, a request, a
// stream record, an error from a dependency) before it is quoted: Clip
// shortens it for a person (an error message, a log line, an error item),
// so that no message is cut in the middle of a character and no two places
// disagree on how a cut looks; AppendJSON quotes it as a JSON string where
// JSON is written by hand, exactly as encoding/json would.
package text

import (
	"strings"
	"unicode/utf8"
)

// Ellipsis ends a clipped string: one character, three bytes.
const Ellipsis = "…"

// replacement stands for each run of invalid UTF-8 bytes, as
// strings.ToValidUTF8(s, "\uFFFD") writes it.
const replacement = "\uFFFD"

// Clip returns s as valid UTF-8, cut to at most maxBytes bytes at a rune
// boundary and then ended with Ellipsis when anything was cut:
//
//   - each run of invalid UTF-8 bytes becomes one U+FFFD (as
//     strings.ToValidUTF8 does), which counts its three bytes;
//   - the result without its Ellipsis is a prefix of that valid text, so
//     the result is at most maxBytes+len(Ellipsis) bytes long;
//   - a string that is valid and fits is returned as it is, without
//     allocating; a maxBytes below zero counts as zero.
//
// A caller whose limit must hold the ellipsis too passes
// limit-len(Ellipsis).
func Clip(s string, maxBytes int) string {
	if len(s) <= maxBytes && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(min(len(s), max(maxBytes, 0)) + len(Ellipsis))
	invalid := false // the byte before was invalid: its run has its U+FFFD
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			if !invalid {
				if b.Len()+len(replacement) > maxBytes {
					return b.String() + Ellipsis
				}
				b.WriteString(replacement)
			}
			invalid = true
			i++
			continue
		}
		invalid = false
		if b.Len()+w > maxBytes {
			return b.String() + Ellipsis
		}
		b.WriteString(s[i : i+w])
		i += w
	}
	return b.String()
}
