package dynamo_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo/dynamotest"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(awsemu.Main(m)) }

var suffixSeq atomic.Uint64

// uniqueSuffix is a table-name suffix no other test (of this binary or of
// another one sharing moto_server) uses; contract.ValidSuffix allows 32
// characters.
func uniqueSuffix(t *testing.T) string {
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("st%d-%s", suffixSeq.Add(1), hex.EncodeToString(rnd[:]))
}

// newTables creates fresh tables on moto_server and deletes them when t
// ends.
func newTables(t *testing.T) (*dynamodb.Client, dynamo.Tables) {
	t.Helper()
	client := dynamodb.NewFromConfig(awsemu.Moto(t))
	return client, dynamotest.Tables(t, client, fmt.Sprintf("st%d", suffixSeq.Add(1)))
}

func TestContractMoto(t *testing.T) {
	client := dynamodb.NewFromConfig(awsemu.Moto(t))
	// The suite's 100 stores reuse a few sets of tables, emptied between
	// subtests: creating and deleting four tables per store was a third
	// of the suite's time on moto.
	pool := &dynamotest.Pool{Client: client, Prefix: fmt.Sprintf("st%d", suffixSeq.Add(1))}
	t.Cleanup(func() { pool.Close(t) })
	storetest.Run(t, func(t *testing.T) store.Store {
		// moto does not apply conditional writes atomically under
		// concurrent requests (see dynamo.Serial).
		return dynamo.New(dynamo.Serial(client), pool.Tables(t))
	})
}

func TestCreateTables(t *testing.T) {
	client := dynamodb.NewFromConfig(awsemu.Moto(t))
	ctx := t.Context()
	suffix := uniqueSuffix(t)
	tables, err := dynamo.CreateTables(ctx, client, suffix)
	if err != nil {
		t.Fatal(err)
	}
	// Again: the tables exist, nothing changes.
	again, err := dynamo.CreateTables(ctx, client, suffix)
	if err != nil {
		t.Fatalf("second CreateTables: %v", err)
	}
	if diff := cmp.Diff(tables, again); diff != "" {
		t.Errorf("names differ (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(dynamo.TableNames(suffix), tables); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		name   string
		schema contract.Table
	}{{tables.Movies, contract.MoviesTable}, {tables.Runs, contract.RunsTable}, {tables.Errors, contract.ErrorsTable},
		{tables.History, contract.HistoryTable}} {
		t.Cleanup(func() {
			client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(tc.name)})
		})
		d, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tc.name)})
		if err != nil {
			t.Fatal(err)
		}
		got := describe(d.Table)
		want := describeSchema(tc.schema)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("table %s (-want +got):\n%s", tc.name, diff)
		}
		ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(tc.name)})
		if err != nil {
			t.Fatal(err)
		}
		gotTTL := ""
		if d := ttl.TimeToLiveDescription; d != nil && d.TimeToLiveStatus == types.TimeToLiveStatusEnabled {
			gotTTL = aws.ToString(d.AttributeName)
		}
		if gotTTL != tc.schema.TTLAttribute {
			t.Errorf("table %s: TTL on %q, want %q", tc.name, gotTTL, tc.schema.TTLAttribute)
		}
	}
	if _, err := dynamo.CreateTables(ctx, client, "-bad suffix"); err == nil {
		t.Errorf("CreateTables with a bad suffix: nil error")
	}
}

// schema is a comparable summary of a table's keys, indexes and billing.
type schema struct {
	Keys    []string
	Attrs   map[string]string
	Indexes map[string][]string
	Billing string
}

