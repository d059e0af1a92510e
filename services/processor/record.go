package processor

import (
	"encoding/json"
	"errors"
	"strings"
	"unicode"

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
// did not decode: its id (from the DecodeError), its run id and whether it
// claims to be a movie event (read leniently from the envelope). Values
// that are not well-formed tokens are dropped: they came from a record we
// already know is bad, and they end up in table keys.
func failureIDs(err error, raw []byte) ids {
	var id ids
	var de *events.DecodeError
	if errors.As(err, &de) {
		id.movie = de.Type == events.TypeMovieObserved
		if validToken(de.EventID, events.MaxIDLen) {
			id.eventID = de.EventID
		}
	}
	env := peekEnvelope(raw)
	if id.eventID == "" && validToken(env.ID, events.MaxIDLen) {
		id.eventID = env.ID
	}
	if validToken(env.RunID, events.MaxRunIDLen) {
		id.runID = env.RunID
	}
	if de == nil {
		id.movie = env.Type == events.TypeMovieObserved
	}
	return id
}

// envelope is the part of a CloudEvent that identifies it, read without
// checking anything else.
type envelope struct {
	ID    string `json:"id"`
	RunID string `json:"runid"`
	Type  string `json:"type"`
}

// peekEnvelope reads the identifying attributes of raw if it is a JSON
// object; an attribute of the wrong JSON type stays empty (encoding/json
// goes on with the other fields), and anything that is not valid JSON
// yields nothing (encoding/json checks the whole input first). It never
// fails.
func peekEnvelope(raw []byte) envelope {
	var env envelope
	_ = json.Unmarshal(raw, &env) // best effort, see above
	return env
}

// validToken accepts 1..max bytes of printable text without spaces, the
// rule libs/events applies to ids.
func validToken(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, r := range s {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}
