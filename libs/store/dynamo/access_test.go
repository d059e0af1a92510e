package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
)

// recorder is a dynamo.Client that notes the IAM permission of every call.
type recorder struct {
	dynamo.Client
	tables map[string]string // table name -> contract base
	mu     sync.Mutex
	seen   map[dynamo.Access]bool
	// oldless drops the old item from conditional-check failures, as
	// DynamoDB Local and older emulators do, to drive the GetItem
	// fallbacks (moto returns it).
	oldless bool
}

func (r *recorder) strip(err error) error {
	var ccf *types.ConditionalCheckFailedException
	if r.oldless && errors.As(err, &ccf) {
		ccf.Item = nil
	}
	var tce *types.TransactionCanceledException
	if r.oldless && errors.As(err, &tce) {
		for i := range tce.CancellationReasons {
			tce.CancellationReasons[i].Item = nil
		}
	}
	return err
}

func (r *recorder) note(table, index, action string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[dynamo.Access{Table: r.tables[table], Index: index, Action: "dynamodb:" + action}] = true
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (r *recorder) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	r.note(deref(in.TableName), "", "GetItem")
	return r.Client.GetItem(ctx, in, o...)
}

func (r *recorder) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	r.note(deref(in.TableName), "", "PutItem")
	out, err := r.Client.PutItem(ctx, in, o...)
	return out, r.strip(err)
}

func (r *recorder) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	r.note(deref(in.TableName), "", "UpdateItem")
	out, err := r.Client.UpdateItem(ctx, in, o...)
	return out, r.strip(err)
}

func (r *recorder) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	r.note(deref(in.TableName), deref(in.IndexName), "Query")
	return r.Client.Query(ctx, in, o...)
}

func (r *recorder) Scan(ctx context.Context, in *dynamodb.ScanInput, o ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	r.note(deref(in.TableName), deref(in.IndexName), "Scan")
	return r.Client.Scan(ctx, in, o...)
}

// TransactWriteItems is authorised per item: note each item's action.
func (r *recorder) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	for _, it := range in.TransactItems {
		switch {
		case it.Put != nil:
			r.note(deref(it.Put.TableName), "", "PutItem")
		case it.Update != nil:
			r.note(deref(it.Update.TableName), "", "UpdateItem")
		case it.Delete != nil:
			r.note(deref(it.Delete.TableName), "", "DeleteItem")
		case it.ConditionCheck != nil:
			r.note(deref(it.ConditionCheck.TableName), "", "ConditionCheckItem")
		}
	}
	out, err := r.Client.TransactWriteItems(ctx, in, o...)
	return out, r.strip(err)
}

func (r *recorder) take() []dynamo.Access {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]dynamo.Access, 0, len(r.seen))
	for a := range r.seen {
		out = append(out, a)
	}
	clear(r.seen)
	return sortAccess(out)
}

func sortAccess(a []dynamo.Access) []dynamo.Access {
	sort.Slice(a, func(i, j int) bool {
		return a[i].Table+a[i].Index+a[i].Action < a[j].Table+a[j].Index+a[j].Action
	})
	return a
}

