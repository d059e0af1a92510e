package processor

import (
	"strings"

	lambdaevents "github.com/aws/aws-lambda-go/events"
)

// shardID is the shard a record came from. Lambda's eventID for a Kinesis
// record is "<shard id>:<sequence number>"; a record without one (hand-made
// events) has no known shard.
func shardID(rec *lambdaevents.KinesisEventRecord) string {
	id := rec.EventID
	if seq := rec.Kinesis.SequenceNumber; seq != "" && strings.HasSuffix(id, ":"+seq) {
		return id[:len(id)-len(seq)-1]
	}
	if i := strings.LastIndexByte(id, ':'); i > 0 && strings.HasPrefix(id, "shardId-") {
		return id[:i]
	}
	return ""
}
