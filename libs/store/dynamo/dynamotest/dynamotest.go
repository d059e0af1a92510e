// Package dynamotest helps tests that run the DynamoDB adapter against an
// emulator: fresh tables per test, deleted when the test ends ([Tables]),
// or empty tables reused from test to test ([Pool]).
package dynamotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
)

// Tables creates the stack's tables (dynamo.CreateTables) under the
// suffix prefix-<8 random hex digits>, unique across tests sharing one
// emulator, and deletes them when t ends. prefix must leave the suffix
// within contract.ValidSuffix's 32 characters.
func Tables(t testing.TB, client *dynamodb.Client, prefix string) dynamo.Tables {
	t.Helper()
	tables := createTables(t, client, prefix)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		deleteTables(ctx, t, client, tables)
	})
	return tables
}

// createTables creates the stack's tables under prefix-<8 random hex
// digits>, or fails t.
func createTables(t testing.TB, client *dynamodb.Client, prefix string) dynamo.Tables {
	t.Helper()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:]) // crypto/rand.Read never fails on supported platforms
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	tables, err := dynamo.CreateTables(ctx, client, prefix+"-"+hex.EncodeToString(rnd[:]))
	if err != nil {
		t.Fatal(err)
	}
	return tables
}

// deleteTables deletes the four tables; t reports the failures.
func deleteTables(ctx context.Context, t testing.TB, client *dynamodb.Client, tables dynamo.Tables) {
	t.Helper()
	for _, name := range []string{tables.Movies, tables.Runs, tables.Errors, tables.History} {
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
			t.Errorf("delete table %s: %v", name, err)
		}
	}
}

// Pool hands tests sets of empty tables, reusing the sets of tests that
// ended: a set is emptied when its test ends (a Scan of each table and a
// BatchWriteItem for every 25 items) and handed to the next test, instead
// of four tables being created (a dozen calls) and deleted (four more) per
// test. For suites of many small tests, such as the store contract suite,
// whose 100 stores spent a third of their time on moto_server creating
// and deleting tables. The sets are deleted by [Pool.Close]. A Pool is safe
// for concurrent use; it must not be copied after first use.
type Pool struct {
	// Client makes and empties the tables.
	Client *dynamodb.Client
	// Prefix starts every set's suffix, as in [Tables].
	Prefix string

	mu   sync.Mutex
	free []dynamo.Tables
	all  []dynamo.Tables
}

// Tables returns a set of empty tables for t, made with [Tables]' suffix
// rules when the pool has no free set, and empties it and gives it back to
// the pool when t ends. A set that cannot be emptied fails t and is not
// handed out again.
func (p *Pool) Tables(t testing.TB) dynamo.Tables {
	t.Helper()
	p.mu.Lock()
	var tables dynamo.Tables
	reused := len(p.free) > 0
	if reused {
		tables = p.free[len(p.free)-1]
		p.free = p.free[:len(p.free)-1]
	}
	p.mu.Unlock()
	if !reused {
		tables = createTables(t, p.Client, p.Prefix)
		p.mu.Lock()
		p.all = append(p.all, tables)
		p.mu.Unlock()
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := Empty(ctx, p.Client, tables); err != nil {
			t.Errorf("empty the tables for the next test: %v", err)
			return
		}
		p.mu.Lock()
		p.free = append(p.free, tables)
		p.mu.Unlock()
	})
	return tables
}

// Close deletes every set of tables the pool made; t reports the failures.
// Call it when the last test that uses the pool has ended, usually in the
// parent test's Cleanup.
func (p *Pool) Close(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	all := p.all
	p.all, p.free = nil, nil
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tables := range all {
		deleteTables(ctx, t, p.Client, tables)
	}
}

// Empty deletes every item of the tables, reading them with strongly
// consistent scans until a scan finds none left.
func Empty(ctx context.Context, client *dynamodb.Client, tables dynamo.Tables) error {
	for _, tb := range []struct {
		name   string
		schema contract.Table
	}{{tables.Movies, contract.MoviesTable}, {tables.Runs, contract.RunsTable}, {tables.Errors, contract.ErrorsTable},
		{tables.History, contract.HistoryTable}} {
		if err := emptyTable(ctx, client, tb.name, tb.schema); err != nil {
			return fmt.Errorf("empty table %s: %w", tb.name, err)
		}
	}
	return nil
}

// emptyTable deletes the items of table name, whose key schema is that of
// schema, by pages of a scan that reads their keys only.
func emptyTable(ctx context.Context, client *dynamodb.Client, name string, schema contract.Table) error {
	keys := []string{schema.Hash.Name}
	if schema.Range != nil {
		keys = append(keys, schema.Range.Name)
	}
	names := map[string]string{}
	var proj []string
	for i, k := range keys {
		ref := fmt.Sprintf("#k%d", i)
		names[ref] = k
		proj = append(proj, ref)
	}
	in := &dynamodb.ScanInput{
		TableName:                aws.String(name),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String(strings.Join(proj, ", ")),
		ExpressionAttributeNames: names,
	}
	for {
		out, err := client.Scan(ctx, in)
		if err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		for batch := range slices.Chunk(out.Items, 25) {
			reqs := make([]types.WriteRequest, len(batch))
			for i, item := range batch {
				reqs[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: item}}
			}
			pending := map[string][]types.WriteRequest{name: reqs}
			for attempt := 0; len(pending) > 0; attempt++ {
				if attempt == 10 {
					return fmt.Errorf("batch delete: %d items still unprocessed", len(pending[name]))
				}
				res, err := client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
				if err != nil {
					return fmt.Errorf("batch delete: %w", err)
				}
				pending = res.UnprocessedItems
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
