package replay

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/archive/dir"
	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/services/processor"
)

// stream is a synthetic event stream: scrape runs over a chart of movies,
// with poison records among them, on a few shards.
type stream struct {
	// shards holds each shard's records in sequence order.
	shards [][]archive.Record
	// start is the arrival time of the first record.
	start time.Time
}

// streamSpec shapes a synthetic stream.
type streamSpec struct {
	Shards, Runs, Movies int
	// PoisonEvery puts a poison record after every that many events (0:
	// none).
	PoisonEvery int
}

var smallSpec = streamSpec{Shards: 3, Runs: 12, Movies: 150, PoisonEvery: 97}

const testSource = "https://films.example.org/site/chart"

// newStream builds the stream of spec: each run publishes scrape.started,
// one movie.observed of every movie (ratings and votes drifting from run
// to run) and scrape.completed, 10 ms apart, starting two days ago (events
// must not come from the processor's future).
func newStream(spec streamSpec) *stream {
	s := &stream{shards: make([][]archive.Record, spec.Shards), start: time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Hour)}
	at := s.start
	seqs := make([]int, spec.Shards)
	n := 0
	add := func(key string, data []byte) {
		h := fnv.New32a()
		h.Write([]byte(key))
		shard := int(h.Sum32()) % spec.Shards
		seqs[shard]++
		s.shards[shard] = append(s.shards[shard], archive.Record{
			ShardID:        fmt.Sprintf("shardId-%012d", shard),
			SequenceNumber: fmt.Sprintf("4965900000000000000000000%06d%010d", shard, seqs[shard]),
			PartitionKey:   key,
			ArrivalTime:    at,
			Data:           data,
		})
		at = at.Add(10 * time.Millisecond)
		n++
		if spec.PoisonEvery > 0 && n%spec.PoisonEvery == 0 {
			s.addPoison(n, key, &at, seqs)
		}
	}
	for r := range spec.Runs {
		began := at
		runID := events.NewRunID(began)
		add(runID, encode(events.NewRunEvent(runID, testSource, at, events.ScrapeStarted{Profile: "movies", Trigger: events.TriggerAPI})))
		for m := range spec.Movies {
			year := 1950 + m%70
			id := events.MovieID("", fmt.Sprintf("Film %d", m), year)
			add(id, encode(events.NewMovieObserved(runID, testSource, at, id, events.MovieObserved{
				Title: fmt.Sprintf("Film %d", m), Year: year, Rank: 1 + (m+r)%spec.Movies,
				Rating:   events.Rating{Value: 5 + float64((m*7+r*(m%3))%50)/10, Votes: int64(1000 + m*10 + r*(m%4))},
				Director: "Director", Genres: []string{"Drama"}, RuntimeMinutes: 90 + m%60,
			})))
		}
		add(runID, encode(events.NewRunEvent(runID, testSource, at, events.ScrapeCompleted{
			Published: spec.Movies, Pages: 1 + spec.Movies/50, DurationMs: at.Sub(began).Milliseconds(),
		})))
	}
	return s
}

// addPoison adds a record no decoder accepts (varying kinds) to the
// shard of key.
func (s *stream) addPoison(n int, key string, at *time.Time, seqs []int) {
	kinds := [][]byte{
		[]byte("not an event"),
		{0xfe, 0xed, 0xfa, 0xce, 0x00, byte(n)},
		[]byte(fmt.Sprintf(`{"specversion":"1.0","id":"x-%d","type":"movie.observed","schemaversion":99}`, n)),
		[]byte(fmt.Sprintf("  {\n  \"pretty\": %d\n}\n", n)),
	}
	shard := n % len(s.shards)
	seqs[shard]++
	s.shards[shard] = append(s.shards[shard], archive.Record{
		ShardID:        fmt.Sprintf("shardId-%012d", shard),
		SequenceNumber: fmt.Sprintf("4965900000000000000000000%06d%010d", shard, seqs[shard]),
		PartitionKey:   fmt.Sprintf("poison-%d", n),
		ArrivalTime:    *at,
		Data:           kinds[n%len(kinds)],
	})
	*at = at.Add(10 * time.Millisecond)
}

func encode(e events.Event) []byte {
	b, err := events.Encode(e)
	if err != nil {
		panic(err)
	}
	return b
}

