package processor_test

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo/dynamotest"
)

func TestMain(m *testing.M) { os.Exit(awsemu.Main(m)) }

// TestReliabilityOnMoto runs the reliability scenario with 2,000 events
// on the DynamoDB adapter against moto_server (10-40 ms per write, so
// fewer events than on the embedded store). It skips when moto_server is
// missing, and fails then if CI is set.
func TestReliabilityOnMoto(t *testing.T) {
	awsemu.SkipIfShort(t, "the reliability test on moto_server takes minutes")
	client := dynamodb.NewFromConfig(awsemu.Moto(t))
	tables := dynamotest.Tables(t, client, "proc")
	// Smaller batches than on the embedded store: with 5% of the calls
	// failing, a batch of 100 records almost always holds a failure and
	// is redelivered from it, which multiplies the writes; moto_server
	// takes 10-40 ms per write on this machine.
	st := &serialRuns{Store: dynamo.New(client, tables)}
	runReliability(t, st, relConfig{events: 2000, seed: 2, maxBatch: 10, replayPct: 3})
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
