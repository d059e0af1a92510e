package errorsink_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/services/errorsink"
)

// documented is testdata/onfailure-kinesis.json, the example invocation
// record of the AWS Lambda documentation, as Go values.
var documented = errorsink.OnFailure{
	RequestContext: errorsink.RequestContext{
		RequestID:              "c9b8fa9f-5a7f-xmpl-af9c-0c604cde93a5",
		FunctionARN:            "arn:aws:lambda:us-east-2:123456789012:function:myfunction",
		Condition:              "RetryAttemptsExhausted",
		ApproximateInvokeCount: 1,
	},
	ResponseContext: errorsink.ResponseContext{StatusCode: 200, ExecutedVersion: "$LATEST", FunctionError: "Unhandled"},
	Version:         "1.0",
	Timestamp:       time.Date(2019, 11, 14, 0, 38, 6, 21e6, time.UTC),
	KinesisBatchInfo: errorsink.KinesisBatchInfo{
		ShardID:                         "shardId-000000000001",
		StartSequenceNumber:             "49601189658422359378836298521827638475320189012309704722",
		EndSequenceNumber:               "49601189658422359378836298522902373528957594348623495186",
		ApproximateArrivalOfFirstRecord: time.Date(2019, 11, 14, 0, 38, 4, 835e6, time.UTC),
		ApproximateArrivalOfLastRecord:  time.Date(2019, 11, 14, 0, 38, 5, 580e6, time.UTC),
		BatchSize:                       500,
		StreamARN:                       "arn:aws:kinesis:us-east-2:123456789012:stream/mystream",
	},
}

func readDocumented(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "onfailure-kinesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeDocumentedMessage(t *testing.T) {
	got, err := errorsink.DecodeOnFailure(readDocumented(t))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(documented, got); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	// Every field of the documented JSON has a home in the Go type, and
	// the type encodes as Lambda writes it: a round trip gives the
	// documented JSON back, key for key and value for value (times with
	// their three fraction digits).
	var want, back map[string]any
	if err := json.Unmarshal(readDocumented(t), &want); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, back); diff != "" {
		t.Errorf("round trip (-documented +re-encoded):\n%s", diff)
	}
}

