package embedded

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

var codecT0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

func TestCodecRoundTrip(t *testing.T) {
	m := store.Movie{ID: "tt1", Title: "T", Year: -44, Rank: 1, Rating: 9.25, Votes: 1 << 40, Director: "D",
		Genres: []string{"a", ""}, RuntimeMinutes: 90, DetailURL: "u", Source: "s", FirstSeen: codecT0,
		LastRunID: "r", LastEventID: "e", LastEventTime: codecT0.Add(-time.Hour)}
	gotM, err := decodeMovie(encodeMovie(m))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, gotM); diff != "" {
		t.Errorf("movie (-want +got):\n%s", diff)
	}
	r := store.Run{ID: "r", Source: "s", StartedAt: codecT0, FinishedAt: codecT0, Completed: true, Published: 3,
		PublishFailed: 1, Skipped: 2, Pages: 4, Unchanged: true, DurationMs: 5, Error: "x", Processed: 6, Failed: 7}
	gotR, err := decodeRun(encodeRun(r))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, gotR); diff != "" {
		t.Errorf("run (-want +got):\n%s", diff)
	}
	e := store.ErrorItem{ID: "i", Stage: store.StageValidate, Reason: "r", EventID: "e", RunID: "r", Payload: []byte{0, 1},
		PayloadSize: 9, ShardID: "s", SequenceNumber: "1", PartitionKey: "p", StreamARN: "a", Condition: "c",
		Attempts: 3, FirstFailure: codecT0, LastFailure: codecT0, ExpiresAt: codecT0.Truncate(time.Second)}
	gotE, err := decodeError(encodeError(e))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(e, gotE); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
}

func TestCodecRejects(t *testing.T) {
	valid := encodeMovie(store.Movie{ID: "tt1", LastEventTime: codecT0})
	tests := map[string][]byte{
		"empty":          nil,
		"other version":  append([]byte{9}, valid[1:]...),
		"other kind":     encodeRun(store.Run{ID: "r"}),
		"truncated":      valid[:len(valid)-1],
		"trailing bytes": append(append([]byte(nil), valid...), 0),
	}
	for name, v := range tests {
		if _, err := decodeMovie(v); err == nil {
			t.Errorf("%s: decoded without an error", name)
		}
	}
}

// FuzzDecode feeds arbitrary bytes (a corrupt or foreign data file) to every
// decoder: they return an error or a value that encodes back to the same
// bytes, and never panic.
func FuzzDecode(f *testing.F) {
	f.Add(encodeMovie(store.Movie{ID: "tt1", Genres: []string{"x"}, LastEventTime: codecT0}))
	f.Add(encodeRun(store.Run{ID: "r", StartedAt: codecT0}))
	f.Add(encodeError(store.ErrorItem{ID: "e", Payload: []byte("p"), ExpiresAt: codecT0.Truncate(time.Second)}))
	f.Add(encodeLease(lease{Holder: "h", Until: codecT0}, 5))
	f.Add(encodePage(store.PageState{URL: "u", FetchedAt: codecT0}))
	f.Add(encodeMarker(marker{Counter: store.CounterProcessed, Digest: "d"}, 7))
	f.Add(indexValue("id"))
	f.Add(encodeErrorListing(store.ErrorItem{ID: "e", Payload: []byte("p"), Resolved: codecT0}))
	f.Add(encodeObservation(observation{RunID: "r", Rank: 3, Rating: 8.5, Votes: 9, Changed: true}))
	for _, v := range version1Records() {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		expiresAt(v)
		if m, err := decodeMovie(v); err == nil {
			if again, err := decodeMovie(encodeMovie(m)); err != nil || !cmp.Equal(m, again) {
				t.Errorf("movie does not round-trip: %+v, %v", m, err)
			}
		}
		if r, err := decodeRun(v); err == nil {
			if again, err := decodeRun(encodeRun(r)); err != nil || !cmp.Equal(r, again) {
				t.Errorf("run does not round-trip: %+v, %v", r, err)
			}
		}
		if e, err := decodeErrorListing(v); err == nil {
			if again, err := decodeErrorListing(encodeErrorListing(e)); err != nil || !cmp.Equal(e, again) {
				t.Errorf("error listing entry does not round-trip: %+v, %v", e, err)
			}
		}
		if o, err := decodeObservation(v); err == nil {
			if again, err := decodeObservation(encodeObservation(o)); err != nil || !cmp.Equal(o, again, cmpopts.EquateNaNs()) {
				t.Errorf("observation does not round-trip: %+v, %v", o, err)
			}
		}
		if m, exp, err := decodeMarker(v); err == nil {
			if again, exp2, err := decodeMarker(encodeMarker(m, exp)); err != nil || again != m || exp2 != exp {
				t.Errorf("marker does not round-trip: %+v, %v", m, err)
			}
		}
		decodeError(v)
		decodeLease(v)
		decodePage(v)
		decodeIndex(v)
	})
}

// version1Records are records as codec version 1 wrote them: no digest,
// trigger, marker digest or resolved time.
func version1Records() map[string][]byte {
	v1 := func(b []byte, trailing int) []byte {
		b = append([]byte(nil), b[:len(b)-trailing]...)
		b[0] = 1
		return b
	}
	return map[string][]byte{
		"movie":  v1(encodeMovie(store.Movie{ID: "tt1", Genres: []string{"x"}, LastEventTime: codecT0}), 1),
		"run":    v1(encodeRun(store.Run{ID: "r", StartedAt: codecT0, Processed: 2}), 1),
		"marker": v1(encodeMarker(marker{Counter: store.CounterFailed}, 7), 1),
		"error":  v1(encodeError(store.ErrorItem{ID: "e", Payload: []byte("p"), ExpiresAt: codecT0.Truncate(time.Second)}), 1),
	}
}

func TestCodecReadsVersion1(t *testing.T) {
	recs := version1Records()
	m, err := decodeMovie(recs["movie"])
	if diff := cmp.Diff(store.Movie{ID: "tt1", Genres: []string{"x"}, LastEventTime: codecT0}, m); err != nil || diff != "" {
		t.Errorf("movie (-want +got), %v:\n%s", err, diff)
	}
	r, err := decodeRun(recs["run"])
	if diff := cmp.Diff(store.Run{ID: "r", StartedAt: codecT0, Processed: 2}, r); err != nil || diff != "" {
		t.Errorf("run (-want +got), %v:\n%s", err, diff)
	}
	mk, exp, err := decodeMarker(recs["marker"])
	if mk != (marker{Counter: store.CounterFailed}) || exp != 7 || err != nil {
		t.Errorf("marker = %+v, %d, %v", mk, exp, err)
	}
	e, err := decodeError(recs["error"])
	if err != nil || e.ID != "e" || string(e.Payload) != "p" || !e.Resolved.IsZero() {
		t.Errorf("error = %+v, %v", e, err)
	}
	// The kinds version 2 added do not exist in version 1.
	obs := encodeObservation(observation{RunID: "r"})
	obs[0] = 1
	if _, err := decodeObservation(obs); err == nil {
		t.Errorf("a version 1 observation decoded")
	}
}
