package events

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files of the latest versions")

var (
	goldenTime = time.Date(2026, 11, 27, 4, 20, 0, 123_000_000, time.UTC)
	goldenRun  = "run-20261127-042000-3f9a2c1b"
	goldenSrc  = "https://films.example.org/site/chart?page=1"
)

// examples holds one event of every published (type, version). The latest
// versions' goldens are written from these with -update; older versions'
// goldens are frozen: they are what was really published.
var examples = map[Kind]Event{
	{TypeMovieObserved, 1}: NewMovieObserved(goldenRun, goldenSrc, goldenTime, "the-godfather-1972", MovieObserved{}).with(MovieObservedV1{
		Title: "The Godfather", Year: 1972, Rank: 2, Rating: "9.2",
		DetailURL: "https://films.example.org/site/films/the-godfather-1972",
	}),
	{TypeMovieObserved, 2}: NewMovieObserved(goldenRun, goldenSrc, goldenTime, "the-godfather-1972", MovieObservedV2{
		Title: "The Godfather", Year: 1972, Rank: 2,
		Rating:   Rating{Value: 9.2, Votes: 2_031_554},
		Director: "Francis Ford Coppola", Genres: []string{"Crime", "Drama"}, RuntimeMinutes: 175,
		DetailURL: "https://films.example.org/site/films/the-godfather-1972",
	}),
	{TypeScrapeStarted, 1}: NewRunEvent(goldenRun, goldenSrc, goldenTime, ScrapeStartedV1{Profile: "movies"}),
	{TypeScrapeStarted, 2}: NewRunEvent(goldenRun, goldenSrc, goldenTime, ScrapeStartedV2{Profile: "movies", Trigger: TriggerSchedule}),
	{TypeScrapeCompleted, 1}: NewRunEvent(goldenRun, goldenSrc, goldenTime.Add(1500*time.Millisecond), ScrapeCompletedV1{
		Published: 250, Failed: 0, Skipped: 1, Pages: 5, DurationMs: 1500,
	}),
}

func (e Event) with(d Data) Event { e.Data = d; return e }

// encodeIndented is Encode's output indented for review; the bytes differ
// only in white space.
func encodeIndented(e Event) ([]byte, error) {
	b, err := Encode(e)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func goldenPath(k Kind) string {
	return filepath.Join("testdata", "golden", fmt.Sprintf("%s.v%d.json", k.Type, k.Version))
}

// TestGoldens decodes the golden event of every version ever published. A
// missing golden fails: old versions must stay decodable forever, so their
// goldens are never deleted (and -update never recreates an old one).
func TestGoldens(t *testing.T) {
	for _, k := range Published {
		t.Run(fmt.Sprintf("%s.v%d", k.Type, k.Version), func(t *testing.T) {
			ex, ok := examples[k]
			if !ok {
				t.Fatalf("no example event for published %v", k)
			}
			latest := Latest[k.Type] == k.Version
			if *update && latest {
				b, err := encodeIndented(ex)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(goldenPath(k), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			raw, err := os.ReadFile(goldenPath(k))
			if err != nil {
				t.Fatalf("golden of published version %v is missing (old versions must stay decodable): %v", k, err)
			}
			if latest {
				b, err := encodeIndented(ex)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(string(raw), string(b)); diff != "" {
					t.Errorf("encoder output differs from golden (run with -update if intended) (-golden +encoded):\n%s", diff)
				}
			}
			got, err := Decode(raw)
			if err != nil {
				t.Fatalf("Decode(golden): %v", err)
			}
			want := ex
			want.PublishedVersion = k.Version
			if want.Data, err = upcast(ex.Data); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Decode(golden) (-want +got):\n%s", diff)
			}
			if got.Data.SchemaVersion() != Latest[k.Type] {
				t.Errorf("decoded version %d, want latest %d", got.Data.SchemaVersion(), Latest[k.Type])
			}
		})
	}
}

// TestPublishedRegistry keeps Published, Latest, the decoders and the
// examples in step.
func TestPublishedRegistry(t *testing.T) {
	seen := map[Kind]bool{}
	for _, k := range Published {
		if seen[k] {
			t.Errorf("%v listed twice", k)
		}
		seen[k] = true
		if _, ok := decoders[k]; !ok {
			t.Errorf("%v has no decoder", k)
		}
		if Latest[k.Type] < k.Version {
			t.Errorf("%v is newer than Latest[%q] = %d", k, k.Type, Latest[k.Type])
		}
	}
	for typ, v := range Latest {
		if !seen[Kind{typ, v}] {
			t.Errorf("latest %s v%d is not in Published", typ, v)
		}
	}
	for k := range decoders {
		if !seen[k] {
			t.Errorf("decoder for unpublished %v", k)
		}
	}
}
