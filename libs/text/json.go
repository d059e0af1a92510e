package text

import "unicode/utf8"

// AppendJSON appends s to dst as a JSON string, byte for byte as
// encoding/json writes it: quote and backslash escaped, control characters
// as \n, \r, \t, \b, \f or \u00XX, U+2028 and U+2029 escaped (so the result
// is also valid JavaScript), and each invalid UTF-8 byte as \ufffd. With
// escapeHTML, <, > and & are escaped too (\u003c, \u003e, \u0026), as
// json.Marshal and a json.Encoder do by default; without it, as an
// Encoder with SetEscapeHTML(false).
//
// It is for code that writes JSON by hand on a hot path (the archive's
// lines, the query service's history pages); everything else uses
// encoding/json.
func AppendJSON(dst []byte, s string, escapeHTML bool) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if plainJSON(c, escapeHTML) {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// JSONLen returns len(AppendJSON(nil, s, escapeHTML)) without building
// the string.
func JSONLen(s string, escapeHTML bool) int {
	n := 2
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			switch {
			case plainJSON(c, escapeHTML):
				n++
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
				n += 2
			default:
				n += 6
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			n += 6
		} else {
			n += size
		}
		i += size
	}
	return n
}

const hexDigits = "0123456789abcdef"

// plainJSON reports whether the ASCII byte c stands for itself in a JSON
// string.
func plainJSON(c byte, escapeHTML bool) bool {
	return c >= 0x20 && c != '"' && c != '\\' && !(escapeHTML && (c == '<' || c == '>' || c == '&'))
}
