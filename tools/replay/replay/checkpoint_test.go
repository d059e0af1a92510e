package replay

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeCheckpoint(t *testing.T) {
	at := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, in string
		want     checkpoint
		err      string
	}{
		{"written by save", `{"archive":"/data/archive","since":"2026-11-27T04:00:00Z","after":"events/2026/11/27/04/x.gz","complete":true,"updated":"2026-11-27T04:00:00Z"}`,
			checkpoint{Archive: "/data/archive", Since: at, After: "events/2026/11/27/04/x.gz", Complete: true, Updated: at}, ""},
		{"from the start", `{"archive":"s3://b/p/","updated":"2026-11-27T04:00:00Z"}`, checkpoint{Archive: "s3://b/p/", Updated: at}, ""},
		{"not JSON", `archive=x`, checkpoint{}, "invalid character"},
		{"no archive", `{"after":"events/x.gz"}`, checkpoint{}, "no archive"},
		{"a key that is none", `{"archive":"a","after":"../../etc/passwd"}`, checkpoint{}, "after: invalid archive key"},
		{"bounds the wrong way", `{"archive":"a","since":"2026-11-27T05:00:00Z","until":"2026-11-27T04:00:00Z"}`, checkpoint{}, "is not before"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeCheckpoint([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("decodeCheckpoint = %+v, %v; want an error with %q", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("checkpoint (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzDecodeCheckpoint: a checkpoint file or item (from disk, from a
// table) is never trusted; whatever it holds gives a checkpoint or an
// error, and a checkpoint it accepts reads back the same once written.
func FuzzDecodeCheckpoint(f *testing.F) {
	f.Add([]byte(`{"archive":"/data/archive","since":"2026-11-27T04:00:00Z","after":"events/2026/11/27/04/x.gz","complete":true}`))
	f.Add([]byte(`{"archive":"s3://b/","until":"2026-11-27T04:00:00+02:00"}`))
	f.Add([]byte(`{"archive":"a","after":"a//b"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeCheckpoint(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("marshal %+v: %v", c, err)
		}
		again, err := decodeCheckpoint(out)
		if err != nil {
			t.Fatalf("a checkpoint written from %q does not read back: %v", b, err)
		}
		if !again.same(c) || again.After != c.After || again.Complete != c.Complete || !again.Updated.Equal(c.Updated) {
			t.Errorf("round trip of %q: %+v, then %+v", b, c, again)
		}
	})
}

func TestProgressLine(t *testing.T) {
	start := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	m := newMeter(start)
	m.events.Store(1_234_567)
	m.read.Store(25 << 20)
	now := start.Add(10 * time.Second)
	if got, want := m.line(now, start.Add(9*time.Second), 1_134_567), "replay: 1,234,567 events, 100,000 events/s, 25.0 MiB read (listing the archive…)"; got != want {
		t.Errorf("line before the listing =\n%q, want\n%q", got, want)
	}
	m.total.Store(100 << 20)
	if got, want := m.line(now, start.Add(9*time.Second), 1_134_567), "replay: 1,234,567 events, 100,000 events/s, 25.0 MiB of 100.0 MiB (25%), ETA 30s"; got != want {
		t.Errorf("line =\n%q, want\n%q", got, want)
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", -1234567: "-1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int64]string{512: "512 B", 1536: "1.5 KiB", 3 << 30: "3.0 GiB"} {
		if got := bytesString(n); got != want {
			t.Errorf("bytesString(%d) = %q, want %q", n, got, want)
		}
	}
}
