package processor

import (
	"testing"

	lambdaevents "github.com/aws/aws-lambda-go/events"
)

func TestShardID(t *testing.T) {
	tests := []struct {
		name, eventID, seq, want string
	}{
		{"lambda event id", "shardId-000000000006:4959033827", "4959033827", "shardId-000000000006"},
		{"shard id with a colon", "shardId-00:06:4959", "4959", "shardId-00:06"},
		{"other sequence number, shard prefix", "shardId-000000000001:123", "456", "shardId-000000000001"},
		{"no event id", "", "4959", ""},
		{"foreign event id", "abc", "4959", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := lambdaevents.KinesisEventRecord{EventID: tc.eventID, Kinesis: lambdaevents.KinesisRecord{SequenceNumber: tc.seq}}
			if got := shardID(&rec); got != tc.want {
				t.Errorf("shardID(%q, %q) = %q, want %q", tc.eventID, tc.seq, got, tc.want)
			}
		})
	}
}
