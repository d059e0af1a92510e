package processor_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/services/processor"
)

// TestStoreErrorClassification looks at the state right after the one
// delivery in which the store fails (TestHandle looks after the
// redeliveries): only an error matching store.ErrInvalid stores the record
// in errors and lets the checkpoint pass it; any other store error reports
// it, writes nothing to errors and leaves its movie unprojected.
func TestStoreErrorClassification(t *testing.T) {
	run := "run-20261127-042000-aaaaaaaa"
	alien := movieEvent(run, t0, "alien-1979", 1)
	heat := movieEvent(run, t0.Add(time.Second), "heat-1995", 3)
	recs := []processor.Record{
		record(testShard, 0, alien.Subject, mustEncode(t, alien)),
		record(testShard, 1, heat.Subject, mustEncode(t, heat)),
	}
	tests := []struct {
		name       string
		err        error
		wantFailed []string
		wantErrors []store.Stage
		wantRun    runWant
	}{
		{"AccessDeniedException as text", errors.New("AccessDeniedException: not authorized to perform dynamodb:UpdateItem"),
			[]string{seqNumber(0)}, nil, runWant{Processed: 1, Status: store.RunRunning}},
		{"the SDK's AccessDeniedException", fmt.Errorf("apply movie: %w", accessDenied),
			[]string{seqNumber(0)}, nil, runWant{Processed: 1, Status: store.RunRunning}},
		{"ResourceNotFoundException", tableNotFound,
			[]string{seqNumber(0)}, nil, runWant{Processed: 1, Status: store.RunRunning}},
		{"ErrTransient", errTransient,
			[]string{seqNumber(0)}, nil, runWant{Processed: 1, Status: store.RunRunning}},
		{"ErrInvalid", fmt.Errorf("ValidationException: item too large: %w", store.ErrInvalid),
			[]string{}, []store.Stage{store.StageProject}, runWant{Processed: 1, Failed: 1, Status: store.RunRunning}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := embedded.NewMemory(embedded.WithClock(func() time.Time { return now }))
			fs := &faultStore{inner: mem, hook: func(o op, key string) fault {
				if o == opApply && key == alien.ID {
					return fault{err: tt.err}
				}
				return fault{}
			}}
			h := processor.New(fs, processor.Options{Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }})
			res := h.Handle(context.Background(), recs)
			if diff := cmp.Diff(tt.wantFailed, retried(recs, res)); diff != "" {
				t.Errorf("records to retry (-want +got):\n%s", diff)
			}
			var stages []store.Stage
			for _, e := range allErrors(t, mem) {
				stages = append(stages, e.Stage)
			}
			if diff := cmp.Diff(tt.wantErrors, stages); diff != "" {
				t.Errorf("error items' stages (-want +got):\n%s", diff)
			}
			if _, ok := allMovies(t, mem)[alien.Subject]; ok {
				t.Errorf("movie %s projected although the store failed it", alien.Subject)
			}
			r, err := mem.GetRun(context.Background(), run)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantRun, runWant{Processed: r.Processed, Failed: r.Failed, Status: r.Status()}); diff != "" {
				t.Errorf("run (-want +got):\n%s", diff)
			}
		})
	}
}

// deniedDynamo is a DynamoDB client whose role may read but not write:
// every write is the AccessDeniedException DynamoDB answers to a missing
// IAM statement. It records the tables written to.
type deniedDynamo struct {
	dynamo.Client // nil: other calls panic
	mu            sync.Mutex
	tables        []string
}

func (d *deniedDynamo) deny(tables ...*string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, t := range tables {
		d.tables = append(d.tables, aws.ToString(t))
	}
	return accessDenied
}

// GetItem finds nothing: the role may read, and there is nothing yet.
func (d *deniedDynamo) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{}, nil
}

func (d *deniedDynamo) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return nil, d.deny(in.TableName)
}

func (d *deniedDynamo) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return nil, d.deny(in.TableName)
}

func (d *deniedDynamo) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	var tables []*string
	for _, it := range in.TransactItems {
		switch {
		case it.Put != nil:
			tables = append(tables, it.Put.TableName)
		case it.Update != nil:
			tables = append(tables, it.Update.TableName)
		case it.ConditionCheck != nil:
			tables = append(tables, it.ConditionCheck.TableName)
		case it.Delete != nil:
			tables = append(tables, it.Delete.TableName)
		}
	}
	return nil, d.deny(tables...)
}

// TestAccessDeniedOnDynamo: with the real DynamoDB adapter and a role that
// may not write, every record is reported for a retry and nothing is even
// tried on the errors table: a missing IAM statement does not divert the
// stream into errors past the checkpoint.
func TestAccessDeniedOnDynamo(t *testing.T) {
	run := "run-20261127-042000-aaaaaaaa"
	var recs []processor.Record
	for i, id := range []string{"alien-1979", "heat-1995", "ran-1985"} {
		e := movieEvent(run, t0.Add(time.Duration(i)*time.Second), id, i+1)
		recs = append(recs, record(testShard, i, e.Subject, mustEncode(t, e)))
	}
	client := &deniedDynamo{}
	st := dynamo.New(client, dynamo.Tables{Movies: "movies-t", Runs: "runs-t", Errors: "errors-t"})
	h := processor.New(st, processor.Options{Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }})
	res := h.Handle(context.Background(), recs)
	if diff := cmp.Diff([]int{0, 1, 2}, res.Retry); diff != "" {
		t.Errorf("records to retry (-want +got):\n%s", diff)
	}
	client.mu.Lock()
	defer client.mu.Unlock()
	if !slices.Contains(client.tables, "movies-t") || slices.Contains(client.tables, "errors-t") {
		t.Errorf("writes to tables %q: want the movies table tried, no write towards errors", client.tables)
	}
}
