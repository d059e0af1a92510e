package processor_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu/short"
	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/services/processor"
)

// TestReliability is issue 4's reliability test on the embedded store:
// movie.observed events over hundreds of movies, 1% malformed, 1% of an
// unknown version, 1% invalid, some republished by the producer, fed
// through the handler by a simulated event source mapping that retries
// from the reported checkpoint, replays old ranges out of order (at least
// 10% of the records are delivered twice or more), cuts some batches
// short with a near deadline, while the store fails 5% of the calls
// transiently (half of them after the write went through).
//
// The large campaigns run here, on the embedded backends, which pass the
// same store contract suite (storetest) as the DynamoDB adapter: 10,000
// events in batches of up to 100 in memory, and 3,000 in batches of up to
// 10 (more redeliveries per record) on the bbolt file. The DynamoDB
// adapter's own semantics under the same faults are proven on moto_server
// by TestReliabilityOnMoto, with a few hundred events.
//
// Under -short (a smoke run, refused when CI is set) the same campaigns run
// over a tenth of the events: every kind of record, fault and delivery, and
// every check, over fewer of them.
func TestReliability(t *testing.T) {
	memory := relConfig{events: 10_000, seed: 1, maxBatch: 100, replayPct: 12}
	bolt := relConfig{events: 3000, seed: 2, maxBatch: 10, replayPct: 3}
	if short.On(t) {
		memory.events = 1000
		bolt.events, bolt.movies = 300, 100 // 3 runs, so that stale events occur
	}
	t.Parallel()
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		runReliability(t, embedded.NewMemory(), memory)
	})
	t.Run("bolt", func(t *testing.T) {
		t.Parallel()
		st, err := embedded.Open(filepath.Join(t.TempDir(), "tables.db"), embedded.WithNoSync())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := st.Close(); err != nil {
				t.Error(err)
			}
		})
		runReliability(t, st, bolt)
	})
}

// badPerKind is how many records of each bad kind (malformed, unknown
// version, invalid) a stream of n events holds: 1%, and at least one, so
// that the small campaigns of -short have every kind too.
func badPerKind(n int) int { return max(1, n/100) }

// relConfig sizes a reliability run.
type relConfig struct {
	events int
	seed   uint64
	// movies is the number of movies a run observes (default relMovies):
	// the events form runs of that many, so a stream of more events than
	// movies observes each movie several times, and stale events occur.
	movies int
	// concurrency is the handler's (default processor.DefaultConcurrency).
	concurrency int
	// maxBatch bounds the batches of the simulated mapping (1..maxBatch
	// records); replayPct is the chance, per step, of replaying an old
	// range instead of moving on.
	maxBatch, replayPct int
}

// recKind is what a generated record is.
type recKind int

const (
	kindClean recKind = iota
	kindMalformed
	kindUnknownVersion
	kindInvalid
	kindStarted
	kindCompleted
)

// genRec is one record of the generated stream.
type genRec struct {
	kind  recKind
	key   string
	data  []byte
	event events.Event // the decoded event, for clean and run records
	shard int
	rec   processor.Record
}

// scenario is a generated stream and the state one clean pass over it
// must leave.
type scenario struct {
	shards     [][]*genRec
	all        []*genRec
	wantMovies map[string]store.Movie
	wantRuns   map[string]store.Run // Processed, Failed, Published, Completed
	wantErrors map[string]store.Stage
}

const (
	relMovies = 300
	relShards = 4
)

