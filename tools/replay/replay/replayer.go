package replay

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/backoff"
	"github.com/scrape-pipeline/scrape-pipeline/services/processor"
)

// ErrInterrupted: the replay was stopped (its context ended) after the
// batches in flight were applied and the checkpoint recorded; running the
// same command again resumes it.
var ErrInterrupted = errors.New("interrupted")

// maxAttempts is how many times a replay hands a record to the processor
// before it gives up on a transient failure (the processor stores
// permanent failures in errors, so only the store failing keeps failing).
const maxAttempts = 6

// ReplayReport is what a replay did.
type ReplayReport struct {
	// Resumed is the key of the object the replay started after ("":
	// from the start).
	Resumed string
	// Checkpoint is the key of the last object fully applied.
	Checkpoint string
	// Complete is false when the replay was interrupted or failed.
	Complete bool
	// Objects and Bytes are the archive objects read through and their
	// stored size.
	Objects int
	Bytes   int64
	// Events are the records applied. Of them, MovieEvents were
	// movie.observed events (Applied, Duplicates and Stale by outcome),
	// RunEvents scrape.started and scrape.completed, and Errors the
	// records stored in errors (permanent failures). Retried counts the
	// transient failures retried.
	Events, MovieEvents, Applied, Duplicates, Stale, RunEvents, Errors, Retried int64
	// Duration is the replay's wall time.
	Duration time.Duration
}

// Rate is events per second.
func (r ReplayReport) Rate() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Events) / r.Duration.Seconds()
}

// batch is records of one lane, in archive order, with the index (in the
// tracker) of the object each came from.
type batch struct {
	recs []processor.Record
	objs []int32
}

// replayer projects an archive into a target through the processor.
//
// One goroutine reads the archive (archive.Scan: objects in key order,
// records in line order) and deals each record to a lane by a hash of its
// partition key, so that all records of a key go to one lane, in archive
// order. A lane gathers BatchSize records and hands them to
// processor.Handler.Handle, which works on many keys at once and keeps
// each key's records in order; lanes work at the same time, on disjoint
// keys. Records the processor reports for retry (transient store
// failures) are handed to it again, with backoff, before the lane goes
// on. The tracker follows which objects are fully applied: the checkpoint.
type replayer struct {
	o       Options
	reader  archive.Reader
	target  *tables
	h       *processor.Handler
	cp      checkpoint
	track   *tracker
	meter   *meter
	seed    maphash.Seed
	lanes   []chan *batch
	pending []*batch

	stats struct {
		objects                                                 atomic.Int64
		bytes                                                   atomic.Int64
		movie, applied, dups, stale, runEvents, errors, retried atomic.Int64
	}
	failMu  sync.Mutex
	failErr error
	failed  atomic.Bool
}

func newReplayer(o Options, reader archive.Reader, target *tables, cp checkpoint) *replayer {
	// The processor logs a summary of every batch at info level; a replay
	// prints its own progress, and keeps the processor's warnings (records
	// stored in errors, retries) and errors.
	plog := slog.New(minLevel{o.Logger.Handler(), slog.LevelWarn}).With("component", "processor")
	r := &replayer{
		o:      o,
		reader: reader,
		target: target,
		h:      processor.New(target, processor.Options{Concurrency: o.Concurrency, Logger: plog}),
		cp:     cp,
		track:  newTracker(cp.After),
		meter:  newMeter(time.Now()),
		seed:   maphash.MakeSeed(),
	}
	if o.FromStart {
		r.track = newTracker("")
	}
	return r
}

