package replay

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
)

// fixture is one synthetic stream, its archive, the live tables the
// pipeline made of it and a reference replay, shared by the tests (built
// once: each replay takes a fraction of a second).
var fixture = sync.OnceValue(func() (f *fixtureData) {
	f = &fixtureData{}
	defer func() {
		if p := recover(); p != nil {
			ff, ok := p.(fixtureFailure)
			if !ok {
				panic(p)
			}
			f.err = errors.New(ff.msg)
		}
	}()
	if f.root, f.err = os.MkdirTemp("", "replay-test-"); f.err != nil {
		return f
	}
	t := fixtureT{}
	f.stream = newStream(smallSpec)
	f.archive = filepath.Join(f.root, "archive")
	f.archived = f.stream.writeArchive(t, f.archive)
	f.live = mkdir(t, filepath.Join(f.root, "live"))
	f.stream.runLive(t, f.live, nil)
	f.reference = filepath.Join(f.root, "reference")
	if _, err := replayInto(t, f.archive, f.reference, Options{}); err != nil {
		t.Fatal(err)
	}
	return f
})

type fixtureData struct {
	root, archive, live, reference string
	stream                         *stream
	archived                       int
	err                            error
}

func getFixture(t *testing.T) *fixtureData {
	t.Helper()
	f := fixture()
	if f.err != nil {
		t.Fatalf("fixture: %v", f.err)
	}
	return f
}

func TestMain(m *testing.M) {
	code := awsemu.Main(m)
	if f := fixture(); f.root != "" {
		os.RemoveAll(f.root)
	}
	os.Exit(code)
}

func TestReplayEqualsLive(t *testing.T) {
	f := getFixture(t)
	rep, err := verifyDirs(t, f.live, f.reference)
	if err != nil || !rep.Same() {
		t.Fatalf("verify = %v, %d differences; want the same tables:\n%v", err, len(rep.Differences), rep.Differences)
	}
	want := Counts{Live: 150, Rebuilt: 150}
	if diff := cmp.Diff(want, rep.Movies); diff != "" {
		t.Errorf("movies compared (-want +got):\n%s", diff)
	}
	if rep.Runs.Live != smallSpec.Runs || rep.History.Live != 150 || rep.Errors.Live == 0 {
		t.Errorf("compared %+v runs, %+v histories, %+v errors; want every run, every movie's history and the poison records", rep.Runs, rep.History, rep.Errors)
	}
}

func TestReplayTwiceGivesTheSameTables(t *testing.T) {
	f := getFixture(t)
	// The reference replay read every record of the archive, duplicates
	// included, and stored the poison records.
	again := filepath.Join(t.TempDir(), "again")
	rep, err := replayInto(t, f.archive, again, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Events != int64(f.archived) || !rep.Complete || rep.Errors == 0 || rep.Duplicates+rep.Stale == 0 {
		t.Errorf("replay report %+v: want all %d archived records, complete, with errors and duplicates", rep, f.archived)
	}
	// Again into the same tables, from the start: nothing changes.
	rep, err = replayInto(t, f.archive, again, Options{FromStart: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Applied != 0 || rep.Events != int64(f.archived) {
		t.Errorf("second replay from the start: %d applied of %d events; want 0 of %d", rep.Applied, rep.Events, f.archived)
	}
	// And without --from-start: the replay is complete, nothing to read.
	if rep, err = replayInto(t, f.archive, again, Options{}); err != nil || rep.Events != 0 || rep.Resumed == "" {
		t.Errorf("third replay = %+v, %v; want nothing read after the checkpoint", rep, err)
	}
	if v, err := verifyDirs(t, f.reference, again); err != nil || !v.Same() {
		t.Errorf("tables replayed three times differ from once: %v\n%v", err, v.Differences)
	}
}

func TestReplayInAnyBatchSizeGivesTheSameTables(t *testing.T) {
	f := getFixture(t)
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"one record at a time", Options{BatchSize: 1, Lanes: 1, Concurrency: 1}},
		{"small batches, many lanes", Options{BatchSize: 13, Lanes: 7, Concurrency: 3}},
		{"one big batch", Options{BatchSize: 100_000, Lanes: 1, Concurrency: 64}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			if _, err := replayInto(t, f.archive, data, tc.o); err != nil {
				t.Fatal(err)
			}
			if v, err := verifyDirs(t, f.reference, data); err != nil || !v.Same() {
				t.Errorf("differs from the reference replay: %v\n%v", err, v.Differences)
			}
		})
	}
}

