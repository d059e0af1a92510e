package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

// The envelope is read by a small scanner instead of a second
// encoding/json pass: the consumer decodes every record of every batch, and
// this halves Decode's time and allocations (see BENCHMARKS.md). Only the
// top-level object is checked and scanned here: data's value is only
// delimited, and its JSON is checked once, by the decoder of its version
// or, when the event fails before that, by Decode's failure path (a data
// value that a later one repeats is checked here, before it is dropped).

// envelope is the scanned top level of an event. Its strings share one
// copy of the input where they need no unescaping.
type envelope struct {
	specVersion, id, source, typ, runID, subject, dataContentType string
	schemaVersion                                                 int
	time                                                          time.Time
	data                                                          []byte // nil: absent
	// dataText is data as a substring of the one copy of the input, for
	// decoders that take their strings from it.
	dataText string
	// attrErr is the first attribute whose value has the wrong JSON type.
	attrErr error
}

// scanEnvelope reads the top-level attributes of raw. It checks the JSON
// syntax of everything but data's content, which the data decoder checks
// (so data is scanned once, not twice). Attribute names match exactly,
// after unescaping (CloudEvents names are lowercase, so "Subject" is another
// attribute, unlike in encoding/json's case-insensitive struct match);
// unknown attributes (extensions) are ignored; a repeated attribute keeps
// its last value, as encoding/json does. A null attribute is absent, as in
// CloudEvents, also when it repeats one: "id":"x","id":null has no id and
// fails as missing, where encoding/json's struct decoding would keep "x"
// (reading into a map, it agrees).
func scanEnvelope(raw []byte) (envelope, error) {
	var env envelope
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		if json.Valid(raw) {
			return env, errors.New("not a JSON object")
		}
		return env, syntaxErr(raw)
	}
	// One string backs every attribute that needs no unescaping.
	s := string(raw)
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return env, trailing(raw, i+1)
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return env, syntaxErr(raw)
		}
		kEnd, plain := plainString(raw, i)
		if kEnd > len(raw) || !plain && !validString(raw[i:kEnd]) {
			return env, syntaxErr(raw)
		}
		// The name as a substring of s: no allocation.
		key := s[i+1 : kEnd-1]
		if !plain && strings.IndexByte(key, '\\') >= 0 {
			// An escaped name means what it unescapes to ("\u0069d"
			// is "id"), as in encoding/json. Rare: pay only here.
			var k string
			if err := json.Unmarshal(raw[i:kEnd], &k); err != nil {
				return env, syntaxErr(raw)
			}
			key = k
		}
		i = skipSpace(raw, kEnd)
		if i >= len(raw) || raw[i] != ':' {
			return env, syntaxErr(raw)
		}
		vStart := skipSpace(raw, i+1)
		var vEnd int
		plain = false // a plain string: valid, and its content is its value
		if vStart < len(raw) && raw[vStart] == '"' {
			vEnd, plain = plainString(raw, vStart)
		} else {
			vEnd = valueEnd(raw, vStart)
		}
		if vEnd > len(raw) || vStart == vEnd {
			return env, syntaxErr(raw)
		}
		val := raw[vStart:vEnd]
		if key == "data" && env.data != nil && !json.Valid(env.data) {
			// A repeated data: the earlier value is about to be
			// overwritten unchecked, but encoding/json would reject
			// the text for it. Rare, so checked only here.
			return env, syntaxErr(raw)
		}
		if key == "data" && (val[0] == '{' || val[0] == '[') {
			env.data = val // checked by the data decoder
			env.dataText = s[vStart:vEnd]
		} else if !plain && !validValue(val) {
			return env, syntaxErr(raw)
		}
		str := func(name string) string {
			if plain {
				return s[vStart+1 : vEnd-1]
			}
			return env.str(name, s, vStart, vEnd)
		}
		switch key {
		case "specversion":
			env.specVersion = str("specversion")
		case "id":
			env.id = str("id")
		case "source":
			env.source = str("source")
		case "type":
			env.typ = str("type")
		case "runid":
			env.runID = str("runid")
		case "subject":
			env.subject = str("subject")
		case "datacontenttype":
			env.dataContentType = str("datacontenttype")
		case "schemaversion":
			env.schemaVersion = 0
			if string(val) == "null" {
				break
			}
			n, err := strconv.Atoi(string(val))
			if err != nil {
				env.setErr(fmt.Errorf("schemaversion: %s is not an integer", text.Clip(string(val), maxQuoted)))
			}
			env.schemaVersion = n
		case "time":
			env.time = time.Time{}
			if string(val) == "null" {
				break
			}
			if val[0] != '"' {
				env.setErr(errors.New("time: not a string"))
				break
			}
			t, err := time.Parse(time.RFC3339Nano, str("time"))
			if err != nil {
				env.setErr(fmt.Errorf("time: %q is not an RFC 3339 time", text.Clip(string(val), maxQuoted)))
			}
			env.time = t
		case "data":
			if val[0] != '{' && val[0] != '[' {
				env.data = val
			}
		}
		i = skipSpace(raw, vEnd)
		if i >= len(raw) {
			return env, syntaxErr(raw)
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			return env, trailing(raw, i+1)
		default:
			return env, syntaxErr(raw)
		}
	}
}

