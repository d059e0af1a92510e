// Package errorsink stores the records that the processor's event source
// mapping gave up on. Lambda sends the on-failure destination (an SQS
// queue) only the batch's metadata (see [OnFailure], the one definition of
// that record: devstack's mapping builds it too); the handler reads the
// records themselves back from the stream by shard and sequence range and
// puts each one in the errors table, so that nothing is silently dropped.
//
// The core takes the project's own types: [Handler.Handle] takes the
// queue's [Message]s and returns a [Result]. Lambda's SQS event stays in
// package lambdaadapter, which maps it in and the partial batch response
// out; the Lambda entry point (cmd/lambda) hands its function to
// lambda.Start and devstack's SQS mapping invokes that same function with
// the same event JSON.
//
// # What each message becomes
//
//   - Every record of the range that can still be read and that the
//     processor did not handle: one error item, stage "retries_exhausted"
//     (unless the record does not decode, below), with the message's
//     condition and attempts (approximateInvokeCount),
//     the raw record (cut to store.MaxPayload), its shard, sequence number
//     and partition key, and the event and run ids when the record is a
//     CloudEvent. The range runs from the batch's first record to its
//     last, so it also holds records the processor projected or stored as
//     permanent failures (other partition keys after the lowest reported
//     failure), and those are not stored twice:
//   - a record that does not decode gets exactly the item the processor
//     gives it (stage "decode" or "validate", the decoder's reason, the
//     same id) and, for a movie event of a run, the same failed count
//     under the same key: one item and one count, whoever got there first;
//   - a movie.observed event of a known run is stored with store
//     FailEvent, which writes the item and counts the event as failed for
//     its run only if the event's progress marker is absent, and skips it
//     otherwise;
//   - a run event is skipped when the run already shows its effect (a
//     source and a start for scrape.started, completed for
//     scrape.completed); any other record is stored.
//   - Records no longer on the stream (retention expired, shard gone), or
//     fewer records than the batch had: one metadata-only item for the
//     range saying so.
//   - A message that is not a usable on-failure record: one metadata-only
//     item holding the message body.
//
// Item ids are deterministic (store.ErrorID of the shard and sequence
// number, or of the range, or of the SQS message id) and their times come
// from the message, so handling the same message twice yields the same
// items. A message whose items could not all be stored (a store failure,
// a read failure other than trimming, the deadline) is reported in the SQS
// partial batch response and comes back later; the queue's redrive policy
// moves it to a dead-letter queue if it keeps failing.
package errorsink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

// Store is where the handler writes. store.Store (the embedded and
// DynamoDB adapters) satisfies it. Implementations are safe for concurrent
// use and honour ctx's deadline.
type Store interface {
	// PutError stores e; storing an item with the same ID again updates
	// it (idempotent).
	PutError(ctx context.Context, e store.ErrorItem) error
	// FailEvent records that event eventID of run runID failed for good:
	// in one transaction it writes the event's progress marker, adds one to
	// the run's failed counter and stores e. If the marker already exists
	// (the processor projected the event or stored it as a permanent
	// failure, or it failed before), nothing is written and it returns
	// false.
	FailEvent(ctx context.Context, runID, eventID string, e store.ErrorItem) (bool, error)
	// GetRun returns the run or store.ErrNotFound: it tells whether the
	// processor projected a run event.
	GetRun(ctx context.Context, id string) (store.Run, error)
}

var _ Store = store.Store(nil)

// DefaultDeadlineMargin is the default of Options.DeadlineMargin.
const DefaultDeadlineMargin = 2 * time.Second

// Options tunes a Handler; zero values select the defaults.
type Options struct {
	// DeadlineMargin: once the context's deadline is closer than this, no
	// message is started any more and the rest are reported as failed;
	// calls still running are cancelled a quarter of the margin before the
	// deadline. Default DefaultDeadlineMargin.
	DeadlineMargin time.Duration
	// Logger receives one line per message (default slog.Default()).
	Logger *slog.Logger
	// Now stamps items of messages that carry no time (default time.Now).
	Now func() time.Time
}

