package query

import (
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo/dynamotest"
)

// TestMain stops the emulators the tests started (moto_server).
func TestMain(m *testing.M) { os.Exit(awsemu.Main(m)) }

// motoStore returns the DynamoDB adapter on fresh tables on moto_server
// (created by dynamo.CreateTables, deleted when t ends). Without
// moto_server the test is skipped, or fails when CI is set.
func motoStore(t *testing.T) *dynamo.Store {
	t.Helper()
	client := dynamodb.NewFromConfig(awsemu.Moto(t))
	tables := dynamotest.Tables(t, client, "query")
	return dynamo.New(client, tables)
}

func TestHandlerMoto(t *testing.T) {
	runHandlerSuite(t, motoStore(t))
}

func TestLambdaEventsMoto(t *testing.T) {
	runLambdaEvents(t, motoStore(t))
}
