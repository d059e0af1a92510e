package events

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
