package processor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

// Projections writes the movies and runs projections. Implementations are
// safe for concurrent use and honour ctx's deadline. Only an error that
// matches store.ErrInvalid refuses that input for good (the record goes to
// errors); any other error (store.ErrTransient, but also a missing
// permission, a missing table or a failure nobody classified) fails the
// record for a retry.
type Projections interface {
	// ApplyMovie replaces the projection of m.ID with m if m's (time, id)
	// is newer than the stored one, keeping the stored FirstSeen; it
	// returns Applied, Duplicate or Stale, or Conflict (nothing written)
	// when m's event id was applied before with another digest.
	ApplyMovie(ctx context.Context, m store.Movie) (store.Outcome, error)
	// StartRun creates run r unless it exists (idempotent).
	StartRun(ctx context.Context, r store.Run) error
	// CompleteRun records r's final counts and marks it completed
	// (idempotent).
	CompleteRun(ctx context.Context, r store.Run) error
}

// History keeps each movie's observations.
type History interface {
	// RecordObservation adds o to its movie's history (idempotent: the
	// same observation again is a no-op; the same time and event id with
	// other values is an error matching store.ErrConflict). Safe for
	// concurrent use across movies; one movie's observations are
	// recorded one at a time.
	RecordObservation(ctx context.Context, o store.Observation) error
}

// Progress counts a run's events exactly once each.
type Progress interface {
	// CountEvent adds one to counter c of run runID unless eventID was
	// already counted for that run; it reports whether it counted. digest
	// is a digest of the event's content ("" for unknown): counted before
	// with another digest is an error matching store.ErrConflict. Safe
	// for concurrent use; store.ErrTransient marks a retryable failure.
	CountEvent(ctx context.Context, runID, eventID string, c store.Counter, digest string) (bool, error)
}

// Errors stores failed records.
type Errors interface {
	// PutError stores e; storing an item with the same ID again updates
	// it (idempotent). Safe for concurrent use.
	PutError(ctx context.Context, e store.ErrorItem) error
}

// Store is everything the processor writes to. store.Store (the embedded
// and DynamoDB adapters) satisfies it.
type Store interface {
	Projections
	History
	Progress
	Errors
}

var _ Store = store.Store(nil)

// Defaults of Options.
const (
	DefaultConcurrency    = 16
	DefaultDeadlineMargin = 2 * time.Second
	// DefaultMaxClockSkew is how far ahead of the processor's clock an
	// event's time may lie: the scraper's and the processor's clocks are
	// both synchronised, so minutes are generous.
	DefaultMaxClockSkew = 5 * time.Minute
	// DefaultNamespace is the CloudWatch namespace of the metrics.
	DefaultNamespace = "ScrapePipeline"
)

// Options tunes a Handler. The zero value of every field selects its
// default.
type Options struct {
	// Concurrency bounds how many partition keys are worked on at once
	// (default DefaultConcurrency; values below 1 select the default).
	Concurrency int
	// DeadlineMargin: once the context's deadline is closer than this, no
	// record is started any more and the rest of the batch is reported as
	// failed; store calls still running are cancelled at a quarter of the
	// margin before the deadline, leaving time to return the response.
	// Default DefaultDeadlineMargin. The function's timeout must be well
	// above it (say 10 s or more).
	DeadlineMargin time.Duration
	// Logger receives the batch summaries and every failed record (default
	// slog.Default()).
	Logger *slog.Logger
	// Metrics receives one CloudWatch Embedded Metric Format JSON line per
	// batch (in Lambda: os.Stdout). Nil writes no metrics.
	Metrics io.Writer
	// Namespace is the metrics' CloudWatch namespace (default
	// DefaultNamespace); FunctionName, when set, is added as the
	// "Function" dimension next to "Service": "processor".
	Namespace    string
	FunctionName string
	// MaxClockSkew: an event whose time lies more than this ahead of Now
	// is a permanent failure (stage validate), never projected. Without
	// the check, one event stamped in year 9999 would pin its movie: every
	// later observation would look older and be dropped as stale. Default
	// DefaultMaxClockSkew; values below 1 select the default.
	MaxClockSkew time.Duration
	// Now stamps error items, measures record age and judges events from
	// the future (default time.Now).
	Now func() time.Time
}