func TestVerifyFindsAPlantedDifference(t *testing.T) {
	f := getFixture(t)
	// A copy of the reference, changed a little.
	planted := filepath.Join(t.TempDir(), "planted")
	if _, err := replayInto(t, f.archive, planted, Options{}); err != nil {
		t.Fatal(err)
	}
	st, err := embedded.Open(filepath.Join(planted, TablesFile))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	page, err := st.ListMovies(ctx, store.MovieFilter{}, 2, nil)
	if err != nil || len(page.Items) < 2 {
		t.Fatalf("list movies: %v", err)
	}
	changed := page.Items[0]
	changed.Rating += 0.1
	changed.LastEventTime = changed.LastEventTime.Add(time.Second)
	changed.LastEventID = "planted"
	if out, err := st.ApplyMovie(ctx, changed); err != nil || out != store.Applied {
		t.Fatalf("plant a movie: %v, %v", out, err)
	}
	if _, err := st.CountEvent(ctx, "run-planted", "event-planted", store.CounterProcessed, ""); err != nil {
		t.Fatal(err)
	}
	if err := st.StartRun(ctx, store.Run{ID: "run-planted", Source: testSource, StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	other := page.Items[1]
	if err := st.RecordObservation(ctx, store.Observation{MovieID: other.ID, ObservedAt: other.LastEventTime.Add(time.Hour),
		EventID: "planted", RunID: other.LastRunID, Rank: 1, Rating: 9.9}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	sunk := store.ErrorItem{ID: "planted-error", Stage: store.StageRetriesExhausted, Reason: "retries exhausted",
		Payload: []byte("{}"), ShardID: "shardId-000000000000", SequenceNumber: "1", Attempts: 1, FirstFailure: now, LastFailure: now}
	if err := st.PutError(ctx, sunk); err != nil {
		t.Fatal(err)
	}
	st.Close()

	rep, err := verifyDirs(t, planted, f.reference)
	if !errors.Is(err, ErrDiffer) {
		t.Fatalf("verify = %v, want ErrDiffer", err)
	}
	var got []string
	for _, d := range rep.Differences {
		got = append(got, d.Kind+" "+d.ID+" "+d.Only)
	}
	want := []string{KindMovie + " " + changed.ID + " ", KindHistory + " " + other.ID + " ", KindRun + " run-planted live",
		KindError + " planted-error live"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("differences (-want +got):\n%s", diff)
	}
	if d := rep.Differences[0].Diff; !strings.Contains(d, "Rating") || !strings.Contains(d, "LastEventID") {
		t.Errorf("movie diff does not show the changed fields:\n%s", d)
	}
	if !strings.Contains(rep.hint(), "redrive") {
		t.Errorf("hint %q: want it to say to redrive the retries-exhausted error", rep.hint())
	}
}

func TestInterruptedReplayResumesToTheSameTables(t *testing.T) {
	f := getFixture(t)
	data := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var batches sync.Mutex
	n := 0
	o := Options{Archive: f.archive, Data: data, BatchSize: 50, Lanes: 2, Logger: quiet,
		checkpointEvery: time.Millisecond, afterBatch: func() {
			batches.Lock()
			defer batches.Unlock()
			if n++; n == 10 {
				cancel()
			}
		}}
	tool, err := New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := tool.Run(ctx)
	tool.Close()
	if !errors.Is(err, ErrInterrupted) || rep.Replay.Complete || rep.Replay.Checkpoint == "" {
		t.Fatalf("interrupted replay = %+v, %v; want ErrInterrupted with a checkpoint", rep.Replay, err)
	}
	if !strings.Contains(err.Error(), "resume with the same command") {
		t.Errorf("error %q does not say how to resume", err)
	}
	first := *rep.Replay
	cp, ok, err := fileCheckpoints{dir: data}.load(ctx)
	if err != nil || !ok || cp.After != first.Checkpoint || cp.Complete {
		t.Fatalf("checkpoint file = %+v, %v, %v; want after %s, not complete", cp, ok, err, first.Checkpoint)
	}

	// The same command resumes after the checkpoint.
	second, err := replayInto(t, f.archive, data, Options{BatchSize: 50, Lanes: 2})
	if err != nil || !second.Complete || second.Resumed != first.Checkpoint {
		t.Fatalf("resumed replay = %+v, %v; want it complete, resumed after %s", second, err, first.Checkpoint)
	}
	if second.Events >= int64(f.archived) || first.Events+second.Events < int64(f.archived) {
		t.Errorf("events %d then %d of %d: want the second to read only what was left (and some again)", first.Events, second.Events, f.archived)
	}
	if v, err := verifyDirs(t, f.reference, data); err != nil || !v.Same() {
		t.Errorf("resumed replay differs from one in one go: %v\n%v", err, v.Differences)
	}
}

func TestReplayBetweenSinceAndUntil(t *testing.T) {
	f := getFixture(t)
	// Cut the stream at its 25th and 75th percentile of arrival times.
	first := f.stream.shards[0][0].ArrivalTime
	last := f.stream.shards[0][len(f.stream.shards[0])-1].ArrivalTime
	since, until := first.Add(last.Sub(first)/4), first.Add(3*last.Sub(first)/4)
	in := &stream{shards: make([][]archive.Record, len(f.stream.shards))}
	for i, recs := range f.stream.shards {
		for _, r := range recs {
			if !r.ArrivalTime.Before(since) && r.ArrivalTime.Before(until) {
				in.shards[i] = append(in.shards[i], r)
			}
		}
	}
	live := mkdir(t, filepath.Join(t.TempDir(), "live"))
	in.runLive(t, live, nil)

	data := filepath.Join(t.TempDir(), "data")
	rep, err := replayInto(t, f.archive, data, Options{Since: since, Until: until})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Events == 0 || rep.Events >= int64(f.archived) {
		t.Errorf("bounded replay applied %d of %d events", rep.Events, f.archived)
	}
	if v, err := verifyDirs(t, live, data); err != nil || !v.Same() {
		t.Errorf("bounded replay differs from the records in the bounds: %v\n%v", err, v.Differences)
	}
	// Resuming needs the same bounds.
	if _, err := replayInto(t, f.archive, data, Options{Since: since}); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("replay with other bounds into the same directory = %v, want ErrNotEmpty", err)
	}
}

func TestReplayRefusesATargetItMustNotWriteTo(t *testing.T) {
	f := getFixture(t)
	otherArchive := t.TempDir()
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, dir string)
		want    error
	}{
		{"a devstack's data directory", func(t *testing.T, dir string) {
			for _, name := range []string{StreamFile, TablesFile, "cursor.key"} {
				if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}, ErrNotEmpty},
		{"tables no replay wrote", func(t *testing.T, dir string) {
			st, err := embedded.Open(filepath.Join(dir, TablesFile))
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
		}, ErrNotEmpty},
		{"a replay of another archive", func(t *testing.T, dir string) {
			if _, err := replayInto(t, otherArchive, dir, Options{}); err != nil {
				t.Fatal(err)
			}
		}, ErrNotEmpty},
		{"a replay on which devstack ran since", func(t *testing.T, dir string) {
			if _, err := replayInto(t, f.archive, dir, Options{}); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, StreamFile), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, ErrNotEmpty},
		{"tables another process has open", func(t *testing.T, dir string) {
			if _, err := replayInto(t, f.archive, dir, Options{}); err != nil {
				t.Fatal(err)
			}
			st, err := embedded.Open(filepath.Join(dir, TablesFile))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
		}, ErrInUse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := mkdir(t, filepath.Join(t.TempDir(), "data"))
			tc.prepare(t, dir)
			_, err := replayInto(t, f.archive, dir, Options{})
			if !errors.Is(err, tc.want) {
				t.Errorf("replay = %v, want %v", err, tc.want)
			}
			if errors.Is(err, ErrInUse) && !strings.Contains(err.Error(), "stop it first") {
				t.Errorf("error %q does not say to stop the other process", err)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want []string // substrings of the error; nil: valid
	}{
		{"replay", Options{Archive: "a", Data: "d"}, nil},
		{"replay and verify", Options{Archive: "a", Data: "d", Verify: "live"}, nil},
		{"verify alone", Options{Verify: "live", Data: "d"}, nil},
		{"redrive", Options{Redrive: true, Data: "d"}, nil},
		{"aws replay", Options{Archive: "s3://bucket/p", AWS: true, Suffix: "new", Create: true}, nil},
		{"nothing to do", Options{Data: "d"}, []string{"nothing to do"}},
		{"no target", Options{Archive: "a"}, []string{"--data: required"}},
		{"aws without suffix", Options{Archive: "a", AWS: true}, []string{"--suffix: required"}},
		{"aws with data", Options{Archive: "a", AWS: true, Suffix: "x", Data: "d"}, []string{"--data: not with --aws"}},
		{"create without aws", Options{Archive: "a", Data: "d", Create: true}, []string{"--create"}},
		{"redrive and replay", Options{Redrive: true, Archive: "a", Data: "d"}, []string{"--redrive: not with"}},
		{"verify itself", Options{Verify: "d", Data: "./d"}, []string{"another than --data"}},
		{"aws verify itself", Options{Verify: "x", AWS: true, Suffix: "x"}, []string{"others than the target's"}},
		{"bad s3", Options{Archive: "s3://B", Data: "d"}, []string{"--archive"}},
		{"since after until", Options{Archive: "a", Data: "d", Since: time.Unix(2, 0), Until: time.Unix(1, 0)}, []string{"is not before --until"}},
		{"bounds without replay", Options{Verify: "l", Data: "d", Since: time.Unix(1, 0)}, []string{"only for a replay"}},
		{"bad suffix", Options{Archive: "a", AWS: true, Suffix: "No Good"}, []string{"--suffix"}},
		{"every problem at once", Options{Archive: "a", AWS: true, Create: false, Since: time.Unix(2, 0), Until: time.Unix(1, 0)},
			[]string{"--suffix: required", "is not before"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			if tc.want == nil {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error with %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestTracker(t *testing.T) {
	tr := newTracker("start")
	// Object 0: two records; object 1: none; object 2: one record.
	a, b := tr.add(), tr.add()
	tr.seal("o0")
	tr.seal("o1")
	c := tr.add()
	if a != 0 || b != 0 || c != 2 {
		t.Fatalf("indices %d %d %d, want 0 0 2", a, b, c)
	}
	steps := []struct {
		do   func()
		want string
	}{
		{func() {}, "start"},
		{func() { tr.done(2, 1) }, "start"}, // object 2 is not sealed, 0 not done
		{func() { tr.done(0, 1) }, "start"},
		{func() { tr.done(0, 1) }, "o1"}, // 0 done, 1 empty
		{func() { tr.seal("o2") }, "o2"},
	}
	for i, s := range steps {
		s.do()
		if got := tr.checkpoint(); got != s.want {
			t.Errorf("step %d: checkpoint %q, want %q", i, got, s.want)
		}
	}
}

// fixtureT is the testing.TB the shared fixture is built with, outside
// any test: a failure panics with a fixtureFailure, which fixture turns
// into fixtureData.err for every test that uses it to report. Only the
// methods below may be called (the embedded TB is nil).
type fixtureT struct{ testing.TB }

type fixtureFailure struct{ msg string }

func (fixtureT) Helper()           {}
func (fixtureT) Fatal(args ...any) { panic(fixtureFailure{fmt.Sprint(args...)}) }
func (fixtureT) Fatalf(format string, args ...any) {
	panic(fixtureFailure{fmt.Sprintf(format, args...)})
}
