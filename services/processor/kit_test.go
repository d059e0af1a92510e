package processor_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/services/processor"
)

// Fixed values of the test events.
const (
	testSource    = "https://films.example.org/site/chart?page=1"
	testStreamARN = "arn:aws:kinesis:eu-west-2:123456789012:stream/events-test"
	testShard     = "shardId-000000000000"
)

var t0 = time.Date(2026, 11, 27, 4, 20, 0, 0, time.UTC)

// movieData is a valid observation whose fields derive from n.
func movieData(title string, year int, n int) events.MovieObserved {
	return events.MovieObserved{
		Title:          title,
		Year:           year,
		Rank:           1 + n%250,
		Rating:         events.Rating{Value: float64(50+n%50) / 10, Votes: int64(1000 + n)},
		Director:       "Director " + fmt.Sprint(n%17),
		Genres:         []string{"Drama", "Crime"}[:1+n%2],
		RuntimeMinutes: 90 + n%60,
		DetailURL:      "https://films.example.org/site/films/" + fmt.Sprint(n),
	}
}

// movieEvent is the observation of movie id in run at time at.
func movieEvent(run string, at time.Time, id string, n int) events.Event {
	return events.NewMovieObserved(run, testSource, at, id, movieData("Title "+id, 1990+n%30, n))
}

func mustEncode(t testing.TB, e events.Event) []byte {
	t.Helper()
	b, err := events.Encode(e)
	if err != nil {
		t.Fatalf("encode %s: %v", e.ID, err)
	}
	return b
}

// seqNumber is a Kinesis-like sequence number: 56 digits, increasing with n.
func seqNumber(n int) string { return fmt.Sprintf("4959%052d", n) }

// record is the n-th record of shard, arrived n ms after t0.
func record(shard string, n int, key string, data []byte) processor.Record {
	return processor.Record{
		StreamARN:      testStreamARN,
		ShardID:        shard,
		SequenceNumber: seqNumber(n),
		PartitionKey:   key,
		Data:           data,
		ArrivalTime:    t0.Add(time.Duration(n) * time.Millisecond),
	}
}

// op names a store call, for fault injection and call logs.
type op string

const (
	opApply    op = "ApplyMovie"
	opStart    op = "StartRun"
	opComplete op = "CompleteRun"
	opCount    op = "CountEvent"
	opObserve  op = "RecordObservation"
	opPutError op = "PutError"
)

// fault is what a hook decides for one call: fail with err, before the
// call reaches the store or, if after is set, after it did its write (a
// timeout after a commit).
type fault struct {
	err   error
	after bool
}

// faultStore wraps a Store and injects the failures its hook decides. The
// key of a call is the movie's event id (ApplyMovie), the run id
// (StartRun, CompleteRun), "<event id>/<counter>" (CountEvent) or the
// item's sequence number (PutError), "<event id>" (RecordObservation).
type faultStore struct {
	inner processor.Store
	hook  func(o op, key string) fault
}

var _ processor.Store = (*faultStore)(nil)

func (f *faultStore) do(o op, key string, call func() error) error {
	var ft fault
	if f.hook != nil {
		ft = f.hook(o, key)
	}
	if ft.err != nil && !ft.after {
		return ft.err
	}
	if err := call(); err != nil {
		return err
	}
	return ft.err
}

func (f *faultStore) ApplyMovie(ctx context.Context, m store.Movie) (out store.Outcome, err error) {
	err = f.do(opApply, m.LastEventID, func() (err error) { out, err = f.inner.ApplyMovie(ctx, m); return err })
	return out, err
}

func (f *faultStore) StartRun(ctx context.Context, r store.Run) error {
	return f.do(opStart, r.ID, func() error { return f.inner.StartRun(ctx, r) })
}

func (f *faultStore) CompleteRun(ctx context.Context, r store.Run) error {
	return f.do(opComplete, r.ID, func() error { return f.inner.CompleteRun(ctx, r) })
}

func (f *faultStore) CountEvent(ctx context.Context, runID, eventID string, c store.Counter, digest string) (counted bool, err error) {
	err = f.do(opCount, eventID+"/"+string(c), func() (err error) {
		counted, err = f.inner.CountEvent(ctx, runID, eventID, c, digest)
		return err
	})
	return counted, err
}

func (f *faultStore) RecordObservation(ctx context.Context, o store.Observation) error {
	return f.do(opObserve, o.EventID, func() error { return f.inner.RecordObservation(ctx, o) })
}

func (f *faultStore) PutError(ctx context.Context, e store.ErrorItem) error {
	return f.do(opPutError, e.SequenceNumber, func() error { return f.inner.PutError(ctx, e) })
}

