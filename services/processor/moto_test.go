package processor_test

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu/short"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo/dynamotest"
)

func TestMain(m *testing.M) { os.Exit(awsemu.Main(m)) }

// TestReliabilityOnMoto runs the reliability scenario on the DynamoDB
// adapter against moto_server: the same faults, replays, deadline cuts and
// checks as on the embedded store, over 100 events (2 runs of 50 movies,
// so that duplicates and stale events occur; about 200 deliveries, 20
// injected faults and 450 DynamoDB calls), which is what proves the
// adapter's conditional writes and transactions under faults. The large
// campaigns run on the embedded store (TestReliability), which passes the
// same contract suite: moto spends 10-20 ms of its one Python thread on
// each of these calls (it parses every update expression and deep-copies
// the tables a transaction touches), so 200 events took 18 s alone and
// twice that beside the rest of the suite, and 2,000 took 3.5 to 7
// minutes and 5 GB. It skips when moto_server is missing, and fails then
// if CI is set. Under -short it runs over 40 events (2 runs of 20 movies,
// one record of each bad kind): the same kinds of faults and checks.
func TestReliabilityOnMoto(t *testing.T) {
	cfg := relConfig{events: 100, movies: 50, seed: 2, concurrency: 4, maxBatch: 10, replayPct: 3}
	if short.On(t) {
		cfg.events, cfg.movies = 40, 20
	}
	t.Parallel() // mostly waiting on moto: overlaps the embedded campaigns
	client := dynamodb.NewFromConfig(awsemu.Moto(t))
	tables := dynamotest.Tables(t, client, "proc")
	// Small batches: with 5% of the calls failing, a batch of 100 records
	// almost always holds a failure and is redelivered from it, which
	// multiplies the writes. A concurrency of 4: moto answers one request
	// at a time anyway, and the runs table is written one call at a time.
	st := &serialRuns{Store: dynamo.New(client, tables)}
	runReliability(t, st, cfg)
}

// serialRuns makes the writes to the runs table one at a time. moto_server
// (5.2.1) runs TransactWriteItems by deep-copying the tables it touches
// and, when the transaction is cancelled (a progress marker that exists:
// every duplicate delivery), putting the copy back, which silently undoes
// every write other requests made to the table in the meantime. DynamoDB
// isolates transactions; moto does not, so the runs table is written by
// one request at a time here. Movies and errors stay concurrent.
type serialRuns struct {
	store.Store
	mu sync.Mutex
}

func (s *serialRuns) StartRun(ctx context.Context, r store.Run) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Store.StartRun(ctx, r)
}

func (s *serialRuns) CompleteRun(ctx context.Context, r store.Run) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Store.CompleteRun(ctx, r)
}

func (s *serialRuns) CountEvent(ctx context.Context, runID, eventID string, c store.Counter, digest string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Store.CountEvent(ctx, runID, eventID, c, digest)
}