// Handler processes batches of stream records. It is safe for concurrent
// use.
type Handler struct {
	store   Store
	conc    int
	margin  time.Duration
	skew    time.Duration
	log     *slog.Logger
	now     func() time.Time
	metrics *emfWriter
}

// New returns a Handler that writes to s.
func New(s Store, o Options) *Handler {
	h := &Handler{store: s, conc: o.Concurrency, margin: o.DeadlineMargin, skew: o.MaxClockSkew, log: o.Logger, now: o.Now}
	if h.conc < 1 {
		h.conc = DefaultConcurrency
	}
	if h.margin <= 0 {
		h.margin = DefaultDeadlineMargin
	}
	if h.skew <= 0 {
		h.skew = DefaultMaxClockSkew
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	if o.Metrics != nil {
		ns := o.Namespace
		if ns == "" {
			ns = DefaultNamespace
		}
		h.metrics = newEMFWriter(o.Metrics, ns, o.FunctionName)
	}
	return h
}

// state is where a record of a batch ended.
type state uint8

const (
	stateNotStarted state = iota // the deadline came first
	stateDone                    // projected, or stored in errors
	stateFailed                  // transient failure
	stateSkipped                 // an earlier record of its key failed
)

// kind is what a done record was.
type kind uint8

const (
	kindNone kind = iota
	kindMovie
	kindRun
	kindPermanent
)

type result struct {
	state   state
	kind    kind
	outcome store.Outcome
}

// batch is one call of Handle.
type batch struct {
	h      *Handler
	recs   []Record
	res    []result
	stopAt time.Time // zero: no deadline
	// future: an event stamped after this comes from the future (the
	// clock at the start of the batch plus the allowed skew).
	future time.Time
}

// Handle projects recs and returns the records to deliver again (see the
// package documentation for which ones) with the batch's figures. The
// records of each partition key must be in stream order; a batch may mix
// shards (Lambda's come from one, a replay's need not). Handle has no
// error to return: every record ends up projected, stored in errors or in
// Result.Retry. Batches holding records of the same partition key must not
// run at the same time, or their events could be applied out of order;
// Lambda's mapping (and devstack's) never does that.
func (h *Handler) Handle(ctx context.Context, recs []Record) Result {
	t0 := time.Now()
	b := batch{h: h, recs: recs, res: make([]result, len(recs)), future: h.now().Add(h.skew)}
	work := ctx
	if d, ok := ctx.Deadline(); ok {
		b.stopAt = d.Add(-h.margin)
		var cancel context.CancelFunc
		work, cancel = context.WithDeadline(ctx, d.Add(-h.margin/4))
		defer cancel()
	}
	b.run(work)
	return Result{Retry: b.retry(), Metrics: h.report(ctx, &b, time.Since(t0))}
}

// run works on the batch's partition keys concurrently, each key's
// records in order.
func (b *batch) run(ctx context.Context) {
	heads, next := b.group()
	workers := min(b.h.conc, len(heads))
	if workers <= 1 {
		for _, head := range heads {
			b.runKey(ctx, head, next)
		}
		return
	}
	var cursor atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				g := cursor.Add(1) - 1
				if g >= int64(len(heads)) {
					return
				}
				b.runKey(ctx, heads[g], next)
			}
		})
	}
	wg.Wait()
}

// group links the records of each partition key: heads holds the first
// record of each key in order of appearance, next[i] the key's record
// after i (-1: none).
func (b *batch) group() (heads, next []int32) {
	n := len(b.recs)
	next = make([]int32, n)
	tails := make([]int32, 0, 16)
	heads = make([]int32, 0, 16)
	keys := make(map[string]int32, min(n, 1024))
	for i := range b.recs {
		next[i] = -1
		k := b.recs[i].PartitionKey
		if g, ok := keys[k]; ok {
			next[tails[g]] = int32(i)
			tails[g] = int32(i)
			continue
		}
		keys[k] = int32(len(heads))
		heads = append(heads, int32(i))
		tails = append(tails, int32(i))
	}
	return heads, next
}

// runKey handles the records of one key in order. After a failed record
// the key's later records are skipped: applying them would let a later
// event overtake the failed one.
func (b *batch) runKey(ctx context.Context, head int32, next []int32) {
	halted, stopped := false, false
	for i := head; i >= 0; i = next[i] {
		switch {
		case halted:
			b.res[i].state = stateSkipped
		case stopped || b.stopping(ctx):
			stopped = true // stays stateNotStarted, like the rest of the key
		default:
			b.process(ctx, int(i))
			halted = b.res[i].state == stateFailed
		}
	}
}