// generate builds a stream of n movie events (badPerKind(n) of each bad kind)
// in runs of up to movies events, each opened and closed by its run
// events.
func generate(t testing.TB, n, movies int, rng *rand.Rand) *scenario {
	t.Helper()
	sc := &scenario{shards: make([][]*genRec, relShards), wantMovies: map[string]store.Movie{},
		wantRuns: map[string]store.Run{}, wantErrors: map[string]store.Stage{}}
	bad := make([]recKind, n)
	perm := rng.Perm(n)
	for i, slot := range perm[:3*badPerKind(n)] {
		bad[slot] = recKind(1 + i/badPerKind(n)) // malformed, unknown version, invalid
	}
	slot := 0
	for r := 0; slot < n; r++ {
		run := fmt.Sprintf("run-20261127-%06d-%08x", r, r)
		base := t0.Add(time.Duration(r) * time.Hour)
		started := events.NewRunEvent(run, testSource, base, events.ScrapeStarted{Profile: "chart", Trigger: events.TriggerAPI})
		recs := []*genRec{{kind: kindStarted, key: run, event: started, data: mustEncode(t, started)}}
		want := store.Run{ID: run, Completed: true}
		var dups []int
		for j, m := range rng.Perm(movies)[:min(movies, n-slot)] {
			id := fmt.Sprintf("film-%03d", m)
			at := base.Add(time.Duration(j+1) * time.Second)
			if rng.IntN(100) < 3 {
				at = base.Add(-2 * time.Hour) // a skewed clock: older than the last run's observation
			}
			e := movieEvent(run, at, id, r*movies+m)
			g := &genRec{kind: bad[slot], key: id, event: e}
			slot++
			switch g.kind {
			case kindClean:
				g.data = mustEncode(t, e)
				want.Processed++
			case kindMalformed:
				full := mustEncode(t, e)
				if rng.IntN(2) == 0 {
					g.data = full[:rng.IntN(len(full)-1)]
				} else {
					g.data = []byte(fmt.Sprintf("\x00\x01 not an event %d", rng.Int()))
				}
			case kindUnknownVersion:
				g.data = patch(t, mustEncode(t, e), func(m map[string]any) { m["schemaversion"] = 7 })
				want.Failed++
			case kindInvalid:
				g.data = patch(t, mustEncode(t, e), func(m map[string]any) { m["data"].(map[string]any)["year"] = 1700 })
				want.Failed++
			}
			recs = append(recs, g)
			if g.kind == kindClean && rng.IntN(100) < 2 {
				dups = append(dups, len(recs)-1)
			}
		}
		// The producer resent some events: the same bytes, later in the
		// run. Inserting the last ones first keeps the earlier positions.
		for _, pos := range slices.Backward(dups) {
			dup := *recs[pos]
			recs = slices.Insert(recs, pos+1+rng.IntN(len(recs)-pos), &dup)
		}
		want.Published = want.Processed + want.Failed
		completed := events.NewRunEvent(run, testSource, base.Add(30*time.Minute), events.ScrapeCompleted{Published: want.Published, Pages: 1, DurationMs: 1000})
		recs = append(recs, &genRec{kind: kindCompleted, key: run, event: completed, data: mustEncode(t, completed)})
		sc.wantRuns[run] = want
		sc.all = append(sc.all, recs...)
	}
	// Shards and sequence numbers, in stream order.
	for i, g := range sc.all {
		h := fnv.New32a()
		h.Write([]byte(g.key))
		g.shard = int(h.Sum32() % relShards)
		g.rec = record(fmt.Sprintf("shardId-%012d", g.shard), i, g.key, g.data)
		sc.shards[g.shard] = append(sc.shards[g.shard], g)
		if g.kind == kindMalformed || g.kind == kindUnknownVersion || g.kind == kindInvalid {
			stage := store.StageDecode
			if g.kind == kindInvalid {
				stage = store.StageValidate
			}
			sc.wantErrors[g.rec.SequenceNumber] = stage
		}
	}
	// The projection of the clean events, folded in stream order.
	for _, g := range sc.all {
		if g.kind != kindClean {
			continue
		}
		e, d := g.event, g.event.Data.(events.MovieObserved)
		next := store.Movie{
			ID: e.Subject, Title: d.Title, Year: d.Year, Rank: d.Rank, Rating: d.Rating.Value,
			Votes: int(d.Rating.Votes), Director: d.Director, Genres: d.Genres, RuntimeMinutes: d.RuntimeMinutes,
			DetailURL: d.DetailURL, Source: e.Source, FirstSeen: e.Time, LastSeen: e.Time, LastRunID: e.RunID,
			LastEventID: e.ID, LastEventTime: e.Time, LastEventDigest: contentDigest(g.data),
		}
		if old, ok := sc.wantMovies[e.Subject]; ok {
			// FirstSeen is the earliest observation, whatever the order.
			if !old.Newer(e.Time, e.ID) {
				if e.Time.Before(old.FirstSeen) {
					old.FirstSeen = e.Time
					sc.wantMovies[e.Subject] = old
				}
				continue
			}
			if old.FirstSeen.Before(next.FirstSeen) {
				next.FirstSeen = old.FirstSeen
			}
		}
		sc.wantMovies[e.Subject] = next
	}
	return sc
}

// ledger records which writes the handler was told succeeded, to check
// after every batch that each record before the checkpoint is done.
type ledger struct {
	processor.Store
	mu sync.Mutex
	ok map[string]bool
}

func (l *ledger) mark(err error, key string) {
	if err == nil {
		l.mu.Lock()
		l.ok[key] = true
		l.mu.Unlock()
	}
}

func (l *ledger) has(keys ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if !l.ok[k] {
			return false
		}
	}
	return true
}