// Handler handles batches of on-failure messages. It is safe for
// concurrent use.
type Handler struct {
	reader stream.RangeReader
	store  Store
	margin time.Duration
	log    *slog.Logger
	now    func() time.Time
}

// New returns a Handler that reads records back through r and stores them
// in s.
func New(r stream.RangeReader, s Store, o Options) *Handler {
	h := &Handler{reader: r, store: s, margin: o.DeadlineMargin, log: o.Logger, now: o.Now}
	if h.margin <= 0 {
		h.margin = DefaultDeadlineMargin
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h
}

// Message is one on-failure message as the queue delivered it.
type Message struct {
	// ID is the queue's message id: it names the message in Result and
	// the item of an unusable message.
	ID string
	// Body is the message's body: an on-failure record (see OnFailure) or,
	// if something else was sent to the queue, anything.
	Body []byte
	// SentAt is when the queue received the message (SQS's SentTimestamp);
	// zero when unknown. It stamps the items of a message whose record
	// carries no time.
	SentAt time.Time
}

// Result is what Handle reports of a batch of messages.
type Result struct {
	// Retry holds, in batch order, the index in the batch of every message
	// whose items could not all be stored (a store or read failure, the
	// deadline). They must be delivered again; storing a message again
	// yields the same items. Nil when every message is done.
	Retry []int
}

// Handle stores the records of each message of msgs and reports the
// messages it could not finish. It has no error to return: every message
// is either stored or in Result.Retry.
func (h *Handler) Handle(ctx context.Context, msgs []Message) Result {
	var res Result
	work := ctx
	var stopAt time.Time
	if d, ok := ctx.Deadline(); ok {
		stopAt = d.Add(-h.margin)
		var cancel context.CancelFunc
		work, cancel = context.WithDeadline(ctx, d.Add(-h.margin/4))
		defer cancel()
	}
	for i, msg := range msgs {
		var err error
		if work.Err() != nil || (!stopAt.IsZero() && !time.Now().Before(stopAt)) {
			err = errors.New("not started: the deadline is near")
		} else {
			err = h.message(work, msg)
		}
		if err != nil {
			h.log.LogAttrs(ctx, slog.LevelWarn, "on-failure message not stored, it will be retried",
				slog.String("message_id", msg.ID), slog.String("error", err.Error()))
			res.Retry = append(res.Retry, i)
		}
	}
	return res
}

// message stores what one message describes; an error means it must be
// retried.
func (h *Handler) message(ctx context.Context, msg Message) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	body := msg.Body
	of, derr := DecodeOnFailure(body)
	at := h.failureTime(of, msg)
	if derr != nil {
		return h.badMessage(ctx, msg, of, at, derr)
	}
	b, rc := of.KinesisBatchInfo, of.RequestContext
	read := 0
	rerr := h.reader.ReadRange(ctx, b.StreamARN, b.ShardID, b.StartSequenceNumber, b.EndSequenceNumber,
		func(rec stream.Stored) error {
			read++
			return h.record(ctx, of, rec, at)
		})
	trimmed := errors.Is(rerr, stream.ErrTrimmed)
	if rerr != nil && !trimmed {
		return fmt.Errorf("read back shard %s %s..%s: %w", b.ShardID, b.StartSequenceNumber, b.EndSequenceNumber, rerr)
	}
	if trimmed || read == 0 || read < b.BatchSize {
		why := "the others are no longer on the stream (retention expired or shard gone)"
		if !trimmed {
			why = "the range held no more records"
		}
		item := h.item(of, at)
		item.ID = store.ErrorID(store.StageRetriesExhausted, b.ShardID, b.StartSequenceNumber+".."+b.EndSequenceNumber, "range")
		item.Reason = fmt.Sprintf("%s; %d of the batch's %d records could be read back, %s", reason(rc), read, b.BatchSize, why)
		item.SequenceNumber = b.StartSequenceNumber
		item.Payload = clipPayload(body)
		item.PayloadSize = len(body)
		if err := h.store.PutError(ctx, item); err != nil {
			return fmt.Errorf("store range item: %w", err)
		}
		h.log.LogAttrs(ctx, slog.LevelWarn, "records of a discarded batch are missing from the stream",
			slog.String("message_id", msg.ID), slog.String("shard_id", b.ShardID),
			slog.String("start_sequence_number", b.StartSequenceNumber), slog.String("end_sequence_number", b.EndSequenceNumber),
			slog.Int("read", read), slog.Int("batch_size", b.BatchSize), slog.String("error_id", item.ID))
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "discarded batch stored in errors",
		slog.String("message_id", msg.ID), slog.String("condition", rc.Condition),
		slog.Int("attempts", rc.ApproximateInvokeCount), slog.String("shard_id", b.ShardID),
		slog.String("start_sequence_number", b.StartSequenceNumber), slog.String("end_sequence_number", b.EndSequenceNumber),
		slog.Int("records", read))
	return nil
}

