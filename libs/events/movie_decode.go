package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// movie.observed v2 is by far the most common record, so its data has a
// decoder of its own instead of encoding/json's reflection: it reads the
// same JSON into the same struct (a differential fuzz test holds it to
// encoding/json: same result, same class of error), takes its strings from
// the one copy of the input that Decode makes, and so halves the cost of
// decoding a record.

// errDataSyntax marks data that is not valid JSON (a malformed event, not
// an invalid one).
var errDataSyntax = errors.New("invalid JSON in data")

// dataTypeError is a JSON value of the wrong type for its field, as
// encoding/json's UnmarshalTypeError.
type dataTypeError struct{ field, value string }

func (e *dataTypeError) Error() string {
	return fmt.Sprintf("json: cannot unmarshal %s into field %s", e.value, e.field)
}

// movieV2Fields are the JSON names of MovieObservedV2, for encoding/json's
// case-insensitive match of keys that are not exact.
var movieV2Fields = []string{"title", "year", "rank", "rating", "director", "genres", "runtimeMinutes", "detailUrl"}

// decodeMovieV2 reads the JSON object s[start:end] into a MovieObservedV2.
// Strings without escapes are substrings of s.
func decodeMovieV2(s string) (MovieObservedV2, error) {
	var m MovieObservedV2
	var typeErr error
	d := dataDecoder{s: s}
	err := d.object(func(key string) error {
		name := matchField(key, movieV2Fields)
		var err error
		switch name {
		case "title":
			err = d.str(&m.Title, name)
		case "director":
			err = d.str(&m.Director, name)
		case "detailUrl":
			err = d.str(&m.DetailURL, name)
		case "year":
			err = d.int(&m.Year, name)
		case "rank":
			err = d.int(&m.Rank, name)
		case "runtimeMinutes":
			err = d.int(&m.RuntimeMinutes, name)
		case "genres":
			err = d.strings(&m.Genres, name)
		case "rating":
			err = d.rating(&m.Rating)
		default:
			err = d.skip()
		}
		// Like encoding/json, go on after a type error and report the
		// first one at the end; a syntax error stops at once.
		if _, ok := err.(*dataTypeError); ok {
			if typeErr == nil {
				typeErr = err
			}
			return nil
		}
		return err
	})
	if err != nil {
		return MovieObservedV2{}, err
	}
	if d.i = skipSpace(d.s, d.i); d.i != len(d.s) {
		return MovieObservedV2{}, errDataSyntax
	}
	if typeErr != nil {
		return MovieObservedV2{}, typeErr
	}
	return m, nil
}

// matchField returns the field a key names: an exact match, else a
// case-insensitive one (as encoding/json does), else "".
func matchField(key string, fields []string) string {
	for _, f := range fields {
		if key == f {
			return f
		}
	}
	for _, f := range fields {
		if strings.EqualFold(key, f) {
			return f
		}
	}
	return ""
}

type dataDecoder struct {
	s string
	i int
}

// object reads an object, calling field for each key with d.i at its value.
func (d *dataDecoder) object(field func(key string) error) error {
	d.i = skipSpace(d.s, d.i)
	if d.i >= len(d.s) || d.s[d.i] != '{' {
		return errDataSyntax
	}
	d.i = skipSpace(d.s, d.i+1)
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		return nil
	}
	for {
		var key string
		if err := d.str(&key, ""); err != nil {
			return errDataSyntax // a key must be a string
		}
		d.i = skipSpace(d.s, d.i)
		if d.i >= len(d.s) || d.s[d.i] != ':' {
			return errDataSyntax
		}
		d.i = skipSpace(d.s, d.i+1)
		if err := field(key); err != nil {
			return err
		}
		d.i = skipSpace(d.s, d.i)
		if d.i >= len(d.s) {
			return errDataSyntax
		}
		switch d.s[d.i] {
		case ',':
			d.i = skipSpace(d.s, d.i+1)
		case '}':
			d.i++
			return nil
		default:
			return errDataSyntax
		}
	}
}

// value returns the next JSON value's text and moves past it.
func (d *dataDecoder) value() (string, error) {
	end := valueEnd(d.s, d.i)
	if end > len(d.s) || end == d.i {
		return "", errDataSyntax
	}
	v := d.s[d.i:end]
	d.i = end
	return v, nil
}

// skip moves past a value, checking it is valid JSON.
func (d *dataDecoder) skip() error {
	v, err := d.value()
	if err != nil || !validValue(v) {
		return errDataSyntax
	}
	return nil
}

// kind names a JSON value's type as encoding/json's errors do.
func kind(v string) string {
	switch v[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	}
	return "number"
}

