package events

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
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
		checkEnvelopeLikeMap(t, raw, e, err)
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
		// genres is omitempty: [] and an absent list are the same event
		// on the wire.
		if diff := cmp.Diff(e, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip changed the event (-first +second):\n%s", diff)
		}
	})
}

// checkEnvelopeLikeMap holds the envelope scanner to encoding/json reading
// the event into a map: member names unescaped and matched exactly, the
// last of duplicates wins, null (or "", or 0) means absent.
func checkEnvelopeLikeMap(t *testing.T, raw []byte, e Event, err error) {
	t.Helper()
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return
	}
	if err == nil {
		for name, got := range map[string]string{"id": e.ID, "source": e.Source, "runid": e.RunID, "subject": e.Subject} {
			var want string
			_ = json.Unmarshal(m[name], &want)
			if got != want {
				t.Fatalf("%q: %s = %q, encoding/json reads %q", raw, name, got, want)
			}
		}
		return
	}
	var de *DecodeError
	if !errors.As(err, &de) || !errors.Is(err, ErrMissingAttribute) {
		return
	}
	var v any
	_ = json.Unmarshal(m[de.Attribute], &v)
	if s, ok := v.(string); ok && de.Attribute == "time" {
		if tm, err := time.Parse(time.RFC3339Nano, s); err == nil && tm.IsZero() {
			return // the zero time is no time
		}
	}
	if v != nil && v != "" && v != float64(0) {
		t.Fatalf("%q: %v, but encoding/json reads %s = %s", raw, err, de.Attribute, m[de.Attribute])
	}
}