func (b *batch) stopping(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	return !b.stopAt.IsZero() && !time.Now().Before(b.stopAt)
}

// ids identify a record's event in logs and error items, as far as known.
type ids struct {
	eventID, runID string
	// movie is true for movie.observed events: only they count towards
	// a run's progress (Run.Published counts movie events).
	movie bool
}

// process handles record i; it sets b.res[i].
func (b *batch) process(ctx context.Context, i int) {
	defer func() {
		if p := recover(); p != nil {
			b.res[i] = result{state: stateFailed}
			b.h.log.LogAttrs(ctx, slog.LevelError, "panic processing record",
				slog.String("shard_id", b.recs[i].ShardID),
				slog.String("sequence_number", b.recs[i].SequenceNumber),
				slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
		}
	}()
	v := b.h.project(ctx, &b.recs[i], b.future)
	switch {
	case v.err == nil:
		b.res[i] = result{state: stateDone, kind: v.kind, outcome: v.outcome}
	case v.stage != "":
		b.permanent(ctx, i, v.stage, v.err, v.id)
	default:
		b.fail(ctx, i, v.err, v.id)
	}
}

// verdict is what projecting one record came to: done (err nil, with
// kind and outcome), a permanent failure (stage set, err the cause) or a
// failure to retry (stage empty).
type verdict struct {
	kind    kind
	outcome store.Outcome
	stage   store.Stage
	err     error
	id      ids
}

// project decodes rec and applies it to the projections; it stores
// nothing in errors (its caller does, for a permanent failure). Events
// stamped after future come from the future.
func (h *Handler) project(ctx context.Context, rec *Record, future time.Time) verdict {
	e, err := events.Decode(rec.Data)
	if err != nil {
		f := events.FailureOf(rec.Data, err)
		return verdict{stage: decodeStage(f), err: err, id: ids{eventID: f.ID, runID: f.RunID, movie: f.Movie}}
	}
	_, movie := e.Data.(events.MovieObserved)
	id := ids{eventID: e.ID, runID: e.RunID, movie: movie}
	if e.Time.After(future) {
		return verdict{stage: store.StageValidate, id: id, err: fmt.Errorf("event time %s is more than %s ahead of the processor's clock (%s): a producer's clock is wrong",
			e.Time.UTC().Format(time.RFC3339Nano), h.skew, future.Add(-h.skew).UTC().Format(time.RFC3339Nano))}
	}
	st := h.store
	switch d := e.Data.(type) {
	case events.MovieObserved:
		dig := digest(rec.Data)
		out, err := st.ApplyMovie(ctx, movieOf(e, d, dig))
		if err != nil {
			return storeFailed(ctx, fmt.Errorf("apply movie %s: %w", e.Subject, err), id)
		}
		if out == store.Conflict {
			return verdict{stage: store.StageConflict, id: id, err: fmt.Errorf("event %s of movie %s was applied before with other content; this copy (digest %s) is not applied",
				e.ID, e.Subject, dig)}
		}
		// Every observation goes into the history, a stale one too: the
		// history is order-independent, a late event finds its place.
		if err := st.RecordObservation(ctx, observationOf(e, d)); err != nil {
			return storeFailed(ctx, fmt.Errorf("record observation of movie %s: %w", e.Subject, err), id)
		}
		if _, err := st.CountEvent(ctx, e.RunID, e.ID, store.CounterProcessed, dig); err != nil {
			return storeFailed(ctx, fmt.Errorf("count event of run %s: %w", e.RunID, err), id)
		}
		return verdict{kind: kindMovie, outcome: out, id: id}
	case events.ScrapeStarted:
		if err := st.StartRun(ctx, store.Run{ID: e.RunID, Source: e.Source, StartedAt: e.Time, Trigger: d.Trigger}); err != nil {
			return storeFailed(ctx, fmt.Errorf("start run %s: %w", e.RunID, err), id)
		}
		return verdict{kind: kindRun, id: id}
	case events.ScrapeCompleted:
		if err := st.CompleteRun(ctx, runOf(e, d)); err != nil {
			return storeFailed(ctx, fmt.Errorf("complete run %s: %w", e.RunID, err), id)
		}
		return verdict{kind: kindRun, id: id}
	}
	return verdict{stage: store.StageProject, id: id, err: fmt.Errorf("no projection for event type %s", e.Type())}
}

// PermanentError is Project's error for a record that can never be
// projected: Stage says where it failed, Err why.
type PermanentError struct {
	Stage store.Stage
	// EventID and RunID identify the record's event as far as it could
	// be read.
	EventID, RunID string
	Err            error
}

// Error says the stage and the cause.
func (e *PermanentError) Error() string { return string(e.Stage) + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *PermanentError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrPermanent) true.
func (e *PermanentError) Is(target error) bool { return target == ErrPermanent }

// ErrPermanent matches every *PermanentError.
var ErrPermanent = errors.New("permanent failure")

// Project applies one record to the projections as Handle does, but
// stores nothing in errors and counts no failure: tools/replay's redrive
// uses it to try again a record that failed before, and decides itself
// what to do with the verdict. It returns nil when the record is done
// (applied, a duplicate or stale), a *PermanentError (matching
// ErrPermanent) when it can never be projected, or another error when it
// failed and may succeed later (throttling, a deadline, a store failure
// nobody classified).
func (h *Handler) Project(ctx context.Context, rec Record) error {
	v := h.project(ctx, &rec, h.now().Add(h.skew))
	switch {
	case v.err == nil:
		return nil
	case v.stage != "":
		return &PermanentError{Stage: v.stage, EventID: v.id.eventID, RunID: v.id.runID, Err: v.err}
	}
	return v.err
}

// storeFailed classifies a store error. Only store.ErrInvalid (the store
// refusing this input for good) is permanent: the record goes to errors
// and its shard moves on. Anything else fails the record, to be retried and,
// once the mapping's retries run out, stored by errorsink from the
// on-failure destination: an error the store did not classify (access
// denied, a table being recreated, bad credentials) must not divert the
// stream into errors past the checkpoint. An invalid-input error while the
// context is done is failed too: retrying it is safe, storing it is not
// needed yet.
//
// store.ErrConflict (an event id seen before with other content) is
// permanent too, with its own stage.
func storeFailed(ctx context.Context, err error, id ids) verdict {
	switch {
	case transient(ctx, err):
	case errors.Is(err, store.ErrConflict):
		return verdict{stage: store.StageConflict, err: err, id: id}
	case errors.Is(err, store.ErrInvalid):
		return verdict{stage: store.StageProject, err: err, id: id}
	}
	return verdict{err: err, id: id}
}

// transient reports whether err is known to be worth retrying: the store
// says so, or the call ran out of time.
func transient(ctx context.Context, err error) bool {
	return errors.Is(err, store.ErrTransient) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, context.Canceled) || ctx.Err() != nil
}