// run replays; see Tool.Run.
func (r *replayer) run(ctx context.Context) (ReplayReport, error) {
	start := time.Now()
	startAfter := r.cp.After
	if r.o.FromStart {
		startAfter = ""
	}
	rep := ReplayReport{Resumed: startAfter}
	log := r.o.Logger.With("archive", r.cp.Archive, "target", r.target.desc)
	switch {
	case startAfter == "":
		log.Info("replay starting")
	case r.cp.Complete:
		log.Info("replay complete before: reading the objects added since", "after", startAfter)
	default:
		log.Info("replay resuming", "after", startAfter)
	}

	// Stopping: ctx ends the reading; the batches already read are
	// applied with a context of their own, so that what was read is
	// applied whole and the checkpoint gets as far as it can.
	work := context.WithoutCancel(ctx)
	scanCtx, stopScan := context.WithCancel(ctx)
	defer stopScan()

	var lanes sync.WaitGroup
	r.lanes = make([]chan *batch, r.o.Lanes)
	r.pending = make([]*batch, r.o.Lanes)
	for i := range r.lanes {
		r.lanes[i] = make(chan *batch, 1)
		lanes.Go(func() {
			for b := range r.lanes[i] {
				if r.failed.Load() {
					continue // drain: the replay is failing
				}
				if err := r.apply(work, b); err != nil {
					r.fail(err)
					stopScan()
				}
			}
		})
	}

	var background sync.WaitGroup
	stop := make(chan struct{})
	if r.o.Progress != nil {
		background.Go(func() { r.meter.report(r.o.Progress, r.o.ProgressEvery, stop) })
	}
	background.Go(func() { r.listTotal(scanCtx, startAfter) })
	background.Go(func() { r.checkpointLoop(work, stop) })

	scanErr := archive.Scan(scanCtx, r.reader, archive.ScanOptions{
		Since: r.cp.Since, Until: r.cp.Until, StartAfter: startAfter,
		Progress: func(p archive.Progress) {
			r.track.seal(p.Key)
			r.stats.objects.Store(int64(p.Objects))
			r.stats.bytes.Store(p.Bytes)
			r.meter.read.Store(p.Bytes)
		},
	}, func(rec archive.Record) error { return r.dispatch(scanCtx, rec) })

	// Whatever stopped the reading, what was read and dealt is applied
	// (unless a lane failed): the partial batches too.
	if !r.failed.Load() {
		for i, b := range r.pending {
			if b != nil && len(b.recs) > 0 {
				r.lanes[i] <- b
			}
		}
	}
	for _, ch := range r.lanes {
		close(ch)
	}
	lanes.Wait()
	close(stop)
	background.Wait()

	laneErr := r.failure()
	interrupted := ctx.Err() != nil && laneErr == nil
	complete := scanErr == nil && laneErr == nil
	cp := r.cp
	cp.After, cp.Complete, cp.Updated = r.track.checkpoint(), complete, time.Now().UTC()
	saveErr := r.target.checkpoints.save(work, cp)

	rep.Checkpoint, rep.Complete = cp.After, complete && saveErr == nil
	rep.Objects, rep.Bytes = int(r.stats.objects.Load()), r.stats.bytes.Load()
	rep.Events = r.meter.events.Load()
	rep.MovieEvents, rep.Applied, rep.Duplicates, rep.Stale = r.stats.movie.Load(), r.stats.applied.Load(), r.stats.dups.Load(), r.stats.stale.Load()
	rep.RunEvents, rep.Errors, rep.Retried = r.stats.runEvents.Load(), r.stats.errors.Load(), r.stats.retried.Load()
	rep.Duration = time.Since(start)

	switch {
	case laneErr != nil:
		return rep, errors.Join(laneErr, saveErr)
	case interrupted:
		return rep, errors.Join(fmt.Errorf("%w: the tables hold every object up to %q; resume with the same command", ErrInterrupted, cp.After), saveErr)
	case scanErr != nil:
		return rep, errors.Join(fmt.Errorf("read the archive: %w", scanErr), saveErr)
	case saveErr != nil:
		return rep, saveErr
	}
	return rep, nil
}

// dispatch deals rec to its lane; a full batch is handed to the lane.
func (r *replayer) dispatch(ctx context.Context, rec archive.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	lane := maphash.String(r.seed, rec.PartitionKey) % uint64(len(r.lanes))
	b := r.pending[lane]
	if b == nil {
		b = &batch{recs: make([]processor.Record, 0, r.o.BatchSize), objs: make([]int32, 0, r.o.BatchSize)}
		r.pending[lane] = b
	}
	b.recs = append(b.recs, processor.Record{
		ShardID:        rec.ShardID,
		SequenceNumber: rec.SequenceNumber,
		PartitionKey:   rec.PartitionKey,
		Data:           rec.Data,
		ArrivalTime:    rec.ArrivalTime,
	})
	b.objs = append(b.objs, int32(r.track.add()))
	if len(b.recs) < r.o.BatchSize {
		return nil
	}
	r.pending[lane] = nil
	select {
	case r.lanes[lane] <- b:
		return nil
	case <-ctx.Done():
		// Not handed over: put it back, to be applied at the end.
		r.pending[lane] = b
		return ctx.Err()
	}
}