func (l *ledger) ApplyMovie(ctx context.Context, m store.Movie) (store.Outcome, error) {
	out, err := l.Store.ApplyMovie(ctx, m)
	l.mark(err, "apply/"+m.LastEventID)
	return out, err
}

func (l *ledger) StartRun(ctx context.Context, r store.Run) error {
	err := l.Store.StartRun(ctx, r)
	l.mark(err, "start/"+r.ID)
	return err
}

func (l *ledger) CompleteRun(ctx context.Context, r store.Run) error {
	err := l.Store.CompleteRun(ctx, r)
	l.mark(err, "complete/"+r.ID)
	return err
}

func (l *ledger) CountEvent(ctx context.Context, runID, eventID string, c store.Counter, digest string) (bool, error) {
	ok, err := l.Store.CountEvent(ctx, runID, eventID, c, digest)
	l.mark(err, "count/"+eventID+"/"+string(c))
	return ok, err
}

func (l *ledger) PutError(ctx context.Context, e store.ErrorItem) error {
	err := l.Store.PutError(ctx, e)
	l.mark(err, "error/"+e.SequenceNumber)
	return err
}

// done reports whether every write record g needs was acknowledged.
func (l *ledger) done(g *genRec) bool {
	switch g.kind {
	case kindClean:
		return l.has("apply/"+g.event.ID, "count/"+g.event.ID+"/processed")
	case kindMalformed:
		return l.has("error/" + g.rec.SequenceNumber)
	case kindUnknownVersion, kindInvalid:
		return l.has("error/"+g.rec.SequenceNumber, "count/"+g.event.ID+"/failed")
	case kindStarted:
		return l.has("start/" + g.event.RunID)
	case kindCompleted:
		return l.has("complete/" + g.event.RunID)
	}
	return false
}

// lockedRand is a rand.Rand for concurrent use.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) intN(n int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.IntN(n)
}

// esmStats sums up a simulated event source mapping's work.
type esmStats struct {
	mu                                     sync.Mutex
	invocations, replays, cutShort, faults int
	metrics                                processor.Metrics
}

func (s *esmStats) Write(p []byte) (int, error) {
	var sink metricsSink
	if _, err := sink.Write(p); err != nil {
		return 0, err
	}
	m := sink.lines[0].Metrics
	s.mu.Lock()
	defer s.mu.Unlock()
	s.metrics.Records += m.Records
	s.metrics.Applied += m.Applied
	s.metrics.Duplicates += m.Duplicates
	s.metrics.Stale += m.Stale
	s.metrics.RunEvents += m.RunEvents
	s.metrics.PermanentFailures += m.PermanentFailures
	s.metrics.TransientFailures += m.TransientFailures
	s.metrics.ReportedFailures += m.ReportedFailures
	return len(p), nil
}

// runReliability runs the reliability scenario against st.
func runReliability(t *testing.T, st store.Store, cfg relConfig) {
	n, seed := cfg.events, cfg.seed
	start := time.Now()
	rng := rand.New(rand.NewPCG(seed, 42))
	movies := cfg.movies
	if movies == 0 {
		movies = relMovies
	}
	sc := generate(t, n, movies, rng)
	faultRNG := &lockedRand{r: rand.New(rand.NewPCG(seed, 7))}
	stats := &esmStats{}
	led := &ledger{ok: map[string]bool{}, Store: &faultStore{inner: st, hook: func(op, string) fault {
		switch faultRNG.intN(40) {
		case 0:
			stats.mu.Lock()
			stats.faults++
			stats.mu.Unlock()
			return fault{err: errTransient}
		case 1:
			stats.mu.Lock()
			stats.faults++
			stats.mu.Unlock()
			return fault{err: errTransient, after: true}
		}
		return fault{}
	}}}
	const margin = 100 * time.Millisecond
	h := processor.New(led, processor.Options{Concurrency: cfg.concurrency, DeadlineMargin: margin, Logger: quiet, Metrics: stats})

	var wg sync.WaitGroup
	for s := range relShards {
		srng := rand.New(rand.NewPCG(seed, uint64(100+s)))
		wg.Go(func() { simulateShard(t, h, led, sc.shards[s], srng, stats, margin, cfg) })
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%v: %d records, %d invocations, %d replayed records, %d batches cut short, %d injected faults; handler: %+v",
		time.Since(start).Round(time.Millisecond), len(sc.all), stats.invocations, stats.replays, stats.cutShort, stats.faults, stats.metrics)

	// The scenario exercised what it claims to.
	if stats.faults == 0 || stats.metrics.TransientFailures == 0 || stats.cutShort == 0 ||
		stats.metrics.Duplicates == 0 || stats.metrics.Stale == 0 {
		t.Errorf("scenario too tame: %+v, %d faults, %d cut short", stats.metrics, stats.faults, stats.cutShort)
	}

	ctx := context.Background()
	if diff := cmp.Diff(sc.wantMovies, allMovies(t, st)); diff != "" {
		t.Errorf("movies differ from the projection of the clean events (-want +got):\n%s", diff)
	}
	items := allErrors(t, st)
	got := map[string]store.Stage{}
	bySeq := map[string]*genRec{}
	for _, g := range sc.all {
		bySeq[g.rec.SequenceNumber] = g
	}
	for _, e := range items {
		got[e.SequenceNumber] = e.Stage
		if g := bySeq[e.SequenceNumber]; g == nil || string(e.Payload) != string(g.data) || e.PartitionKey != g.key {
			t.Errorf("error item %s does not hold its record", e.ID)
		}
	}
	if len(items) != 3*badPerKind(n) || len(sc.wantErrors) != 3*badPerKind(n) {
		t.Errorf("%d error items, %d bad records; want %d of each", len(items), len(sc.wantErrors), 3*badPerKind(n))
	}
	if diff := cmp.Diff(sc.wantErrors, got); diff != "" {
		t.Errorf("error items by sequence number (-want +got):\n%s", diff)
	}
	for id, want := range sc.wantRuns {
		r, err := st.GetRun(ctx, id)
		if err != nil {
			t.Errorf("run %s: %v", id, err)
			continue
		}
		gotRun := store.Run{ID: r.ID, Completed: r.Completed, Published: r.Published, Processed: r.Processed, Failed: r.Failed}
		if diff := cmp.Diff(want, gotRun); diff != "" {
			t.Errorf("run %s progress (-want +got):\n%s", id, diff)
		}
		if r.Status() != store.RunCompleted {
			t.Errorf("run %s is %s, want completed", id, r.Status())
		}
	}
}

