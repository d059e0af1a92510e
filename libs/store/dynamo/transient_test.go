package dynamo_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
)

// reply is a canned DynamoDB response.
type reply struct {
	status int
	body   string
	delay  time.Duration
}

func apiError(status int, typ, msg string) reply {
	return reply{status: status, body: `{"__type":"com.amazonaws.dynamodb.v20120810#` + typ + `","message":"` + msg + `"}`}
}

var (
	ok          = reply{status: 200, body: `{}`}
	throttled   = apiError(400, "ThrottlingException", "Rate of requests exceeds the allowed throughput.")
	provisioned = apiError(400, "ProvisionedThroughputExceededException", "The level of configured provisioned throughput for the table was exceeded.")
	internal    = apiError(500, "InternalServerError", "Internal server error")
	unavailable = reply{status: 503, body: `{"__type":"ServiceUnavailable","message":"unavailable"}`}
	validation  = apiError(400, "ValidationException", "One or more parameter values were invalid")
	denied      = apiError(400, "AccessDeniedException", "User is not authorized to perform: dynamodb:UpdateItem")
	noTable     = apiError(400, "ResourceNotFoundException", "Requested resource not found")
	badCreds    = apiError(400, "UnrecognizedClientException", "The security token included in the request is invalid.")
	unknownCode = apiError(400, "SomethingNewException", "a code this adapter has never seen")
	slow        = reply{status: 200, body: `{}`, delay: 2 * time.Second}
)

// fakeDynamo answers each call with the next reply of its operation's
// script (the last one repeats) and records the operations called.
type fakeDynamo struct {
	mu      sync.Mutex
	scripts map[string][]reply
	calls   []string
}

