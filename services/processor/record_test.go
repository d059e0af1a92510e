package processor

import (
	"strings"
	"testing"
	"unicode/utf8"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
)

func TestShardID(t *testing.T) {
	tests := []struct {
		name, eventID, seq, want string
	}{
		{"lambda event id", "shardId-000000000006:4959033827", "4959033827", "shardId-000000000006"},
		{"shard id with a colon", "shardId-00:06:4959", "4959", "shardId-00:06"},
		{"other sequence number, shard prefix", "shardId-000000000001:123", "456", "shardId-000000000001"},
		{"no event id", "", "4959", ""},
		{"foreign event id", "abc", "4959", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := lambdaevents.KinesisEventRecord{EventID: tc.eventID, Kinesis: lambdaevents.KinesisRecord{SequenceNumber: tc.seq}}
			if got := shardID(&rec); got != tc.want {
				t.Errorf("shardID(%q, %q) = %q, want %q", tc.eventID, tc.seq, got, tc.want)
			}
		})
	}
}

func TestFailureIDs(t *testing.T) {
	const evID, run = "bcadddeb-75eb-5e67-8998-ecdd34e77708", "run-20261127-042000-3f9a2c1b"
	tests := []struct {
		name string
		raw  string
		want ids
	}{
		{"not JSON", `{"id":"x"`, ids{}},
		{"unknown version of a movie event",
			`{"specversion":"1.0","id":"` + evID + `","source":"https://a.example/","type":"movie.observed","schemaversion":9,"runid":"` + run + `","time":"2026-11-27T04:20:00Z","subject":"a-1","data":{}}`,
			ids{eventID: evID, runID: run, movie: true}},
		{"run id of the wrong JSON type", `{"id":"` + evID + `","runid":5,"type":"movie.observed"}`,
			ids{eventID: evID, movie: true}},
		{"ids with spaces are dropped", `{"id":"a b","runid":"r\n1","type":"movie.observed"}`, ids{movie: true}},
		{"overlong run id is dropped", `{"id":"e","runid":"` + strings.Repeat("r", events.MaxRunIDLen+1) + `"}`, ids{eventID: "e"}},
		{"other type", `{"id":"e","runid":"r","type":"scrape.completed"}`, ids{eventID: "e", runID: "r"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := events.Decode([]byte(tc.raw))
			if err == nil {
				t.Fatal("test input decodes")
			}
			got := failureIDs(err, []byte(tc.raw))
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(ids{})); diff != "" {
				t.Errorf("failureIDs (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzFailureIDs: whatever a record holds, the ids taken from it are
// empty or well-formed tokens short enough for table keys.
func FuzzFailureIDs(f *testing.F) {
	f.Add([]byte(`{"id":"e","runid":"r","type":"movie.observed","schemaversion":3}`))
	f.Add([]byte(`{"id":5,"runid":["r"],"type":null}`))
	f.Add([]byte("\xff\xfe"))
	f.Add([]byte(`{"id":"\u0000","runid":"\ud800"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, err := events.Decode(raw)
		if err == nil {
			return
		}
		id := failureIDs(err, raw)
		for _, s := range []struct {
			v   string
			max int
		}{{id.eventID, events.MaxIDLen}, {id.runID, events.MaxRunIDLen}} {
			if s.v == "" {
				continue
			}
			if len(s.v) > s.max || !utf8.ValidString(s.v) || strings.ContainsFunc(s.v, func(r rune) bool { return r <= ' ' }) {
				t.Errorf("id %q is not a token", s.v)
			}
		}
	})
}