// writeArchive writes the stream to an archive in root as Firehose would,
// not quite in order: each object holds a run of one shard's records
// (chunk sizes differ by shard, so objects of different shards interleave
// out of arrival order), every fifth object is delivered twice (a second
// object with the same records, keyed later), and the last object of
// every shard is delivered 40 minutes late. Each
// partition key's records stay in order. It returns the number of records
// in the archive, duplicates included.
func (s *stream) writeArchive(t testing.TB, root string) int {
	t.Helper()
	st, err := dir.New(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	written, objects := 0, 0
	put := func(recs []archive.Record, at time.Time) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		var line []byte
		for _, r := range recs {
			if line, err = archive.AppendLine(line[:0], r); err != nil {
				t.Fatal(err)
			}
			zw.Write(line)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		objects++
		key := archive.ObjectKey("test", at, fmt.Sprintf("%06d", objects))
		if err := st.Put(ctx, key, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
		written += len(recs)
	}
	next := make([]int, len(s.shards))
	for done := false; !done; {
		done = true
		for i, recs := range s.shards {
			size := 37 + 23*i
			if next[i] >= len(recs) {
				continue
			}
			done = false
			chunk := recs[next[i]:min(next[i]+size, len(recs))]
			next[i] += len(chunk)
			at := chunk[0].ArrivalTime
			if next[i] == len(recs) {
				at = at.Add(40 * time.Minute) // delivered late (within archive.Skew)
			}
			put(chunk, at)
			if objects%5 == 0 {
				put(chunk, at.Add(time.Second)) // delivered twice
			}
		}
	}
	return written
}

// quiet is a logger that keeps only errors, for tests.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// runLive projects the stream into a new data directory's tables as the
// live pipeline would: each shard's records in sequence order, in batches
// of 100 (the mapping's), shard after shard. skip lists records (by
// sequence number) that are not projected but end up in errors as the
// error sink stores them when their retries run out.
func (s *stream) runLive(t testing.TB, dataDir string, skip map[string]bool) {
	t.Helper()
	st, err := embedded.Open(filepath.Join(dataDir, TablesFile), embedded.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	h := processor.New(st, processor.Options{Logger: quiet})
	for _, recs := range s.shards {
		var batch []processor.Record
		flush := func() {
			if res := h.Handle(ctx, batch); len(res.Retry) > 0 {
				t.Fatalf("live batch: %d records to retry", len(res.Retry))
			}
			batch = batch[:0]
		}
		for _, r := range recs {
			if skip[r.SequenceNumber] {
				flush()
				sinkStore(t, st, r)
				continue
			}
			batch = append(batch, processor.Record{StreamARN: "arn:aws:kinesis:eu-west-2:000000000000:stream/events-test",
				ShardID: r.ShardID, SequenceNumber: r.SequenceNumber, PartitionKey: r.PartitionKey, Data: r.Data, ArrivalTime: r.ArrivalTime})
			if len(batch) == 100 {
				flush()
			}
		}
		flush()
	}
}

// sinkStore stores r in errors as the error sink does when the mapping's
// retries for it ran out: stage retries_exhausted, counted as failed for
// its run.
func sinkStore(t testing.TB, st store.Store, r archive.Record) {
	t.Helper()
	e, err := events.Decode(r.Data)
	if err != nil {
		t.Fatalf("sinkStore wants an event: %v", err)
	}
	now := time.Now().UTC()
	item := store.ErrorItem{
		ID:    store.ErrorID(store.StageRetriesExhausted, r.ShardID, r.SequenceNumber, e.ID),
		Stage: store.StageRetriesExhausted, Reason: "retries exhausted (store failing)",
		EventID: e.ID, RunID: e.RunID, Payload: r.Data, PayloadSize: len(r.Data),
		ShardID: r.ShardID, SequenceNumber: r.SequenceNumber, PartitionKey: r.PartitionKey,
		Attempts: 1, FirstFailure: now, LastFailure: now,
	}
	if _, err := st.FailEvent(context.Background(), e.RunID, e.ID, item); err != nil {
		t.Fatal(err)
	}
}

// movieRecords returns the sequence numbers of every nth movie event,
// leaving out the first run's: a movie's first observation, applied after
// later ones, would not set its FirstSeen (store.ApplyMovie keeps the
// stored one), which these tests do not mean to test.
func (s *stream) movieRecords(nth int) map[string]bool {
	var starts []time.Time
	for _, recs := range s.shards {
		for _, r := range recs {
			if e, err := events.Decode(r.Data); err == nil {
				if _, ok := e.Data.(events.ScrapeStarted); ok {
					starts = append(starts, r.ArrivalTime)
				}
			}
		}
	}
	slices.SortFunc(starts, time.Time.Compare)
	out := map[string]bool{}
	i := 0
	for _, recs := range s.shards {
		for _, r := range recs {
			if len(starts) < 2 || r.ArrivalTime.Before(starts[1]) {
				continue
			}
			if e, err := events.Decode(r.Data); err == nil {
				if _, ok := e.Data.(events.MovieObserved); ok {
					if i++; i%nth == 0 {
						out[r.SequenceNumber] = true
					}
				}
			}
		}
	}
	return out
}

// newArchive writes a stream of spec to an archive directory and returns
// the stream and the directory.
func newArchive(t testing.TB, spec streamSpec) (*stream, string) {
	t.Helper()
	s := newStream(spec)
	root := filepath.Join(t.TempDir(), "archive")
	s.writeArchive(t, root)
	return s, root
}

// replayInto runs a replay of archiveDir into dataDir with o's tuning.
func replayInto(t testing.TB, archiveDir, dataDir string, o Options) (ReplayReport, error) {
	t.Helper()
	o.Archive, o.Data = archiveDir, dataDir
	if o.Logger == nil {
		o.Logger = quiet
	}
	tool, err := New(context.Background(), o)
	if err != nil {
		return ReplayReport{}, err
	}
	defer tool.Close()
	rep, err := tool.Run(context.Background())
	if rep.Replay == nil {
		return ReplayReport{}, err
	}
	return *rep.Replay, err
}

// verifyDirs compares the tables of two data directories.
func verifyDirs(t testing.TB, live, rebuilt string) (VerifyReport, error) {
	t.Helper()
	var out bytes.Buffer
	tool, err := New(context.Background(), Options{Verify: live, Data: rebuilt, Logger: quiet, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer tool.Close()
	rep, err := tool.Run(context.Background())
	if rep.Verify == nil {
		t.Fatalf("verify: %v", err)
	}
	if testing.Verbose() {
		t.Logf("verify %s against %s:\n%s", rebuilt, live, out.String())
	}
	return *rep.Verify, err
}

func mkdir(t testing.TB, path string) string {
	t.Helper()
	if err := os.MkdirAll(path, 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}