// apply hands b to the processor until every record is done, retrying
// those that failed transiently (with the rest of their key behind them,
// in order, as the processor reports them).
func (r *replayer) apply(ctx context.Context, b *batch) error {
	recs := b.recs
	for attempt := 1; ; attempt++ {
		res := r.h.Handle(ctx, recs)
		m := res.Metrics
		r.stats.movie.Add(int64(m.Applied + m.Duplicates + m.Stale))
		r.stats.applied.Add(int64(m.Applied))
		r.stats.dups.Add(int64(m.Duplicates))
		r.stats.stale.Add(int64(m.Stale))
		r.stats.runEvents.Add(int64(m.RunEvents))
		r.stats.errors.Add(int64(m.PermanentFailures))
		r.stats.retried.Add(int64(m.TransientFailures))
		if len(res.Retry) == 0 {
			break
		}
		if attempt == maxAttempts {
			first := recs[res.Retry[0]]
			return fmt.Errorf("%d records still failing after %d attempts, the first %s/%s (key %s): see the processor's log lines; fix the store and resume with the same command",
				len(res.Retry), attempt, first.ShardID, first.SequenceNumber, first.PartitionKey)
		}
		again := make([]processor.Record, len(res.Retry))
		for i, j := range res.Retry {
			again[i] = recs[j]
		}
		recs = again
		backoff.Sleep(ctx, backoff.Jittered(attempt, 100*time.Millisecond, 5*time.Second))
	}
	// Every record is done: mark them by object (a lane's records come in
	// object order, so in runs).
	for i := 0; i < len(b.objs); {
		j := i
		for j < len(b.objs) && b.objs[j] == b.objs[i] {
			j++
		}
		r.track.done(int(b.objs[i]), j-i)
		i = j
	}
	r.meter.events.Add(int64(len(b.recs)))
	if r.o.afterBatch != nil {
		r.o.afterBatch()
	}
	return nil
}

func (r *replayer) fail(err error) {
	r.failMu.Lock()
	defer r.failMu.Unlock()
	if r.failErr == nil {
		r.failErr = err
	}
	r.failed.Store(true)
}

func (r *replayer) failure() error {
	r.failMu.Lock()
	defer r.failMu.Unlock()
	return r.failErr
}

// checkpointLoop records the checkpoint every checkpointEvery while it
// moves, until stop is closed (run records the last one).
func (r *replayer) checkpointLoop(ctx context.Context, stop <-chan struct{}) {
	t := time.NewTicker(r.o.checkpointEvery)
	defer t.Stop()
	last := r.track.checkpoint()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		after := r.track.checkpoint()
		if after == last {
			continue
		}
		cp := r.cp
		cp.After, cp.Updated = after, time.Now().UTC()
		if err := r.target.checkpoints.save(ctx, cp); err != nil {
			r.o.Logger.Warn("checkpoint not recorded; the next one will be", "error", err.Error())
			continue
		}
		last = after
	}
}

// listTotal lists the objects the replay will read and sums their sizes,
// for the progress lines' share and ETA. It lists what Scan reads: from
// the hour Skew before Since (and after startAfter) to the hour Skew after
// Until.
func (r *replayer) listTotal(ctx context.Context, startAfter string) {
	after, stop := scanRange(r.cp.Since, r.cp.Until, startAfter)
	var total int64
	err := r.reader.List(ctx, archive.EventsPrefix, after, func(obj archive.Object) error {
		if stop != "" && obj.Key >= stop {
			return errStopList
		}
		total += obj.Size
		return nil
	})
	if err != nil && !errors.Is(err, errStopList) {
		if ctx.Err() == nil {
			r.o.Logger.Warn("list the archive for the progress lines", "error", err.Error())
		}
		return
	}
	r.meter.total.Store(total)
}

var errStopList = errors.New("stop listing")

// scanRange returns the keys archive.Scan reads between: after the first,
// before the second ("" for no end).
func scanRange(since, until time.Time, startAfter string) (after, stop string) {
	after = startAfter
	if !since.IsZero() {
		if low := archive.HourPrefix(since.Add(-archive.Skew)); low > after {
			after = low
		}
	}
	if !until.IsZero() {
		stop = archive.HourPrefix(until.Add(archive.Skew - 1).Truncate(time.Hour).Add(time.Hour))
	}
	return after, stop
}

// minLevel drops records below a level.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(attrs), h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.level}
}
