package awsemu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestKinesisPutAndGetRecords(t *testing.T) {
	t.Parallel()
	cfg := Kinesis(t)
	ctx := testContext(t)
	client := kinesis.NewFromConfig(cfg)
	stream := Name(t, "stream")

	began := time.Now()
	CreateStream(t, cfg, stream, 2)
	t.Logf("stream %s ACTIVE after %s", stream, time.Since(began).Round(time.Millisecond))

	var want []string
	var entries []kintypes.PutRecordsRequestEntry
	for i := range 10 {
		data := fmt.Sprintf("record-%02d", i)
		want = append(want, data)
		entries = append(entries, kintypes.PutRecordsRequestEntry{
			Data:         []byte(data),
			PartitionKey: aws.String(fmt.Sprintf("movie-%d", i)),
		})
	}
	put, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	if n := aws.ToInt32(put.FailedRecordCount); n != 0 {
		t.Fatalf("PutRecords: %d records failed: %+v", n, put.Records)
	}

	shards, err := client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatalf("ListShards: %v", err)
	}
	if len(shards.Shards) != 2 {
		t.Fatalf("ListShards: got %d shards, want 2", len(shards.Shards))
	}
	var got []string
	for _, shard := range shards.Shards {
		it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName:        aws.String(stream),
			ShardId:           shard.ShardId,
			ShardIteratorType: kintypes.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			t.Fatalf("GetShardIterator %s: %v", aws.ToString(shard.ShardId), err)
		}
		recs, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			t.Fatalf("GetRecords %s: %v", aws.ToString(shard.ShardId), err)
		}
		for _, r := range recs.Records {
			got = append(got, string(r.Data))
		}
	}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records read back (-want +got):\n%s", diff)
	}
}

func TestKinesisStreamsAreIsolatedByName(t *testing.T) {
	t.Parallel()
	cfg := Kinesis(t)
	ctx := testContext(t)
	client := kinesis.NewFromConfig(cfg)
	a, b := Name(t, "a"), Name(t, "b")
	CreateStream(t, cfg, a, 1)
	CreateStream(t, cfg, b, 1)
	out, err := client.ListStreams(ctx, &kinesis.ListStreamsInput{})
	if err != nil {
		t.Fatalf("ListStreams: %v", err)
	}
	for _, name := range []string{a, b} {
		if !slices.Contains(out.StreamNames, name) {
			t.Errorf("ListStreams = %v, missing %s", out.StreamNames, name)
		}
	}
}

// createTable creates a table with a string hash key "pk" and waits until it
// is ACTIVE.
func createTable(ctx context.Context, t *testing.T, client *dynamodb.Client, name string) {
	t.Helper()
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("CreateTable %s: %v", name, err)
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 200*time.Millisecond
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		t.Fatalf("wait for table %s: %v", name, err)
	}
}

func item(pk, title string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		"pk":    &ddbtypes.AttributeValueMemberS{Value: pk},
		"title": &ddbtypes.AttributeValueMemberS{Value: title},
	}
}

