// Package dynamotest helps tests that run the DynamoDB adapter against an
// emulator: fresh tables per test, deleted when the test ends.
package dynamotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
)

// Tables creates the stack's tables (dynamo.CreateTables) under the
// suffix prefix-<8 random hex digits>, unique across tests sharing one
// emulator, and deletes them when t ends. prefix must leave the suffix
// within contract.ValidSuffix's 32 characters.
func Tables(t testing.TB, client *dynamodb.Client, prefix string) dynamo.Tables {
	t.Helper()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:]) // crypto/rand.Read never fails on supported platforms
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	tables, err := dynamo.CreateTables(ctx, client, prefix+"-"+hex.EncodeToString(rnd[:]))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, name := range []string{tables.Movies, tables.Runs, tables.Errors, tables.History} {
			if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
				t.Errorf("delete table %s: %v", name, err)
			}
		}
	})
	return tables
}
