package boot_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
)

// tablesBackend is a fresh set of the stack's tables on moto_server.
type tablesBackend struct {
	// Store is the DynamoDB adapter on the tables, to seed and check them.
	Store *dynamo.Store
	// Env is the function environment: moto's endpoints (and AWS settings
	// from awsemu) plus the contract's table variables.
	Env map[string]string
}

// newTables creates the stack's tables under a unique suffix on the test
// binary's moto_server (skipping or failing tb like awsemu.Moto).
func newTables(tb testing.TB, endpoints awsemu.Endpoints) tablesBackend {
	tb.Helper()
	cfg := awsemu.Moto(tb)
	client := dynamodb.NewFromConfig(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tables, err := dynamo.CreateTables(ctx, client, uniqueSuffix(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return tablesBackend{
		Store: dynamo.New(client, tables),
		Env: emulatorEnv(endpoints.Env(), map[string]string{
			contract.EnvMoviesTable:  tables.Movies,
			contract.EnvRunsTable:    tables.Runs,
			contract.EnvErrorsTable:  tables.Errors,
			contract.EnvHistoryTable: tables.History,
		}),
	}
}

// motoEndpoints returns the endpoints of the binary's moto_server alone,
// for functions that use no Kinesis.
func motoEndpoints(tb testing.TB) awsemu.Endpoints {
	tb.Helper()
	moto := awsemu.MotoEndpoint(tb)
	return awsemu.Endpoints{DynamoDB: moto, SQS: moto, S3: moto}
}

// uniqueSuffix returns a stack suffix no other test uses.
func uniqueSuffix(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	s := "boot-" + hex.EncodeToString(b[:])
	if err := contract.ValidSuffix(s); err != nil {
		tb.Fatal(err)
	}
	return s
}
