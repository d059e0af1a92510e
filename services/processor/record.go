package processor

import (
	"errors"
	"strings"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
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

// failureIDs recovers what can be known about the event of a record that
// did not decode: its id, its run id and whether it claims to be a movie
// event, read leniently from the envelope (events.Peek keeps only
// well-formed tokens: they end up in table keys).
func failureIDs(err error, raw []byte) ids {
	p := events.Peek(raw)
	id := ids{eventID: p.ID, runID: p.RunID, movie: p.Type == events.TypeMovieObserved}
	var de *events.DecodeError
	if errors.As(err, &de) && de.Type != "" {
		id.movie = de.Type == events.TypeMovieObserved
	}
	return id
}