// TestOnFailureTimes: times are written as Lambda writes them, three
// fraction digits in UTC, and a finer or zoned time loses nothing.
func TestOnFailureTimes(t *testing.T) {
	tests := []struct {
		name string
		at   time.Time
		want string
	}{
		{"milliseconds", time.Date(2019, 11, 14, 0, 38, 6, 21e6, time.UTC), `"2019-11-14T00:38:06.021Z"`},
		{"whole second", time.Date(2019, 11, 14, 0, 38, 6, 0, time.UTC), `"2019-11-14T00:38:06.000Z"`},
		{"finer than milliseconds", time.Date(2019, 11, 14, 0, 38, 6, 21_000_500, time.UTC), `"2019-11-14T00:38:06.0210005Z"`},
		{"with an offset", time.Date(2019, 11, 14, 1, 38, 6, 21e6, time.FixedZone("", 3600)), `"2019-11-14T01:38:06.021+01:00"`},
		{"zero", time.Time{}, `"0001-01-01T00:00:00.000Z"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			of := documented
			of.Timestamp, of.KinesisBatchInfo.ApproximateArrivalOfLastRecord = tc.at, tc.at
			b, err := json.Marshal(of)
			if err != nil {
				t.Fatal(err)
			}
			var raw struct {
				Timestamp json.RawMessage `json:"timestamp"`
				Batch     struct {
					Last json.RawMessage `json:"approximateArrivalOfLastRecord"`
				} `json:"KinesisBatchInfo"`
			}
			if err := json.Unmarshal(b, &raw); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{tc.want, tc.want}, []string{string(raw.Timestamp), string(raw.Batch.Last)}); diff != "" {
				t.Errorf("encoded times (-want +got):\n%s", diff)
			}
			var back errorsink.OnFailure
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(of, back); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// edit returns the documented message with fn applied to its JSON tree.
func edit(t testing.TB, fn func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readDocumented(t), &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func batchInfo(m map[string]any) map[string]any { return m["KinesisBatchInfo"].(map[string]any) }

func TestDecodeBadMessages(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string // parts of the error, in order
	}{
		{"not JSON", `{"KinesisBatchInfo":`, []string{"bad on-failure message: unexpected end of JSON input"}},
		{"not an object", `[1,2]`, []string{"bad on-failure message: json: cannot unmarshal array"}},
		{"DynamoDB stream record", `{"DDBStreamBatchInfo":{"shardId":"s"}}`, []string{"no KinesisBatchInfo"}},
		{"missing shard id", edit(t, func(m map[string]any) { delete(batchInfo(m), "shardId") }),
			[]string{"KinesisBatchInfo.shardId is required"}},
		{"missing range and stream", edit(t, func(m map[string]any) {
			b := batchInfo(m)
			delete(b, "startSequenceNumber")
			delete(b, "endSequenceNumber")
			delete(b, "streamArn")
		}), []string{"startSequenceNumber is required", "endSequenceNumber is required", "streamArn is required"}},
		{"sequence number not decimal", edit(t, func(m map[string]any) { batchInfo(m)["endSequenceNumber"] = "12ab" }),
			[]string{`endSequenceNumber "12ab" is not a decimal sequence number`}},
		{"start after end", edit(t, func(m map[string]any) {
			batchInfo(m)["startSequenceNumber"], batchInfo(m)["endSequenceNumber"] = "100", "99"
		}), []string{"startSequenceNumber is after endSequenceNumber"}},
		{"not a stream ARN", edit(t, func(m map[string]any) { batchInfo(m)["streamArn"] = "arn:aws:sqs:us-east-2:1:q" }),
			[]string{"is not a Kinesis stream ARN"}},
		{"shard id with a newline", edit(t, func(m map[string]any) { batchInfo(m)["shardId"] = "shard\n1" }),
			[]string{"contains a space or control character"}},
		{"negative batch size and attempts", edit(t, func(m map[string]any) {
			batchInfo(m)["batchSize"] = -1
			m["requestContext"].(map[string]any)["approximateInvokeCount"] = -2
		}), []string{"batchSize -1 not in 0..10000", "approximateInvokeCount -2 is negative"}},
		{"wrong JSON type", edit(t, func(m map[string]any) { batchInfo(m)["shardId"] = 7 }),
			[]string{"cannot unmarshal number"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := errorsink.DecodeOnFailure([]byte(tc.body))
			if !errors.Is(err, errorsink.ErrBadMessage) {
				t.Fatalf("error %v, want ErrBadMessage", err)
			}
			rest := err.Error()
			for _, part := range tc.want {
				i := strings.Index(rest, part)
				if i < 0 {
					t.Fatalf("error %q lacks %q", err, part)
				}
				rest = rest[i+len(part):]
			}
		})
	}
}

// FuzzDecodeOnFailure: the decoder never panics, and what it accepts is
// valid and survives a round trip.
func FuzzDecodeOnFailure(f *testing.F) {
	f.Add(string(readDocumented(f)))
	f.Add(`{"KinesisBatchInfo":{"shardId":"s","startSequenceNumber":"1","endSequenceNumber":"1","streamArn":"arn:aws:kinesis:x"}}`)
	f.Add(`{"KinesisBatchInfo":{"shardId":"\u0000","startSequenceNumber":"0","endSequenceNumber":"00","streamArn":"arn::kinesis:"},"timestamp":"0001-01-01T00:00:00Z"}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, body string) {
		of, err := errorsink.DecodeOnFailure([]byte(body))
		if err != nil {
			if !errors.Is(err, errorsink.ErrBadMessage) {
				t.Fatalf("error %v is not ErrBadMessage", err)
			}
			return
		}
		if err := of.Validate(); err != nil {
			t.Fatalf("accepted message fails Validate: %v", err)
		}
		b, err := json.Marshal(of)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := errorsink.DecodeOnFailure(b)
		if err != nil {
			t.Fatalf("re-decode %s: %v", b, err)
		}
		if diff := cmp.Diff(of, back); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
