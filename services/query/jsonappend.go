package query

import (
	"math"
	"strconv"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
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
		b = text.AppendJSON(b, l.NextCursor, true)
	}
	return append(b, '}')
}

func (p historyPoint) appendJSON(b []byte) []byte {
	b = append(b, `{"observedAt":"`...)
	b = p.ObservedAt.AppendFormat(b, time.RFC3339Nano) // what time.Time's MarshalJSON writes
	b = append(b, '"')
	if p.RunID != "" {
		b = append(b, `,"runId":`...)
		b = text.AppendJSON(b, p.RunID, true)
	}
	b = append(b, `,"eventId":`...)
	b = text.AppendJSON(b, p.EventID, true)
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