func describe(d *types.TableDescription) schema {
	s := schema{Attrs: map[string]string{}, Indexes: map[string][]string{}}
	for _, k := range d.KeySchema {
		s.Keys = append(s.Keys, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
	}
	for _, a := range d.AttributeDefinitions {
		s.Attrs[aws.ToString(a.AttributeName)] = string(a.AttributeType)
	}
	for _, ix := range d.GlobalSecondaryIndexes {
		var ks []string
		for _, k := range ix.KeySchema {
			ks = append(ks, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
		}
		ks = append(ks, "projection "+string(ix.Projection.ProjectionType))
		for _, a := range ix.Projection.NonKeyAttributes {
			ks = append(ks, "projects "+a)
		}
		s.Indexes[aws.ToString(ix.IndexName)] = ks
	}
	if d.BillingModeSummary != nil {
		s.Billing = string(d.BillingModeSummary.BillingMode)
	}
	return s
}

func describeSchema(t contract.Table) schema {
	s := schema{Attrs: map[string]string{}, Indexes: map[string][]string{}, Billing: "PAY_PER_REQUEST"}
	keys := func(h contract.Attr, r *contract.Attr) []string {
		s.Attrs[h.Name] = string(h.Type)
		ks := []string{h.Name + " HASH"}
		if r != nil {
			s.Attrs[r.Name] = string(r.Type)
			ks = append(ks, r.Name+" RANGE")
		}
		return ks
	}
	s.Keys = keys(t.Hash, t.Range)
	for _, ix := range t.Indexes {
		ks := append(keys(ix.Hash, ix.Range), "projection "+ix.Projects)
		for _, a := range ix.NonKeyAttributes {
			ks = append(ks, "projects "+a)
		}
		s.Indexes[ix.Name] = ks
	}
	return s
}

// TestTTL checks that expired markers and error items are treated as gone
// before DynamoDB (or moto, which never does) deletes them.
func TestTTL(t *testing.T) {
	client, tables := newTables(t)
	now := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	s := dynamo.New(dynamo.Serial(client), tables, dynamo.WithClock(func() time.Time { return now }))
	ctx := t.Context()
	if ok, err := s.CountEvent(ctx, "r1", "e1", store.CounterProcessed, ""); err != nil || !ok {
		t.Fatalf("first count = %v, %v", ok, err)
	}
	e := store.ErrorItem{ID: "x", Stage: store.StageDecode, FirstFailure: now, LastFailure: now}
	if err := s.PutError(ctx, e); err != nil {
		t.Fatal(err)
	}

	now = now.Add(7 * 24 * time.Hour)
	if ok, _ := s.CountEvent(ctx, "r1", "e1", store.CounterProcessed, ""); ok {
		t.Errorf("marker expired after 7 days: the event was counted again")
	}
	if p, _ := s.ListErrors(ctx, 10, nil); len(p.Items) != 1 {
		t.Errorf("error item hidden before its 14 days: %d items", len(p.Items))
	}

	now = now.Add(7*24*time.Hour + time.Second)
	if p, _ := s.ListErrors(ctx, 10, nil); len(p.Items) != 0 {
		t.Errorf("error item visible after 14 days")
	}
	if ok, err := s.CountEvent(ctx, "r1", "e1", store.CounterProcessed, ""); err != nil || !ok {
		t.Errorf("count after the marker expired = %v, %v; want true", ok, err)
	}
	e2 := e
	e2.FirstFailure, e2.LastFailure = now, now
	if err := s.PutError(ctx, e2); err != nil {
		t.Fatal(err)
	}
	p, err := s.ListErrors(ctx, 10, nil)
	if err != nil || len(p.Items) != 1 || !p.Items[0].FirstFailure.Equal(now) {
		t.Errorf("new failure after expiry: %+v, %v", p.Items, err)
	}
	r, err := s.GetRun(ctx, "r1")
	if err != nil || r.Processed != 2 {
		t.Errorf("run: processed %d, %v; want 2", r.Processed, err)
	}
}

// TestErrorsListingProjection checks what the byTime GSI holds: the
// listing's attributes and the preview, never the payload, so a page of
// ListErrors reads what it shows.
func TestErrorsListingProjection(t *testing.T) {
	client, tables := newTables(t)
	s := dynamo.New(dynamo.Serial(client), tables)
	ctx := t.Context()
	now := time.Now().UTC()
	e := store.ErrorItem{ID: "big", Stage: store.StageDecode, Reason: "r", EventID: "e", RunID: "r1",
		Payload: bytes.Repeat([]byte("p"), store.MaxPayload), PayloadSize: 1 << 20, ShardID: "s", SequenceNumber: "1",
		PartitionKey: "k", StreamARN: "arn", Condition: "c", Attempts: 2, FirstFailure: now, LastFailure: now}
	if err := s.PutError(ctx, e); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResolveError(ctx, "big", now); err != nil {
		t.Fatal(err)
	}
	out, err := client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(tables.Errors),
		IndexName:                 aws.String(contract.ErrorsByTimeIndex),
		KeyConditionExpression:    aws.String("listPk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "ERR"}},
	})
	if err != nil || len(out.Items) != 1 {
		t.Fatalf("Query byTime: %d items, %v", len(out.Items), err)
	}
	var got []string
	for a := range out.Items[0] {
		got = append(got, a)
	}
	want := append([]string{contract.AttrID, contract.AttrListPK, contract.AttrListSK}, contract.ErrorsListingAttributes...)
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("attributes of a byTime item (-want +got):\n%s", diff)
	}
}