// trailing accepts only white space after the top-level object.
func trailing(raw []byte, i int) error {
	if skipSpace(raw, i) != len(raw) {
		return syntaxErr(raw)
	}
	return nil
}

// syntaxErr returns encoding/json's description of raw's syntax error, with
// its offset. Only failures pay for it.
func syntaxErr(raw []byte) error {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	return errors.New("invalid JSON")
}

// validString reports whether b (a JSON string with its quotes) is valid:
// printable ASCII without escapes is checked here, anything else by
// encoding/json.
func validString[T ~string | ~[]byte](b T) bool {
	if len(b) < 2 || b[len(b)-1] != '"' {
		return false
	}
	for i := 1; i < len(b)-1; i++ {
		if c := b[i]; c < 0x20 || c == '\\' || c >= 0x80 {
			return json.Valid([]byte(b))
		}
	}
	return true
}

// validValue reports whether b is one valid JSON value.
func validValue[T ~string | ~[]byte](b T) bool {
	switch b[0] {
	case '"':
		return validString(b)
	case 't':
		return string(b) == "true"
	case 'f':
		return string(b) == "false"
	case 'n':
		return string(b) == "null"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return number(string(b))
	}
	return json.Valid([]byte(b))
}

func (env *envelope) setErr(err error) {
	if env.attrErr == nil {
		env.attrErr = err
	}
}

// str returns the JSON string at s[start:end] unquoted; null is "". Any
// other JSON type records an attribute error.
func (env *envelope) str(name, s string, start, end int) string {
	v := s[start:end]
	if v == "null" {
		return ""
	}
	if v[0] != '"' {
		env.setErr(fmt.Errorf("%s: not a string", name))
		return ""
	}
	inner := v[1 : len(v)-1]
	for j := 0; j < len(inner); j++ {
		if inner[j] == '\\' || inner[j] >= 0x80 {
			// Escapes, or non-ASCII that may be invalid UTF-8 (which
			// encoding/json replaces): let encoding/json do it.
			var out string
			if err := json.Unmarshal([]byte(v), &out); err != nil {
				env.setErr(fmt.Errorf("%s: %w", name, err))
			}
			return out
		}
	}
	return inner
}

func skipSpace[T ~string | ~[]byte](b T, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// plainString returns the index just past the JSON string starting at
// b[i] (len(b)+1 if it does not end) and whether it is plain: no escape,
// no control character and no byte above 0x7f. A plain string is valid
// JSON and its value is its content; any other is only delimited, and its
// caller checks it.
func plainString[T ~string | ~[]byte](b T, i int) (end int, plain bool) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return stringEnd(b, i), false
		}
	}
	return len(b) + 1, false
}

// stringEnd returns the index just past the JSON string starting at b[i],
// or len(b)+1 if it does not end.
func stringEnd[T ~string | ~[]byte](b T, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b) + 1
}

// valueEnd returns the index just past the JSON value starting at b[i],
// or len(b)+1 if it does not end. The value's content is not checked.
func valueEnd[T ~string | ~[]byte](b T, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = stringEnd(b, j) - 1
				if j >= len(b) {
					return len(b) + 1
				}
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b) + 1
	}
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
		j++
	}
	return j
}
