package query

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// encodingJSON is v as writeOK encodes bodies without appendJSON.
func encodingJSON(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestHistoryAppendJSON(t *testing.T) {
	tests := []struct {
		name string
		l    historyList
	}{
		{"empty", historyList{Items: []historyPoint{}}},
		{"nil items", historyList{}},
		{"full", historyList{Items: []historyPoint{
			{ObservedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), RunID: "run-1", EventID: "evt-1", Rank: 2, Rating: 9.2, Votes: 2000000},
			{ObservedAt: time.Date(2026, 3, 1, 11, 0, 0, 5e8, time.UTC), EventID: "evt-0", Rating: 0},
			{ObservedAt: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), EventID: "evt-0", Rating: 0},
			{ObservedAt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), EventID: "evt-0", Rating: 0},
		}, NextCursor: "AQ_-x"}},
		{"text to escape", historyList{Items: []historyPoint{
			{RunID: "a\"b\\c\n\r\t\b\f\x00\x1f<>&\u2028\u2029é€😀", EventID: "bad \xff\xfe utf-8 \xe2\x82"},
		}}},
		{"floats", historyList{Items: []historyPoint{
			{Rating: 1e-7}, {Rating: 1e21}, {Rating: 123456789012345678}, {Rating: 0}, {Rating: math.Copysign(0, -1)},
			{Rating: 5e-324}, {Rating: math.MaxFloat64}, {Rating: 0.000001}, {Rating: 1.5e-10}, {Rating: -2.5e300},
		}}},
		{"extreme ints", historyList{Items: []historyPoint{{Rank: math.MinInt, Votes: math.MaxInt}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := encodingJSON(t, tt.l)
			if got := tt.l.appendJSON(nil); !bytes.Equal(want, got) {
				t.Errorf("appendJSON =\n%s\nencoding/json:\n%s", got, want)
			}
		})
	}
}

// FuzzHistoryAppendJSON checks that appendJSON writes what encoding/json
// writes, byte for byte.
func FuzzHistoryAppendJSON(f *testing.F) {
	f.Add(int64(1772366400), int64(0), "run-1", "evt-1", 2, 9.2, 2000000, "")
	f.Add(int64(-62135596800), int64(1), "a\"<\u2028\xff", "\x00\x7f", -1, 1e-7, 0, "cursor")
	f.Add(int64(253402300799), int64(999999999), "", "", 0, 1e21, 1, "\n")
	f.Fuzz(func(t *testing.T, sec, nsec int64, runID, eventID string, rank int, rating float64, votes int, cursor string) {
		if math.IsNaN(rating) || math.IsInf(rating, 0) {
			t.Skip("the store keeps finite ratings only")
		}
		at := time.Unix(sec, nsec).UTC()
		if y := at.Year(); y < 1 || y > 9999 {
			t.Skip("the store keeps years 1-9999 only")
		}
		l := historyList{Items: []historyPoint{
			{ObservedAt: at, RunID: runID, EventID: eventID, Rank: rank, Rating: rating, Votes: votes},
			{ObservedAt: at.Truncate(time.Second), EventID: runID, Rating: -rating},
		}, NextCursor: cursor}
		want := encodingJSON(t, l)
		if got := l.appendJSON(nil); !bytes.Equal(want, got) {
			t.Fatalf("appendJSON =\n%q\nencoding/json:\n%q", got, want)
		}
	})
}
