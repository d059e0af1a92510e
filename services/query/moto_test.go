package query

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
)

// TestMain stops the emulators the tests started (moto_server).
func TestMain(m *testing.M) { os.Exit(awsemu.Main(m)) }

// motoStore returns the DynamoDB adapter on fresh tables on moto_server
// (created by dynamo.CreateTables, deleted when t ends). Without
// moto_server the test is skipped, or fails when CI is set.
func motoStore(t *testing.T) *dynamo.Store {
	t.Helper()
	client := dynamodb.NewFromConfig(awsemu.Moto(t))
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	suffix := "query-" + hex.EncodeToString(rnd[:]) // contract.ValidSuffix: at most 32 characters
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	tables, err := dynamo.CreateTables(ctx, client, suffix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, name := range []string{tables.Movies, tables.Runs, tables.Errors} {
			if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
				t.Errorf("delete table %s: %v", name, err)
			}
		}
	})
	return dynamo.New(client, tables)
}

func TestHandlerMoto(t *testing.T) {
	runHandlerSuite(t, motoStore(t))
}

func TestLambdaEventsMoto(t *testing.T) {
	runLambdaEvents(t, motoStore(t))
}