// fail marks record i as failed, to be reported and retried. A failure
// not known to be transient (an unclassified store error such as a missing
// permission) is logged as an error: retries will not cure it, an operator
// must.
func (b *batch) fail(ctx context.Context, i int, err error, id ids) {
	b.res[i] = result{state: stateFailed}
	rec := &b.recs[i]
	level, msg := slog.LevelWarn, "transient failure, record will be retried"
	if !transient(ctx, err) {
		level, msg = slog.LevelError, "failure not known to be transient, record will be retried"
	}
	b.h.log.LogAttrs(ctx, level, msg,
		slog.String("event_id", id.eventID), slog.String("run_id", id.runID),
		slog.String("shard_id", rec.ShardID), slog.String("sequence_number", rec.SequenceNumber),
		slog.String("partition_key", rec.PartitionKey), slog.String("error", text.Clip(err.Error(), store.MaxReason)))
}

// permanent stores record i in errors and counts it as failed for its
// run. If either write fails, the record is a transient failure: it must
// not be checkpointed before it is stored.
func (b *batch) permanent(ctx context.Context, i int, stage store.Stage, cause error, id ids) {
	rec := &b.recs[i]
	shard, seq := rec.ShardID, rec.SequenceNumber
	now := b.h.now().UTC()
	data := rec.Data
	item := store.ErrorItem{
		ID:             store.ErrorID(stage, shard, seq, id.eventID),
		Stage:          stage,
		Reason:         text.Clip(cause.Error(), store.MaxReason),
		EventID:        id.eventID,
		RunID:          id.runID,
		Payload:        bytes.Clone(data[:min(len(data), store.MaxPayload)]),
		PayloadSize:    len(data),
		ShardID:        shard,
		SequenceNumber: seq,
		PartitionKey:   rec.PartitionKey,
		StreamARN:      rec.StreamARN,
		Attempts:       1,
		FirstFailure:   now,
		LastFailure:    now,
		ExpiresAt:      now.Add(contract.ErrorTTL),
	}
	if err := b.h.store.PutError(ctx, item); err != nil {
		b.fail(ctx, i, fmt.Errorf("store permanent failure (%s): %w", text.Clip(cause.Error(), store.MaxReason), err), id)
		return
	}
	if id.movie && id.runID != "" {
		key := store.EventKey(id.eventID, shard, seq)
		if _, err := b.h.store.CountEvent(ctx, id.runID, key, store.CounterFailed, ""); err != nil {
			b.fail(ctx, i, fmt.Errorf("count failed event of run %s: %w", id.runID, err), id)
			return
		}
	}
	b.res[i] = result{state: stateDone, kind: kindPermanent}
	b.h.log.LogAttrs(ctx, slog.LevelWarn, "permanent failure stored in errors",
		slog.String("stage", string(stage)), slog.String("error_id", item.ID),
		slog.String("event_id", id.eventID), slog.String("run_id", id.runID),
		slog.String("shard_id", shard), slog.String("sequence_number", seq),
		slog.String("partition_key", rec.PartitionKey), slog.String("reason", item.Reason))
}

