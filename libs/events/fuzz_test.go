package events

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecode checks that Decode never panics and that every event it accepts
// survives Encode and a second Decode unchanged (after upcasting, the
// published version becomes the latest one).
func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"golden", "invalid"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(`{"specversion":"1.0"}`))
	f.Add([]byte(`{"data":{}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, err := Decode(raw)
		// Decode scans the envelope itself; encoding/json is the oracle
		// for what is valid JSON.
		if valid := json.Valid(raw); !valid && len(raw) <= MaxEncodedSize && !errors.Is(err, ErrMalformed) {
			t.Fatalf("invalid JSON %q: Decode error = %v, want ErrMalformed", raw, err)
		}
		if err != nil {
			if _, ok := err.(*DecodeError); !ok {
				t.Fatalf("error %T is not a *DecodeError: %v", err, err)
			}
			return
		}
		b, err := Encode(e)
		if err != nil {
			t.Fatalf("Encode of a decoded event failed: %v\ninput: %q", err, raw)
		}
		again, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(Encode(e)) failed: %v\nencoded: %s", err, b)
		}
		e.PublishedVersion = e.Data.SchemaVersion()
		if diff := cmp.Diff(e, again); diff != "" {
			t.Fatalf("round trip changed the event (-first +second):\n%s", diff)
		}
	})
}