func TestDynamoDBConditionalPutAndTransactions(t *testing.T) {
	t.Parallel()
	cfg := Moto(t)
	ctx := testContext(t)
	client := dynamodb.NewFromConfig(cfg)
	table := Name(t, "movies")
	createTable(ctx, t, client, table)

	putNew := func(it map[string]ddbtypes.AttributeValue) error {
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:           aws.String(table),
			Item:                it,
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		})
		return err
	}
	if err := putNew(item("m1", "first")); err != nil {
		t.Fatalf("first conditional PutItem: %v", err)
	}
	err := putNew(item("m1", "second"))
	var condFailed *ddbtypes.ConditionalCheckFailedException
	if !errors.As(err, &condFailed) {
		t.Fatalf("second conditional PutItem: got %v, want ConditionalCheckFailedException", err)
	}

	_, err = client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []ddbtypes.TransactWriteItem{
			{Put: &ddbtypes.Put{TableName: aws.String(table), Item: item("m2", "two"),
				ConditionExpression: aws.String("attribute_not_exists(pk)")}},
			{Update: &ddbtypes.Update{TableName: aws.String(table),
				Key:                       map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "m1"}},
				UpdateExpression:          aws.String("SET title = :t"),
				ConditionExpression:       aws.String("title = :old"),
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":t": &ddbtypes.AttributeValueMemberS{Value: "one"}, ":old": &ddbtypes.AttributeValueMemberS{Value: "first"}}}},
		},
	})
	if err != nil {
		t.Fatalf("TransactWriteItems: %v", err)
	}

	// A transaction whose condition fails writes nothing.
	_, err = client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []ddbtypes.TransactWriteItem{
			{Put: &ddbtypes.Put{TableName: aws.String(table), Item: item("m3", "three")}},
			{Put: &ddbtypes.Put{TableName: aws.String(table), Item: item("m2", "dup"),
				ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		},
	})
	var canceled *ddbtypes.TransactionCanceledException
	if !errors.As(err, &canceled) {
		t.Fatalf("failing TransactWriteItems: got %v, want TransactionCanceledException", err)
	}

	got := map[string]string{}
	scan, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	for _, it := range scan.Items {
		got[it["pk"].(*ddbtypes.AttributeValueMemberS).Value] = it["title"].(*ddbtypes.AttributeValueMemberS).Value
	}
	want := map[string]string{"m1": "one", "m2": "two"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("table after the writes (-want +got):\n%s", diff)
	}
}

func TestDynamoDBTimeToLive(t *testing.T) {
	t.Parallel()
	cfg := Moto(t)
	ctx := testContext(t)
	client := dynamodb.NewFromConfig(cfg)
	table := Name(t, "errors")
	createTable(ctx, t, client, table)

	if _, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(table),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String("expires"), Enabled: aws.Bool(true)},
	}); err != nil {
		t.Fatalf("UpdateTimeToLive: %v", err)
	}
	out, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("DescribeTimeToLive: %v", err)
	}
	got := *out.TimeToLiveDescription
	want := ddbtypes.TimeToLiveDescription{AttributeName: aws.String("expires"), TimeToLiveStatus: ddbtypes.TimeToLiveStatusEnabled}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(ddbtypes.TimeToLiveDescription{})); diff != "" {
		t.Errorf("DescribeTimeToLive (-want +got):\n%s", diff)
	}
}

func TestSQSSendReceive(t *testing.T) {
	t.Parallel()
	cfg := Moto(t)
	ctx := testContext(t)
	client := sqs.NewFromConfig(cfg)
	queue, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(Name(t, "on-failure"))})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	body := `{"shard":"shardId-000000000000","startSequenceNumber":"1"}`
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: queue.QueueUrl, MessageBody: aws.String(body)}); err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: queue.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
	})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	var got []string
	for _, m := range out.Messages {
		got = append(got, aws.ToString(m.Body))
		if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: queue.QueueUrl, ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Errorf("DeleteMessage: %v", err)
		}
	}
	if diff := cmp.Diff([]string{body}, got); diff != "" {
		t.Errorf("messages received (-want +got):\n%s", diff)
	}
}

// TestListensOnLoopbackOnly checks in /proc/net that every port the emulators
// were given is bound to 127.0.0.1, in particular kinesis-mock's, which binds
// 0.0.0.0 unless loopback.cjs moves it.
func TestListensOnLoopbackOnly(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must check the listeners, but /proc/net/tcp is missing: %v", err)
		}
		t.Skip("no /proc/net/tcp on this OS")
	}
	All(t)
	listening := map[int][]string{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(file)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 4 || f[3] != "0A" { // 0A: LISTEN
				continue
			}
			addr, port, ok := strings.Cut(f[1], ":")
			if !ok {
				continue
			}
			var p int
			if _, err := fmt.Sscanf(port, "%X", &p); err != nil {
				t.Fatalf("parse %s line %q: %v", file, line, err)
			}
			listening[p] = append(listening[p], addr)
		}
	}
	for _, s := range []*shared{kinesisMock, moto} {
		s.mu.Lock()
		inst := s.inst
		s.mu.Unlock()
		for _, port := range inst.ports {
			// 0100007F is 127.0.0.1 as /proc/net/tcp prints it.
			if diff := cmp.Diff([]string{"0100007F"}, listening[port]); diff != "" {
				t.Errorf("%s port %d listens on (-want +got):\n%s", inst.name, port, diff)
			}
		}
	}
}