// retry lists the index of every record that is not done, in batch
// order. Lambda checkpoints before the lowest of them in each shard.
func (b *batch) retry() []int {
	var out []int
	for i := range b.res {
		if b.res[i].state != stateDone {
			out = append(out, i)
		}
	}
	return out
}

// decodeStage tells a decoding failure (the bytes are not an event this
// version understands) from a validation failure (an event that breaks a
// rule).
func decodeStage(f events.Failure) store.Stage {
	if f.Invalid {
		return store.StageValidate
	}
	return store.StageDecode
}

// digest identifies a record's content: the same event id with another
// digest is a conflict. 128 bits of SHA-256 of the record's bytes, as
// they came off the stream.
func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

// observationOf is the point an observation adds to its movie's history.
func observationOf(e events.Event, d events.MovieObserved) store.Observation {
	return store.Observation{
		MovieID:    e.Subject,
		ObservedAt: e.Time,
		EventID:    e.ID,
		RunID:      e.RunID,
		Rank:       d.Rank,
		Rating:     d.Rating.Value,
		Votes:      int(d.Rating.Votes),
	}
}

// movieOf is the projection of one observation, whose record has the
// given digest.
func movieOf(e events.Event, d events.MovieObserved, digest string) store.Movie {
	return store.Movie{
		ID:              e.Subject,
		Title:           d.Title,
		Year:            d.Year,
		Rank:            d.Rank,
		Rating:          d.Rating.Value,
		Votes:           int(d.Rating.Votes),
		Director:        d.Director,
		Genres:          d.Genres,
		RuntimeMinutes:  d.RuntimeMinutes,
		DetailURL:       d.DetailURL,
		Source:          e.Source,
		FirstSeen:       e.Time,
		LastSeen:        e.Time,
		LastRunID:       e.RunID,
		LastEventID:     e.ID,
		LastEventTime:   e.Time,
		LastEventDigest: digest,
	}
}

// runOf is the final state of a run as scrape.completed tells it. The
// start time is derived from the duration in case scrape.started was
// never projected.
func runOf(e events.Event, d events.ScrapeCompleted) store.Run {
	return store.Run{
		ID:            e.RunID,
		Source:        e.Source,
		StartedAt:     e.Time.Add(-time.Duration(d.DurationMs) * time.Millisecond),
		FinishedAt:    e.Time,
		Completed:     true,
		Published:     d.Published,
		PublishFailed: d.Failed,
		Skipped:       d.Skipped,
		Pages:         d.Pages,
		Unchanged:     d.Unchanged,
		DurationMs:    d.DurationMs,
		Error:         d.Error,
	}
}
