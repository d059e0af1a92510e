package replay

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
	"github.com/scrape-pipeline/scrape-pipeline/services/processor"
)

// RedriveReport is what a redrive did.
type RedriveReport struct {
	// Open is the number of unresolved error items found. Of them,
	// Resolved now succeed (their records are applied and their runs'
	// counts moved from failed to processed); StillFailing failed again
	// (their attempts raised, their reason the new one), Transient of
	// them only for now (the store failed); Cut were not tried, their
	// payload having been cut at store.MaxPayload when they were stored.
	Open, Resolved, StillFailing, Transient, Cut int
	// Moved is the number of messages moved from the error sink's
	// dead-letter queue DLQ back to the on-failure queue Queue; DLQNote
	// says why none were, when none were.
	Moved      int64
	Queue, DLQ string
	DLQNote    string
	Duration   time.Duration
}

func (r RedriveReport) print(w io.Writer, target string) {
	fmt.Fprintf(w, "redrive of %s: %d open errors: %d resolved, %d still failing (%d of them transiently; attempts raised), %d not redriven (payload cut when stored)\n",
		target, r.Open, r.Resolved, r.StillFailing, r.Transient, r.Cut)
	switch {
	case r.Moved > 0:
		fmt.Fprintf(w, "  dead-letter queue %s: %d messages moved back to %s; the error sink stores (or skips, if already applied) their records when it runs next: redrive again after that\n",
			r.DLQ, r.Moved, r.Queue)
	case r.DLQ != "":
		fmt.Fprintf(w, "  dead-letter queue %s: %s\n", r.DLQ, r.DLQNote)
	default:
		fmt.Fprintf(w, "  dead-letter queue: %s\n", r.DLQNote)
	}
}

// projector projects one record without storing errors;
// *processor.Handler is one. It returns nil when the record is done
// (applied, a duplicate or stale), an error matching
// processor.ErrPermanent when it can never be projected, another error
// when it may succeed later.
type projector interface {
	Project(ctx context.Context, rec processor.Record) error
}

var _ projector = (*processor.Handler)(nil)

// errorStore is what a redrive reads and writes of the errors table.
type errorStore interface {
	ListErrors(ctx context.Context, limit int, token store.PageToken) (store.Page[store.ErrorItem], error)
	GetError(ctx context.Context, id string) (store.ErrorItem, error)
	PutError(ctx context.Context, e store.ErrorItem) error
	ResolveError(ctx context.Context, id string, at time.Time) (bool, error)
}

// cutNote begins the reason of an error item whose payload was cut.
const cutNote = "cannot be redriven: "

// redriveWorkers is how many partition keys a redrive works on at once.
const redriveWorkers = 16

// redrive feeds the target's open error items through today's processor,
// then moves the error sink's dead-letter queue back to the on-failure
// queue.
func (t *Tool) redrive(ctx context.Context) (RedriveReport, error) {
	start := time.Now()
	plog := slog.New(minLevel{t.o.Logger.Handler(), slog.LevelWarn}).With("component", "processor")
	h := processor.New(t.target, processor.Options{Logger: plog})
	rep, err := redriveErrors(ctx, t.target, h, t.o.Now, t.o.Logger)
	if err == nil && t.queues != nil {
		rep.Queue, rep.DLQ = t.queues.names()
		rep.Moved, rep.DLQNote, err = t.queues.move(ctx)
	} else if err == nil {
		rep.DLQNote = "none (no " + StreamFile + " in the data directory: devstack never ran on it)"
	}
	rep.Duration = time.Since(start)
	return rep, err
}