func (f *fakeDynamo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
	f.mu.Lock()
	f.calls = append(f.calls, op)
	script := f.scripts[op]
	rep := reply{status: 400, body: `{"__type":"UnknownOperationException","message":"no script for ` + op + `"}`}
	if len(script) > 0 {
		rep = script[0]
		if len(script) > 1 {
			f.scripts[op] = script[1:]
		}
	}
	f.mu.Unlock()
	if rep.delay > 0 {
		select {
		case <-time.After(rep.delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(rep.status)
	io.WriteString(w, rep.body)
}

func (f *fakeDynamo) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// newFake returns a store whose client talks to a fake DynamoDB endpoint
// answering with scripts, and the fake.
func newFake(t *testing.T, scripts map[string][]reply) (*dynamo.Store, *fakeDynamo) {
	fake := &fakeDynamo{scripts: scripts}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	client := dynamodb.New(dynamodb.Options{
		Region:       "eu-west-2",
		BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret", Source: "test"}, nil
		}),
		HTTPClient: awshttp.NewBuildableClient(),
	})
	return dynamo.New(client, dynamo.Tables{Movies: "movies-t", Runs: "runs-t", Errors: "errors-t"},
		dynamo.WithRetry(4, time.Millisecond)), fake
}

func repeat(r reply, n int) []reply {
	out := make([]reply, n)
	for i := range out {
		out[i] = r
	}
	return out
}

var movieT0 = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

func testMovie() store.Movie {
	return store.Movie{ID: "tt1", Title: "T", Year: 1994, Rating: 9, Source: "s", LastEventID: "e2",
		LastEventTime: movieT0, FirstSeen: movieT0, LastSeen: movieT0}
}

func TestTransientMapping(t *testing.T) {
	tests := []struct {
		name          string
		op            string
		script        []reply
		timeout       time.Duration
		wantTransient bool
		wantInvalid   bool
		wantErr       bool
		wantCalls     int
	}{
		{"throttling, then success", "UpdateItem", []reply{throttled, throttled, ok}, 0, false, false, false, 3},
		{"throttling throughout", "UpdateItem", repeat(throttled, 10), 0, true, false, true, 4},
		{"provisioned throughput exceeded", "UpdateItem", repeat(provisioned, 10), 0, true, false, true, 4},
		{"500", "UpdateItem", repeat(internal, 10), 0, true, false, true, 4},
		{"503", "UpdateItem", repeat(unavailable, 10), 0, true, false, true, 4},
		{"timeout within the deadline", "UpdateItem", []reply{slow}, 200 * time.Millisecond, true, false, true, 1},
		{"validation error is invalid input, not retried", "UpdateItem", []reply{validation}, 0, false, true, true, 1},
		// A broken deployment is no verdict on the input: neither.
		{"access denied", "UpdateItem", []reply{denied}, 0, false, false, true, 1},
		{"table not found", "UpdateItem", []reply{noTable}, 0, false, false, true, 1},
		{"bad credentials", "UpdateItem", []reply{badCreds}, 0, false, false, true, 1},
		{"unknown error code", "UpdateItem", []reply{unknownCode}, 0, false, false, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, fake := newFake(t, map[string][]reply{tt.op: tt.script})
			ctx := t.Context()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			out, err := s.ApplyMovie(ctx, testMovie())
			if (err != nil) != tt.wantErr {
				t.Fatalf("ApplyMovie = %v, %v; want error %v", out, err, tt.wantErr)
			}
			if got := errors.Is(err, store.ErrTransient); got != tt.wantTransient {
				t.Errorf("errors.Is(%v, ErrTransient) = %v, want %v", err, got, tt.wantTransient)
			}
			if got := errors.Is(err, store.ErrInvalid); got != tt.wantInvalid {
				t.Errorf("errors.Is(%v, ErrInvalid) = %v, want %v", err, got, tt.wantInvalid)
			}
			if err == nil && out != store.Applied {
				t.Errorf("outcome %v, want applied", out)
			}
			if got := len(fake.Calls()); got != tt.wantCalls {
				t.Errorf("%d calls, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestConditionOutcomes(t *testing.T) {
	ccf := func(item string) reply {
		body := `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"`
		if item != "" {
			body += `,"Item":` + item
		}
		return reply{status: 400, body: body + "}"}
	}
	tests := []struct {
		name      string
		scripts   map[string][]reply
		want      store.Outcome
		wantCalls []string
	}{
		{"ALL_OLD item with the same event", map[string][]reply{"UpdateItem": {ccf(`{"id":{"S":"tt1"},"lastEventId":{"S":"e2"}}`)}},
			store.Duplicate, []string{"UpdateItem"}},
		{"ALL_OLD item with another event", map[string][]reply{"UpdateItem": {ccf(`{"id":{"S":"tt1"},"lastEventId":{"S":"e9"}}`)}},
			store.Stale, []string{"UpdateItem"}},
		{"no ALL_OLD item: read back, same event", map[string][]reply{
			"UpdateItem": {ccf("")},
			"GetItem":    {{status: 200, body: `{"Item":{"lastEventId":{"S":"e2"}}}`}},
		}, store.Duplicate, []string{"UpdateItem", "GetItem"}},
		{"no ALL_OLD item: read back, newer event", map[string][]reply{
			"UpdateItem": {ccf("")},
			"GetItem":    {{status: 200, body: `{"Item":{"lastEventId":{"S":"e9"}}}`}},
		}, store.Stale, []string{"UpdateItem", "GetItem"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, fake := newFake(t, tt.scripts)
			out, err := s.ApplyMovie(t.Context(), testMovie())
			if err != nil || out != tt.want {
				t.Errorf("ApplyMovie = %v, %v; want %v, nil", out, err, tt.want)
			}
			if diff := cmp.Diff(tt.wantCalls, fake.Calls()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCountEventCancellations(t *testing.T) {
	cancelled := func(reasons string) reply {
		return reply{status: 400, body: `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException",` +
			`"Message":"Transaction cancelled","CancellationReasons":` + reasons + `}`}
	}
	conflict := cancelled(`[{"Code":"None"},{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"}]`)
	// wantErr: "" none, "transient", "invalid", "other" (neither).
	tests := []struct {
		name        string
		script      []reply
		wantCounted bool
		wantErr     string
		wantCalls   int
	}{
		{"counted", []reply{ok}, true, "", 1},
		{"marker exists: duplicate", []reply{cancelled(`[{"Code":"ConditionalCheckFailed"},{"Code":"None"}]`)}, false, "", 1},
		{"validation error", []reply{validation}, false, "invalid", 1},
		{"access denied", []reply{denied}, false, "other", 1},
		{"conflict, then success", []reply{conflict, ok}, true, "", 2},
		{"conflict throughout", repeat(conflict, 10), false, "transient", 4},
		{"throttled item", repeat(cancelled(`[{"Code":"None"},{"Code":"ThrottlingError"}]`), 10), false, "transient", 4},
		{"throttled call", repeat(throttled, 10), false, "transient", 4},
	}
	// FailEvent's transaction has the error item's Put as a third item; the
	// marker's is still the first.
	failure := store.ErrorItem{ID: "x1", Stage: store.StageRetriesExhausted, EventID: "e1", RunID: "run-1",
		FirstFailure: movieT0, LastFailure: movieT0}
	ops := map[string]func(s *dynamo.Store) (bool, error){
		"CountEvent": func(s *dynamo.Store) (bool, error) {
			return s.CountEvent(t.Context(), "run-1", "e1", store.CounterProcessed, "")
		},
		"FailEvent": func(s *dynamo.Store) (bool, error) { return s.FailEvent(t.Context(), "run-1", "e1", failure) },
	}
	for _, tt := range tests {
		for name, op := range ops {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				s, fake := newFake(t, map[string][]reply{"TransactWriteItems": slices.Clone(tt.script)})
				counted, err := op(s)
				gotErr := ""
				switch {
				case errors.Is(err, store.ErrTransient):
					gotErr = "transient"
				case errors.Is(err, store.ErrInvalid):
					gotErr = "invalid"
				case err != nil:
					gotErr = "other"
				}
				if counted != tt.wantCounted || gotErr != tt.wantErr {
					t.Errorf("%s = %v, %v; want %v, error %q", name, counted, err, tt.wantCounted, tt.wantErr)
				}
				if got := len(fake.Calls()); got != tt.wantCalls {
					t.Errorf("%d calls, want %d", got, tt.wantCalls)
				}
			})
		}
	}
}

func TestListTransient(t *testing.T) {
	s, _ := newFake(t, map[string][]reply{"Scan": repeat(throttled, 10), "Query": repeat(internal, 10)})
	if _, err := s.ListMovies(t.Context(), store.MovieFilter{}, 10, nil); !errors.Is(err, store.ErrTransient) {
		t.Errorf("ListMovies on a throttled table: %v, want ErrTransient", err)
	}
	if _, err := s.ListErrors(t.Context(), 10, nil); !errors.Is(err, store.ErrTransient) {
		t.Errorf("ListErrors on a failing table: %v, want ErrTransient", err)
	}
}