// record stores one record read back. The range of a discarded batch also
// holds records that the processor projected or stored as permanent
// failures, and those are not failures of the batch:
//   - a record that does not decode is stored as the processor stores it
//     (see undecodable), so it has one item whoever stores it first;
//   - a movie event with an event and a run id goes through FailEvent: it
//     is stored and counted as failed for its run only if its progress
//     marker is absent;
//   - a run event is skipped when the run shows its effect (a source and
//     a start time for scrape.started, completed for scrape.completed):
//     projecting it again would change nothing. That the run exists is
//     not enough: counting a movie event creates it;
//   - anything else (unreadable, unknown type) is stored as it is.
func (h *Handler) record(ctx context.Context, of OnFailure, rec stream.Stored, at time.Time) error {
	b := of.KinesisBatchInfo
	shard := rec.ShardID
	if shard == "" {
		shard = b.ShardID
	}
	env := events.Peek(rec.Data)
	item := h.item(of, at)
	item.ID = store.ErrorID(store.StageRetriesExhausted, shard, rec.SequenceNumber, "")
	item.Reason = reason(of.RequestContext)
	item.EventID, item.RunID = env.ID, env.RunID
	item.Payload = clipPayload(rec.Data)
	item.PayloadSize = len(rec.Data)
	item.ShardID = shard
	item.SequenceNumber = rec.SequenceNumber
	item.PartitionKey = rec.PartitionKey
	if _, err := events.Decode(rec.Data); err != nil {
		return h.undecodable(ctx, item, rec.Data, err)
	}
	skipped := func() {
		h.log.LogAttrs(ctx, slog.LevelDebug, "record of a discarded batch skipped: already handled",
			slog.String("type", env.Type), slog.String("event_id", env.ID), slog.String("run_id", env.RunID),
			slog.String("shard_id", shard), slog.String("sequence_number", rec.SequenceNumber),
			slog.String("partition_key", rec.PartitionKey))
	}
	if env.Type == events.TypeMovieObserved && env.ID != "" && env.RunID != "" {
		failed, err := h.store.FailEvent(ctx, env.RunID, env.ID, item)
		if err != nil {
			return fmt.Errorf("store failed event %s of run %s (record %s): %w", env.ID, env.RunID, rec.SequenceNumber, err)
		}
		if !failed {
			skipped()
		}
		return nil
	}
	if (env.Type == events.TypeScrapeStarted || env.Type == events.TypeScrapeCompleted) && env.RunID != "" {
		run, err := h.store.GetRun(ctx, env.RunID)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return fmt.Errorf("read run %s (record %s): %w", env.RunID, rec.SequenceNumber, err)
		case env.Type == events.TypeScrapeStarted && run.Source != "" && !run.StartedAt.IsZero(),
			env.Type == events.TypeScrapeCompleted && run.Completed:
			skipped()
			return nil
		}
	}
	if err := h.store.PutError(ctx, item); err != nil {
		return fmt.Errorf("store record %s: %w", rec.SequenceNumber, err)
	}
	return nil
}