// TestAccessesMatchTheCalls drives every Store method through its paths,
// the rare ones included, on moto_server and compares the permissions its
// calls need with dynamo.Accesses, which the Pulumi program's policies are
// checked against.
func TestAccessesMatchTheCalls(t *testing.T) {
	client, tables := newTables(t)
	rec := &recorder{Client: dynamo.Serial(client), seen: map[dynamo.Access]bool{},
		tables: map[string]string{tables.Movies: contract.MoviesTableBase, tables.Runs: contract.RunsTableBase,
			tables.Errors: contract.ErrorsTableBase, tables.History: contract.HistoryTableBase}}
	now := time.Date(2026, 11, 27, 4, 20, 0, 0, time.UTC)
	s := dynamo.New(rec, tables, dynamo.WithClock(func() time.Time { return now }))
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	movie := store.Movie{ID: "heat-1995", Title: "Heat", Year: 1995, Rating: 8.3, Source: "https://x.org/c",
		FirstSeen: now, LastSeen: now, LastRunID: "run-1", LastEventID: "e2", LastEventTime: now}
	errItem := store.ErrorItem{ID: "err-1", Stage: store.StageDecode, Reason: "bad", FirstFailure: now, LastFailure: now, Attempts: 1}

	paths := map[string]func(){
		"ApplyMovie": func() {
			_, err := s.ApplyMovie(ctx, movie)
			must(err)
			// With a digest, the event's marker is read first.
			withDigest := movie
			withDigest.LastEventID, withDigest.LastEventTime, withDigest.LastEventDigest = "e3", now.Add(time.Hour), "d3"
			_, err = s.ApplyMovie(ctx, withDigest)
			must(err)
			movie = withDigest
			old := movie
			old.LastEventID, old.LastEventTime = "e1", now.Add(-time.Hour)
			_, err = s.ApplyMovie(ctx, old) // stale: the condition fails
			must(err)
			// No old item in the answer: the stored event id is read back
			// (a projection of lastEventId) to tell stale from duplicate.
			rec.oldless = true
			stale, err := s.ApplyMovie(ctx, old)
			must(err)
			dup, err := s.ApplyMovie(ctx, movie)
			rec.oldless = false
			must(err)
			if stale != store.Stale || dup != store.Duplicate {
				t.Errorf("read-back outcomes %v, %v; want stale, duplicate", stale, dup)
			}
		},
		"GetMovie": func() { _, err := s.GetMovie(ctx, movie.ID); must(err) },
		"ListMovies": func() {
			_, err := s.ListMovies(ctx, store.MovieFilter{}, 10, nil)
			must(err)
			_, err = s.ListMovies(ctx, store.MovieFilter{Year: 1995}, 10, nil)
			must(err)
		},
		"StartRun":    func() { must(s.StartRun(ctx, store.Run{ID: "run-1", Source: "https://x.org/c", StartedAt: now})) },
		"CompleteRun": func() { must(s.CompleteRun(ctx, store.Run{ID: "run-1", Completed: true, FinishedAt: now})) },
		"CountEvent": func() {
			_, err := s.CountEvent(ctx, "run-1", "e1", store.CounterProcessed, "d1")
			must(err)
			_, err = s.CountEvent(ctx, "run-1", "e1", store.CounterProcessed, "d1") // duplicate
			must(err)
			// A conflict, with and without the old marker in the answer.
			if _, err = s.CountEvent(ctx, "run-1", "e1", store.CounterProcessed, "d2"); !errors.Is(err, store.ErrConflict) {
				t.Errorf("conflicting CountEvent: %v, want ErrConflict", err)
			}
			rec.oldless = true
			_, err = s.CountEvent(ctx, "run-1", "e1", store.CounterProcessed, "d2")
			rec.oldless = false
			if !errors.Is(err, store.ErrConflict) {
				t.Errorf("conflicting CountEvent without the old marker: %v, want ErrConflict", err)
			}
		},
		"FailEvent": func() {
			_, err := s.FailEvent(ctx, "run-1", "e9", store.ErrorItem{ID: "err-9", Stage: store.StageRetriesExhausted, Reason: "x",
				EventID: "e9", RunID: "run-1", FirstFailure: now, LastFailure: now})
			must(err)
		},
		"GetRun":   func() { _, err := s.GetRun(ctx, "run-1"); must(err) },
		"ListRuns": func() { _, err := s.ListRuns(ctx, store.RunFilter{Status: store.RunRunning}, 10, nil); must(err) },
		"RecordObservation": func() {
			obs := func(h int, v int) store.Observation {
				return store.Observation{MovieID: "heat-1995", ObservedAt: now.Add(time.Duration(h) * time.Hour),
					EventID: fmt.Sprintf("o%d", h), RunID: "run-1", Rank: v, Rating: 8, Votes: v}
			}
			must(s.RecordObservation(ctx, obs(1, 1)))
			must(s.RecordObservation(ctx, obs(3, 1)))
			must(s.RecordObservation(ctx, obs(2, 2))) // the successor becomes a change point
			must(s.RecordObservation(ctx, obs(0, 1))) // its successor no longer is one
			must(s.RecordObservation(ctx, obs(0, 1))) // again: a no-op
		},
		"ListHistory": func() { _, err := s.ListHistory(ctx, "heat-1995", store.HistoryFilter{}, 10, nil); must(err) },
		"AcquireLease": func() {
			_, _, err := s.AcquireLease(ctx, "x.org", "a", now, time.Minute)
			must(err)
			_, _, err = s.AcquireLease(ctx, "x.org", "b", now, time.Minute) // held
			must(err)
			rec.oldless = true
			_, _, err = s.AcquireLease(ctx, "x.org", "b", now, time.Minute) // held, no old item in the answer
			rec.oldless = false
			must(err)
		},
		"PageState": func() { _, err := s.PageState(ctx, "https://x.org/c"); must(err) },
		"PutPageState": func() {
			must(s.PutPageState(ctx, store.PageState{URL: "https://x.org/c", ETag: `"1"`, FetchedAt: now}))
		},
		"PutError": func() {
			must(s.PutError(ctx, errItem))
			now = now.Add(contract.ErrorTTL + time.Hour) // the item expired: replaced by PutItem
			must(s.PutError(ctx, errItem))
			now = now.Add(-contract.ErrorTTL - time.Hour)
		},
		"ListErrors": func() { _, err := s.ListErrors(ctx, 10, nil); must(err) },
		"GetError":   func() { _, err := s.GetError(ctx, errItem.ID); must(err) },
		"ResolveError": func() {
			// err-9 was counted as failed by FailEvent: the count moves.
			if ok, err := s.ResolveError(ctx, "err-9", now); err != nil || !ok {
				t.Errorf("ResolveError = %v, %v; want true", ok, err)
			}
		},
	}
	// Every method of store.Store has a path and an entry.
	var methods []string
	for m := range reflect.TypeFor[store.Store]().Methods() {
		methods = append(methods, m.Name)
	}
	for _, m := range methods {
		if _, ok := paths[m]; !ok {
			t.Errorf("no path drives %s", m)
		}
		if _, ok := dynamo.Accesses[m]; !ok {
			t.Errorf("dynamo.Accesses has no entry for %s", m)
		}
	}
	// Order matters (reads after writes); run them in a fixed order.
	order := []string{"StartRun", "ApplyMovie", "GetMovie", "ListMovies", "RecordObservation", "ListHistory", "CompleteRun",
		"CountEvent", "FailEvent", "GetRun", "ListRuns", "AcquireLease", "PutPageState", "PageState", "PutError", "ListErrors",
		"GetError", "ResolveError"}
	if diff := cmp.Diff(slices.Sorted(slices.Values(methods)), slices.Sorted(slices.Values(order))); diff != "" {
		t.Fatalf("methods driven (-store.Store +order):\n%s", diff)
	}
	rec.take()
	for _, m := range order {
		t.Run(m, func(t *testing.T) {
			paths[m]()
			got := rec.take()
			want := sortAccess(slices.Clone(dynamo.Accesses[m]))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("permissions %s needs (-dynamo.Accesses +calls made):\n%s", m, diff)
			}
		})
	}
}