// str reads a string (null leaves *dst as it is, as encoding/json does).
func (d *dataDecoder) str(dst *string, field string) error {
	if d.i < len(d.s) && d.s[d.i] == '"' {
		if end, plain := plainString(d.s, d.i); plain {
			*dst = d.s[d.i+1 : end-1]
			d.i = end
			return nil
		}
	}
	v, err := d.value()
	if err != nil {
		return err
	}
	if v[0] != '"' {
		return other(v, field)
	}
	inner := v[1 : len(v)-1]
	for j := 0; j < len(inner); j++ {
		if c := inner[j]; c < 0x20 || c == '\\' || c >= utf8.RuneSelf {
			// Escapes, control characters (invalid) or non-ASCII (which
			// may be invalid UTF-8, which encoding/json replaces).
			if !validString(v) {
				return errDataSyntax
			}
			var out string
			if err := json.Unmarshal([]byte(v), &out); err != nil {
				return errDataSyntax
			}
			*dst = out
			return nil
		}
	}
	if len(v) < 2 || v[len(v)-1] != '"' {
		return errDataSyntax
	}
	*dst = inner
	return nil
}

// number checks v is a JSON number.
func number(v string) bool {
	i := 0
	if i < len(v) && v[i] == '-' {
		i++
	}
	switch {
	case i < len(v) && v[i] == '0':
		i++
	case i < len(v) && v[i] >= '1' && v[i] <= '9':
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(v) && v[i] == '.' {
		i++
		if i >= len(v) || v[i] < '0' || v[i] > '9' {
			return false
		}
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			i++
		}
		if i >= len(v) || v[i] < '0' || v[i] > '9' {
			return false
		}
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
	}
	return i == len(v)
}

// other handles a value that is not of its field's JSON type: invalid
// JSON is a syntax error, null leaves the field as it is (as encoding/json
// does), anything else is a type error.
func other(v, field string) error {
	if !validValue(v) {
		return errDataSyntax
	}
	if v == "null" {
		return nil
	}
	return &dataTypeError{field, kind(v)}
}

// numberValue reads the next value if it is a JSON number; ok is false
// when it is not, and err then says why (nil for null).
func (d *dataDecoder) numberValue(field string) (v string, ok bool, err error) {
	if v, err = d.value(); err != nil {
		return "", false, err
	}
	if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		return "", false, other(v, field)
	}
	if !number(v) {
		return "", false, errDataSyntax
	}
	return v, true, nil
}

// int64 reads an integer that fits in bits (null leaves *dst).
func (d *dataDecoder) int64(dst *int64, field string, bits int) error {
	v, ok, err := d.numberValue(field)
	if !ok {
		return err
	}
	n, err := strconv.ParseInt(v, 10, bits)
	if err != nil { // a fraction, an exponent or too large: not an int
		return &dataTypeError{field, "number " + v}
	}
	*dst = n
	return nil
}

func (d *dataDecoder) int(dst *int, field string) error {
	n := int64(*dst)
	if err := d.int64(&n, field, strconv.IntSize); err != nil {
		return err
	}
	*dst = int(n)
	return nil
}

// float reads a float64 (null leaves *dst).
func (d *dataDecoder) float(dst *float64, field string) error {
	v, ok, err := d.numberValue(field)
	if !ok {
		return err
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) {
		return &dataTypeError{field, "number " + v}
	}
	*dst = f
	return nil
}

// rating reads the rating object into r, keeping fields it does not name
// (encoding/json decodes into the existing struct).
func (d *dataDecoder) rating(r *Rating) error {
	if d.i < len(d.s) && d.s[d.i] != '{' {
		v, err := d.value()
		if err != nil {
			return errDataSyntax
		}
		return other(v, "rating")
	}
	var typeErr error
	err := d.object(func(key string) error {
		var err error
		switch matchField(key, []string{"value", "votes"}) {
		case "value":
			err = d.float(&r.Value, "rating.value")
		case "votes":
			err = d.int64(&r.Votes, "rating.votes", 64)
		default:
			err = d.skip()
		}
		if _, ok := err.(*dataTypeError); ok {
			if typeErr == nil {
				typeErr = err
			}
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	return typeErr
}

// strings reads an array of strings into *dst exactly as encoding/json
// does, which matters when genres repeats: null sets *dst to nil; an array
// is decoded into *dst's backing array (up to its capacity), where a null
// element leaves what was there; [] gives a new empty slice.
func (d *dataDecoder) strings(dst *[]string, field string) error {
	if d.i < len(d.s) && d.s[d.i] != '[' {
		v, err := d.value()
		if err != nil {
			return errDataSyntax
		}
		if v == "null" {
			*dst = nil
			return nil
		}
		return other(v, field)
	}
	d.i = skipSpace(d.s, d.i+1)
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		*dst = []string{}
		return nil
	}
	out := *dst
	var typeErr error
	for n := 0; ; n++ {
		if n == cap(out) {
			// Grown storage starts zeroed, as reflect's Grow leaves it.
			grown := make([]string, n, max(4, 2*n))
			copy(grown, out)
			out = grown
		}
		out = out[:n+1]
		err := d.str(&out[n], field) // null leaves out[n]
		_, isType := err.(*dataTypeError)
		switch {
		case isType:
			if typeErr == nil {
				typeErr = err
			}
		case err != nil:
			return err
		}
		d.i = skipSpace(d.s, d.i)
		if d.i >= len(d.s) {
			return errDataSyntax
		}
		switch d.s[d.i] {
		case ',':
			d.i = skipSpace(d.s, d.i+1)
		case ']':
			d.i++
			*dst = out
			return typeErr
		default:
			return errDataSyntax
		}
	}
}