// undecodable stores a record that does not decode. Decoding fails the same
// way wherever a record is read, so it gets the processor's item (the same
// id, stage and reason; see processor.permanent) and, for a movie event of
// a run, the processor's failed count under the same key: one item and one
// count stand for it, whether the processor stored it before the batch
// was discarded or never got to it.
func (h *Handler) undecodable(ctx context.Context, item store.ErrorItem, raw []byte, cause error) error {
	f := events.FailureOf(raw, cause)
	item.Stage = store.StageDecode
	if f.Invalid {
		item.Stage = store.StageValidate
	}
	item.ID = store.ErrorID(item.Stage, item.ShardID, item.SequenceNumber, f.ID)
	item.Reason = text.Clip(cause.Error(), store.MaxReason)
	if f.Movie && f.RunID != "" {
		key := store.EventKey(f.ID, item.ShardID, item.SequenceNumber)
		failed, err := h.store.FailEvent(ctx, f.RunID, key, item)
		if err != nil {
			return fmt.Errorf("store undecodable record %s of run %s: %w", item.SequenceNumber, f.RunID, err)
		}
		if failed {
			return nil
		}
		// Counted before: the processor stored it too (same item).
	}
	if err := h.store.PutError(ctx, item); err != nil {
		return fmt.Errorf("store undecodable record %s: %w", item.SequenceNumber, err)
	}
	return nil
}

// badMessage stores a message that does not locate any records.
func (h *Handler) badMessage(ctx context.Context, msg Message, of OnFailure, at time.Time, cause error) error {
	item := h.item(of, at)
	item.ID = store.ErrorID(store.StageRetriesExhausted, "", "", "sqs-message:"+msg.ID)
	item.Reason = "unusable on-failure message, its records were not read back: " + text.Clip(cause.Error(), store.MaxReason)
	item.Payload = clipPayload(msg.Body)
	item.PayloadSize = len(msg.Body)
	// Only what passed the checks names a table key or a stream.
	if checkToken("", item.ShardID, maxShardID, true) != nil {
		item.ShardID = ""
	}
	if checkToken("", item.StreamARN, maxARN, true) != nil {
		item.StreamARN = ""
	}
	if checkToken("", item.Condition, maxToken, true) != nil {
		item.Condition = ""
	}
	item.Attempts = max(item.Attempts, 0)
	if err := h.store.PutError(ctx, item); err != nil {
		return fmt.Errorf("store unusable message: %w", err)
	}
	h.log.LogAttrs(ctx, slog.LevelError, "unusable on-failure message stored in errors",
		slog.String("message_id", msg.ID), slog.String("error_id", item.ID), slog.String("reason", item.Reason))
	return nil
}

// item is the part of an error item that every item of a message shares.
func (h *Handler) item(of OnFailure, at time.Time) store.ErrorItem {
	return store.ErrorItem{
		Stage:        store.StageRetriesExhausted,
		ShardID:      of.KinesisBatchInfo.ShardID,
		StreamARN:    of.KinesisBatchInfo.StreamARN,
		Condition:    of.RequestContext.Condition,
		Attempts:     of.RequestContext.ApproximateInvokeCount,
		FirstFailure: at,
		LastFailure:  at,
		ExpiresAt:    at.Add(contract.ErrorTTL),
	}
}

// failureTime is when the mapping gave up: the record's timestamp, else
// when SQS received the message, else now. Using the message's own time
// makes the items of a redelivered message identical.
func (h *Handler) failureTime(of OnFailure, msg Message) time.Time {
	if t := of.Timestamp; !t.IsZero() && t.Year() > 2000 && t.Year() < 10000 {
		return t.UTC()
	}
	if !msg.SentAt.IsZero() {
		return msg.SentAt.UTC()
	}
	return h.now().UTC()
}

func reason(rc RequestContext) string {
	cond := rc.Condition
	if cond == "" {
		cond = "unknown condition"
	}
	s := fmt.Sprintf("batch discarded by the event source mapping (%s) after %d invocations", cond, rc.ApproximateInvokeCount)
	if rc.FunctionARN != "" {
		s += " of " + rc.FunctionARN
	}
	return s
}

func clipPayload(b []byte) []byte { return bytes.Clone(b[:min(len(b), store.MaxPayload)]) }
