package query

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// jsonAppender is a response body that encodes itself, byte for byte as
// encoding/json would encode it, without reflection: writeOK appends it to
// the body instead. Only the bodies on a hot path implement it (a page of
// history is 50 small items), and a fuzz test compares each with
// encoding/json's output.
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

var _ jsonAppender = historyList{}

func (l historyList) appendJSON(b []byte) []byte {
	b = append(b, `{"items":`...)
	if l.Items == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, p := range l.Items {
			if i > 0 {
				b = append(b, ',')
			}
			b = p.appendJSON(b)
		}
		b = append(b, ']')
	}
	if l.NextCursor != "" {
		b = append(b, `,"nextCursor":`...)
		b = appendJSONString(b, l.NextCursor)
	}
	return append(b, '}')
}

func (p historyPoint) appendJSON(b []byte) []byte {
	b = append(b, `{"observedAt":"`...)
	b = p.ObservedAt.AppendFormat(b, time.RFC3339Nano) // what time.Time's MarshalJSON writes
	b = append(b, '"')
	if p.RunID != "" {
		b = append(b, `,"runId":`...)
		b = appendJSONString(b, p.RunID)
	}
	b = append(b, `,"eventId":`...)
	b = appendJSONString(b, p.EventID)
	if p.Rank != 0 {
		b = append(b, `,"rank":`...)
		b = strconv.AppendInt(b, int64(p.Rank), 10)
	}
	b = append(b, `,"rating":`...)
	b = appendJSONFloat(b, p.Rating)
	if p.Votes != 0 {
		b = append(b, `,"votes":`...)
		b = strconv.AppendInt(b, int64(p.Votes), 10)
	}
	return append(b, '}')
}

// appendJSONString appends s as encoding/json encodes a string with HTML
// escaping on (json.Encoder's default): quotes, backslashes, control
// characters, <, >, &, U+2028 and U+2029 escaped, invalid UTF-8 replaced
// by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJSONFloat appends a finite f as encoding/json encodes a float64:
// the shortest representation, in exponent form only below 1e-6 or from
// 1e21, with a one-digit negative exponent not zero-padded.
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