// simulateShard is an event source mapping on one shard: batches of 1 to
// cfg.maxBatch records from the checkpoint, the checkpoint moved to the
// lowest reported record, old ranges replayed in random order, some
// batches given a deadline that cuts them short. After each batch it checks that
// every record below the new checkpoint was acknowledged by the store.
func simulateShard(t *testing.T, h *processor.Handler, led *ledger, recs []*genRec, rng *rand.Rand, stats *esmStats, margin time.Duration, cfg relConfig) {
	replayed := make([]bool, len(recs))
	nReplayed := 0
	invoke := func(batch []*genRec, cut bool) processor.Result {
		recs := make([]processor.Record, len(batch))
		for i, g := range batch {
			recs[i] = g.rec
		}
		ctx := context.Background()
		if cut {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, margin+time.Duration(rng.IntN(2000))*time.Microsecond)
			defer cancel()
		}
		res := h.Handle(ctx, recs)
		stats.mu.Lock()
		stats.invocations++
		if cut {
			stats.cutShort++
		}
		stats.mu.Unlock()
		return res
	}
	replay := func(cp int) {
		start := rng.IntN(cp)
		end := min(cp, start+1+rng.IntN(cfg.maxBatch))
		invoke(recs[start:end], false) // failures do not matter: all of it is done
		for i := start; i < end; i++ {
			if !replayed[i] {
				replayed[i] = true
				nReplayed++
			}
		}
	}
	cp, attempts := 0, 0
	for cp < len(recs) {
		if attempts++; attempts > 100*len(recs)+1000 {
			t.Errorf("shard stuck at %d of %d records", cp, len(recs))
			return
		}
		if cp > 0 && rng.IntN(100) < cfg.replayPct {
			replay(cp)
			continue
		}
		batch := recs[cp:min(len(recs), cp+1+rng.IntN(cfg.maxBatch))]
		// 3% of the batches are cut short, and the second of each shard
		// always is, so that every campaign, however small, has some.
		res := invoke(batch, rng.IntN(100) < 3 || attempts == 2)
		next := len(batch)
		for _, i := range res.Retry {
			if i < 0 || i >= len(batch) {
				t.Errorf("asked to retry record %d of a batch of %d", i, len(batch))
				return
			}
			next = min(next, i)
		}
		for _, g := range batch[:next] {
			if !led.done(g) {
				t.Errorf("record %s (kind %d) is below the checkpoint but was not done: it would be lost",
					g.rec.SequenceNumber, g.kind)
				return
			}
		}
		cp += next
	}
	// Make sure at least 10% of the shard was delivered twice.
	for nReplayed*10 < len(recs) {
		replay(len(recs))
	}
	stats.mu.Lock()
	stats.replays += nReplayed
	stats.mu.Unlock()
}