// TestPoolEmptiesAndReusesTables checks dynamotest.Pool, on which the
// contract suite relies for fresh stores: a set of tables goes back to the
// pool empty, however many items (more than a batch of 25, in every
// table) its test left, and the next test gets that same set.
func TestPoolEmptiesAndReusesTables(t *testing.T) {
	client := dynamodb.NewFromConfig(awsemu.Moto(t))
	pool := &dynamotest.Pool{Client: client, Prefix: fmt.Sprintf("pool%d", suffixSeq.Add(1))}
	t.Cleanup(func() { pool.Close(t) })
	var first dynamo.Tables
	t.Run("fill", func(t *testing.T) {
		first = pool.Tables(t)
		for _, tb := range []struct {
			name   string
			schema contract.Table
		}{{first.Movies, contract.MoviesTable}, {first.Runs, contract.RunsTable}, {first.Errors, contract.ErrorsTable},
			{first.History, contract.HistoryTable}} {
			for batch := range 2 { // 2 x 25 items: more than one page of deletes
				var reqs []types.WriteRequest
				for i := range 25 {
					item := map[string]types.AttributeValue{}
					for _, k := range []*contract.Attr{&tb.schema.Hash, tb.schema.Range} {
						if k == nil {
							continue
						}
						if k.Type == contract.Number {
							item[k.Name] = &types.AttributeValueMemberN{Value: fmt.Sprint(batch*25 + i)}
						} else {
							item[k.Name] = &types.AttributeValueMemberS{Value: fmt.Sprintf("k%02d", batch*25+i)}
						}
					}
					reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
				}
				if _, err := client.BatchWriteItem(t.Context(), &dynamodb.BatchWriteItemInput{
					RequestItems: map[string][]types.WriteRequest{tb.name: reqs}}); err != nil {
					t.Fatalf("fill %s: %v", tb.name, err)
				}
			}
		}
		if got := countItems(t, client, first); got != [4]int{50, 50, 50, 50} {
			t.Fatalf("items per table after filling: %v, want 50 in each", got)
		}
	})
	t.Run("reuse", func(t *testing.T) {
		second := pool.Tables(t)
		if second != first {
			t.Errorf("second test got tables %+v, want the first test's %+v back", second, first)
		}
		if got := countItems(t, client, second); got != [4]int{} {
			t.Errorf("items per table handed to the second test: %v, want none", got)
		}
	})
}

// countItems counts the items of the movies, runs, errors and history
// tables.
func countItems(t *testing.T, client *dynamodb.Client, tables dynamo.Tables) [4]int {
	t.Helper()
	var n [4]int
	for i, name := range []string{tables.Movies, tables.Runs, tables.Errors, tables.History} {
		p := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{TableName: aws.String(name), ConsistentRead: aws.Bool(true),
			Select: types.SelectCount})
		for p.HasMorePages() {
			out, err := p.NextPage(t.Context())
			if err != nil {
				t.Fatalf("scan %s: %v", name, err)
			}
			n[i] += int(out.Count)
		}
	}
	return n
}