func TestEndpointsEnv(t *testing.T) {
	e := Endpoints{Kinesis: "http://127.0.0.1:1", DynamoDB: "http://127.0.0.1:2", SQS: "http://127.0.0.1:2", S3: "http://127.0.0.1:2"}
	got := map[string]string{}
	for _, kv := range e.Env() {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	want := map[string]string{
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_KINESIS":    "http://127.0.0.1:1",
		"AWS_ENDPOINT_URL_DYNAMODB":   "http://127.0.0.1:2",
		"AWS_ENDPOINT_URL_SQS":        "http://127.0.0.1:2",
		"AWS_ENDPOINT_URL_S3":         "http://127.0.0.1:2",
		"AWS_REGION":                  Region,
		"AWS_DEFAULT_REGION":          Region,
		"AWS_ACCESS_KEY_ID":           AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":       SecretAccessKey,
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED":   "true",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Env() (-want +got):\n%s", diff)
	}
}

func TestName(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		want   string // the part before the -<seq>-<random> suffix
		// truncated: the base is cut to fit maxNameLen, so it is a prefix
		// of want.
		truncated bool
	}{
		{name: "simple", prefix: "events", want: "events-testname-simple"},
		{name: "Mixed_Case/and spaces", prefix: "My.Stream", want: "my-stream-testname-mixed-case-and-spaces"},
		{name: "symbols only prefix", prefix: "--__", want: "testname-symbols-only-prefix"},
		{name: strings.Repeat("long", 30), prefix: "p", want: "p-testname-" + strings.Repeat("long", 30), truncated: true},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Name(t, tc.prefix)
			if seen[got] {
				t.Errorf("Name returned %q twice", got)
			}
			seen[got] = true
			if len(got) > maxNameLen {
				t.Errorf("Name = %q, %d bytes, want at most %d", got, len(got), maxNameLen)
			}
			i := strings.LastIndexByte(got, '-')
			j := strings.LastIndexByte(got[:i], '-')
			base := got[:j]
			if tc.truncated {
				if !strings.HasPrefix(tc.want, base) || len(base) < maxNameLen-len("-NNN-xxxxxx") {
					t.Errorf("Name(%q) = %q, want a base that is a long prefix of %q", tc.prefix, got, tc.want)
				}
			} else if diff := cmp.Diff(tc.want, base); diff != "" {
				t.Errorf("Name(%q) = %q, base (-want +got):\n%s", tc.prefix, got, diff)
			}
			for _, r := range got {
				if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
					t.Errorf("Name = %q has %q, outside [a-z0-9-]", got, r)
				}
			}
		})
	}
	again := Name(t, "events")
	if again == Name(t, "events") {
		t.Errorf("two calls returned the same name %q", again)
	}
}

func TestShouldSkip(t *testing.T) {
	missing := fmt.Errorf("start: %w", &missingError{tool: "moto_server", hint: "pip"})
	tests := []struct {
		name string
		err  error
		ci   string
		want bool
	}{
		{name: "missing tool", err: missing, want: true},
		{name: "missing tool on CI", err: missing, ci: "true", want: false},
		{name: "other error", err: errors.New("boom"), want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == "CI" {
					return tc.ci
				}
				return ""
			}
			if got := shouldSkip(tc.err, getenv); got != tc.want {
				t.Errorf("shouldSkip(%v, CI=%q) = %v, want %v", tc.err, tc.ci, got, tc.want)
			}
		})
	}
}

func TestMissingToolsSayHowToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	// No moto installed by an earlier run in the user's cache directory.
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	tests := []struct {
		name    string
		prepare func(context.Context) (prepared, error)
		hint    string
	}{
		{name: "kinesis-mock", prepare: prepareKinesisMock, hint: "apt-get install nodejs npm"},
		{name: "moto_server", prepare: prepareMoto, hint: "apt-get install python3 python3-venv"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.prepare(t.Context())
			var missing *missingError
			if !errors.As(err, &missing) {
				t.Fatalf("prepare with an empty PATH: got %v, want a *missingError", err)
			}
			if diff := cmp.Diff(tc.hint, missing.hint); diff != "" {
				t.Errorf("install hint (-want +got):\n%s", diff)
			}
		})
	}
}
