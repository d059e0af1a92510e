package events

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestPeek(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want Identity
	}{
		{"whole event", `{"id":"e1","runid":"run-1","type":"movie.observed","data":{"year":"bad"}}`, Identity{"e1", "run-1", TypeMovieObserved}},
		{"unknown type dropped", `{"id":"e1","type":"movie.deleted"}`, Identity{ID: "e1"}},
		{"id with a space dropped", `{"id":"a b","runid":"r"}`, Identity{RunID: "r"}},
		{"wrong JSON types", `{"id":7,"runid":["r"],"type":null}`, Identity{}},
		{"too long", `{"id":"` + strings.Repeat("x", MaxIDLen+1) + `"}`, Identity{}},
		{"not JSON", `not an event`, Identity{}},
		{"array", `[{"id":"e1"}]`, Identity{}},
		{"truncated", `{"id":"e1","runid":"r`, Identity{}},
		{"empty", ``, Identity{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Peek([]byte(tt.raw))); diff != "" {
				t.Errorf("Peek (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzPeek: Peek never panics, and on every event Decode accepts it reads
// the same identity Decode does.
func FuzzPeek(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		id := Peek(raw)
		e, err := Decode(raw)
		if err != nil {
			return
		}
		if want := (Identity{e.ID, e.RunID, e.Type()}); id != want {
			t.Fatalf("Peek = %+v, Decode says %+v", id, want)
		}
	})
}

func TestFailureOf(t *testing.T) {
	enc := func(k Kind) string {
		b, err := Encode(examples[k])
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	movie, started := examples[Kind{TypeMovieObserved, 2}], examples[Kind{TypeScrapeStarted, 1}]
	movieRaw, startedRaw := enc(Kind{TypeMovieObserved, 2}), enc(Kind{TypeScrapeStarted, 1})
	tests := []struct {
		name string
		raw  string
		want Failure
	}{
		{"invalid movie data", strings.Replace(movieRaw, `"year":`, `"year":1700,"x":`, 1),
			Failure{Identity{movie.ID, movie.RunID, TypeMovieObserved}, true, true}},
		{"movie of an unknown version", strings.Replace(movieRaw, `"schemaversion":2`, `"schemaversion":9`, 1),
			Failure{Identity{movie.ID, movie.RunID, TypeMovieObserved}, true, false}},
		{"invalid run event", strings.Replace(startedRaw, `"profile":"`, `"profile":"`+strings.Repeat("p", 1000), 1),
			Failure{Identity{started.ID, started.RunID, TypeScrapeStarted}, false, true}},
		{"unknown type", `{"specversion":"1.0","id":"e1","runid":"run-1","type":"movie.deleted"}`,
			Failure{Identity: Identity{ID: "e1", RunID: "run-1"}}},
		{"not an event", `not an event`, Failure{}},
		{"not JSON", `{"id":"x"`, Failure{}},
		{"run id of the wrong JSON type", `{"id":"e1","runid":5,"type":"movie.observed"}`,
			Failure{Identity: Identity{ID: "e1", Type: TypeMovieObserved}, Movie: true}},
		{"ids with spaces are dropped", `{"id":"a b","runid":"r\n1","type":"movie.observed"}`,
			Failure{Identity: Identity{Type: TypeMovieObserved}, Movie: true}},
		{"overlong run id is dropped", `{"id":"e","runid":"` + strings.Repeat("r", MaxRunIDLen+1) + `"}`,
			Failure{Identity: Identity{ID: "e"}}},
		{"other type", `{"id":"e","runid":"r","type":"scrape.completed"}`,
			Failure{Identity: Identity{ID: "e", RunID: "r", Type: TypeScrapeCompleted}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.raw))
			if err == nil {
				t.Fatalf("Decode accepted %s", tt.raw)
			}
			if diff := cmp.Diff(tt.want, FailureOf([]byte(tt.raw), err)); diff != "" {
				t.Errorf("FailureOf (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzFailureOf: whatever a record holds, the ids taken from it are empty
// or well-formed tokens short enough for table keys.
func FuzzFailureOf(f *testing.F) {
	f.Add([]byte(`{"id":"e","runid":"r","type":"movie.observed","schemaversion":3}`))
	f.Add([]byte(`{"id":5,"runid":["r"],"type":null}`))
	f.Add([]byte("\xff\xfe"))
	f.Add([]byte(`{"id":"\u0000","runid":"\ud800"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, err := Decode(raw)
		if err == nil {
			return
		}
		fl := FailureOf(raw, err)
		for _, s := range []struct {
			v   string
			max int
		}{{fl.ID, MaxIDLen}, {fl.RunID, MaxRunIDLen}} {
			if s.v == "" {
				continue
			}
			if len(s.v) > s.max || !utf8.ValidString(s.v) || strings.ContainsFunc(s.v, func(r rune) bool { return r <= ' ' }) {
				t.Errorf("id %q is not a token", s.v)
			}
		}
		if fl.Invalid != errors.Is(err, ErrInvalid) {
			t.Errorf("Invalid = %v for %v", fl.Invalid, err)
		}
	})
}