// errTransient is what a throttled store returns.
var errTransient = fmt.Errorf("throttled: %w", store.ErrTransient)

// accessDenied and tableNotFound are what the DynamoDB adapter returns,
// unclassified (neither store.ErrTransient nor store.ErrInvalid), when the
// function's role lacks a statement or the table is being recreated.
var (
	accessDenied = &smithy.GenericAPIError{Code: "AccessDeniedException",
		Message: "User: arn:aws:sts::123456789012:assumed-role/processor/fn is not authorized to perform: dynamodb:UpdateItem"}
	tableNotFound = &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "Requested resource not found"}
)

// slowStore adds a fixed latency to every call, honouring ctx.
type slowStore struct {
	inner processor.Store
	delay time.Duration
}

func (s slowStore) wait(ctx context.Context) error {
	t := time.NewTimer(s.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s slowStore) ApplyMovie(ctx context.Context, m store.Movie) (store.Outcome, error) {
	if err := s.wait(ctx); err != nil {
		return 0, err
	}
	return s.inner.ApplyMovie(ctx, m)
}

func (s slowStore) StartRun(ctx context.Context, r store.Run) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.inner.StartRun(ctx, r)
}

func (s slowStore) CompleteRun(ctx context.Context, r store.Run) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.inner.CompleteRun(ctx, r)
}

func (s slowStore) CountEvent(ctx context.Context, runID, eventID string, c store.Counter, digest string) (bool, error) {
	if err := s.wait(ctx); err != nil {
		return false, err
	}
	return s.inner.CountEvent(ctx, runID, eventID, c, digest)
}

func (s slowStore) RecordObservation(ctx context.Context, o store.Observation) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.inner.RecordObservation(ctx, o)
}

func (s slowStore) PutError(ctx context.Context, e store.ErrorItem) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.inner.PutError(ctx, e)
}

// watchStore records the order of ApplyMovie calls per movie and the
// highest number of calls in flight, overall and per movie.
type watchStore struct {
	processor.Store
	delay time.Duration

	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	perKey      map[string]int
	maxPerKey   int
	order       map[string][]string // movie id → event ids applied
}

func (w *watchStore) ApplyMovie(ctx context.Context, m store.Movie) (store.Outcome, error) {
	w.mu.Lock()
	if w.perKey == nil {
		w.perKey, w.order = map[string]int{}, map[string][]string{}
	}
	w.inFlight++
	w.perKey[m.ID]++
	w.maxInFlight = max(w.maxInFlight, w.inFlight)
	w.maxPerKey = max(w.maxPerKey, w.perKey[m.ID])
	w.order[m.ID] = append(w.order[m.ID], m.LastEventID)
	w.mu.Unlock()
	time.Sleep(w.delay)
	out, err := w.Store.ApplyMovie(ctx, m)
	w.mu.Lock()
	w.inFlight--
	w.perKey[m.ID]--
	w.mu.Unlock()
	return out, err
}

// retried lists the sequence numbers of the records res asks to retry.
func retried(recs []processor.Record, res processor.Result) []string {
	out := []string{}
	for _, i := range res.Retry {
		out = append(out, recs[i].SequenceNumber)
	}
	return out
}

// allErrors lists every error item of s.
func allErrors(t testing.TB, s store.Store) []store.ErrorItem {
	t.Helper()
	var out []store.ErrorItem
	var tok store.PageToken
	for {
		p, err := s.ListErrors(context.Background(), 1000, tok)
		if err != nil {
			t.Fatalf("list errors: %v", err)
		}
		// The listing previews payloads: read each item whole.
		for _, e := range p.Items {
			full, err := s.GetError(context.Background(), e.ID)
			if err != nil {
				t.Fatalf("get error %s: %v", e.ID, err)
			}
			out = append(out, full)
		}
		if p.Next == nil {
			return out
		}
		tok = p.Next
	}
}

// allMovies lists every movie of s by id.
func allMovies(t testing.TB, s store.Store) map[string]store.Movie {
	t.Helper()
	out := map[string]store.Movie{}
	var tok store.PageToken
	for {
		p, err := s.ListMovies(context.Background(), store.MovieFilter{}, 1000, tok)
		if err != nil {
			t.Fatalf("list movies: %v", err)
		}
		for _, m := range p.Items {
			out[m.ID] = m
		}
		if p.Next == nil {
			return out
		}
		tok = p.Next
	}
}

// contentDigest is the digest the processor gives a record's content: 128
// bits of SHA-256, in hex.
func contentDigest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}