// redriveErrors redrives every open item of s through p. The records of
// one partition key are redriven one after the other, in stream order
// (shard, then sequence number), so that an earlier event cannot
// overtake a later one of the same key; keys are worked on at once.
//
// An item whose record now succeeds is resolved (ResolveError: resolved
// at now, its run's count moved from failed to processed). One that fails
// again stays open with Attempts raised by one and the new reason; a
// later redrive tries it again (another attempt). One whose payload was
// cut when it was stored cannot be redriven: its reason says so, once,
// and it is skipped. When ctx ends, the items in flight are finished and
// the redrive stops with an error matching ErrInterrupted; running it
// again is safe.
func redriveErrors(ctx context.Context, s errorStore, p projector, now func() time.Time, log *slog.Logger) (RedriveReport, error) {
	var rep RedriveReport
	var open []store.ErrorItem
	var token store.PageToken
	for {
		page, err := s.ListErrors(ctx, pageLimit, token)
		if err != nil {
			return rep, fmt.Errorf("list errors: %w", err)
		}
		for _, e := range page.Items {
			if e.Resolved.IsZero() {
				open = append(open, e)
			}
		}
		if token = page.Next; token == nil {
			break
		}
	}
	rep.Open = len(open)
	slices.SortFunc(open, func(a, b store.ErrorItem) int {
		return cmp.Or(strings.Compare(a.PartitionKey, b.PartitionKey), strings.Compare(a.ShardID, b.ShardID),
			compareSeq(a.SequenceNumber, b.SequenceNumber), strings.Compare(a.ID, b.ID))
	})
	var keys [][]store.ErrorItem // the items of each key, in order
	for i := 0; i < len(open); {
		j := i + 1
		for j < len(open) && open[j].PartitionKey == open[i].PartitionKey {
			j++
		}
		keys = append(keys, open[i:j])
		i = j
	}

	work := context.WithoutCancel(ctx) // items in flight finish
	var mu sync.Mutex
	var errs []error
	next := make(chan []store.ErrorItem)
	var wg sync.WaitGroup
	for range min(redriveWorkers, len(keys)) {
		wg.Go(func() {
			for items := range next {
				for _, e := range items {
					out, err := redriveOne(work, s, p, e, now)
					mu.Lock()
					switch {
					case err != nil:
						errs = append(errs, err)
					case out == outResolved:
						rep.Resolved++
					case out == outCut:
						rep.Cut++
					case out == outTransient:
						rep.StillFailing++
						rep.Transient++
					case out == outFailed:
						rep.StillFailing++
					}
					mu.Unlock()
					if err != nil || out == outTransient {
						// The key's later records stay behind it, to
						// keep its order, as the processor keeps them
						// behind a transient failure; they are tried
						// next time. (A permanent failure does not
						// hold its key up.)
						break
					}
				}
			}
		})
	}
	interrupted := false
feed:
	for _, items := range keys {
		select {
		case next <- items:
		case <-ctx.Done():
			interrupted = true
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return rep, err
	}
	if interrupted {
		return rep, fmt.Errorf("redrive %w; run it again to go on (resolved items are not tried again)", ErrInterrupted)
	}
	log.Info("errors redriven", "open", rep.Open, "resolved", rep.Resolved, "still_failing", rep.StillFailing, "cut", rep.Cut)
	return rep, nil
}

type outcome int

const (
	outResolved outcome = iota + 1
	outFailed
	outTransient
	outCut
	outGone
)

// redriveOne redrives the record of item e.
func redriveOne(ctx context.Context, s errorStore, p projector, e store.ErrorItem, now func() time.Time) (outcome, error) {
	full, err := s.GetError(ctx, e.ID)
	if errors.Is(err, store.ErrNotFound) {
		return outGone, nil // expired since it was listed
	}
	if err != nil {
		return 0, fmt.Errorf("get error %s: %w", e.ID, err)
	}
	e = full
	if len(e.Payload) < e.PayloadSize {
		if strings.HasPrefix(e.Reason, cutNote) {
			return outCut, nil
		}
		e.Reason = text.Clip(fmt.Sprintf("%sits payload was cut at %d of %d bytes when it was stored (replay it from the archive, which keeps it whole); it failed: %s",
			cutNote, len(e.Payload), e.PayloadSize, e.Reason), store.MaxReason)
		if err := s.PutError(ctx, e); err != nil {
			return 0, fmt.Errorf("note the cut payload of error %s: %w", e.ID, err)
		}
		return outCut, nil
	}
	rec := processor.Record{StreamARN: e.StreamARN, ShardID: e.ShardID, SequenceNumber: e.SequenceNumber,
		PartitionKey: e.PartitionKey, Data: bytes.Clone(e.Payload)}
	perr := p.Project(ctx, rec)
	at := now().UTC()
	if perr == nil {
		if _, err := s.ResolveError(ctx, e.ID, at); err != nil && !errors.Is(err, store.ErrNotFound) {
			return 0, fmt.Errorf("resolve error %s (its record is applied; redrive again to resolve it): %w", e.ID, err)
		}
		return outResolved, nil
	}
	// The reason as the processor words it: the cause, with the stage
	// when it is not the item's.
	out, reason := outFailed, perr.Error()
	var pe *processor.PermanentError
	switch {
	case errors.As(perr, &pe) && pe.Stage == e.Stage:
		reason = pe.Err.Error()
	case !errors.Is(perr, processor.ErrPermanent):
		out, reason = outTransient, "redrive failed, may succeed later: "+perr.Error()
	}
	e.Reason = text.Clip(reason, store.MaxReason)
	e.Attempts++
	e.LastFailure = at
	e.ExpiresAt = at.Add(contract.ErrorTTL)
	if err := s.PutError(ctx, e); err != nil {
		return 0, fmt.Errorf("record the failed redrive of error %s: %w", e.ID, err)
	}
	return out, nil
}

// compareSeq compares two sequence numbers (decimal digits) numerically;
// anything else sorts by bytes after them.
func compareSeq(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b))
}
