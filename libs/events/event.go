package events

import (
	"time"
)

// CloudEvents attribute values used by every event.
const (
	SpecVersion     = "1.0"
	DataContentType = "application/json"
)

// Wire type strings. They are part of the contract: never rename one.
const (
	TypeMovieObserved   = "movie.observed"
	TypeScrapeStarted   = "scrape.started"
	TypeScrapeCompleted = "scrape.completed"
)

// MaxEncodedSize caps an encoded event: Kinesis allows 1 MiB per record, we
// allow far less so that a runaway page cannot flood the stream.
const MaxEncodedSize = 64 << 10

// Caps on envelope strings, in bytes.
const (
	MaxIDLen      = 128
	MaxURLLen     = 2048
	MaxRunIDLen   = 128
	MaxSubjectLen = 128
)

// Event is one decoded event. Data holds the latest version of the event's
// data type after Decode; a producer may set an older version to encode it
// (tests do, to write golden files).
type Event struct {
	// ID is unique per event and deterministic (see EventID).
	ID string
	// Source is the absolute http(s) URL of the page the event came from.
	Source string
	// Time is when the item was observed.
	Time time.Time
	// Subject is the movie id for movie events and the run id for run
	// events; it is also the stream's partition key (see PartitionKey).
	Subject string
	// RunID is the scrape run that produced the event.
	RunID string
	// PublishedVersion is the schema version the event had on the wire,
	// before upcasting. Encode ignores it and writes Data's own version.
	PublishedVersion int
	// Data is one of the data types of this package.
	Data Data
}

// Type is the event's wire type string, from its data.
func (e Event) Type() string {
	if e.Data == nil {
		return ""
	}
	return e.Data.EventType()
}

// PartitionKey is the stream partition key of the event: the movie id for
// movie events, the run id for run events, so that the events of one key
// stay in order on one shard.
func (e Event) PartitionKey() string { return e.Subject }

// Data is the payload of an event. The set of implementations is closed:
// only this package's types implement it.
type Data interface {
	// EventType is the wire type string.
	EventType() string
	// SchemaVersion is the version of this Go type's schema.
	SchemaVersion() int
	// validate reports every problem of the data of an event observed at t.
	validate(t time.Time) error
}

// Kind names a (type, version) pair.
type Kind struct {
	Type    string
	Version int
}

// Published lists every (type, version) ever published. Never remove an
// entry: old events stay on the stream (and in archives) and must stay
// decodable. Tests fail if a golden file or schema of an entry is missing.
var Published = []Kind{
	{TypeMovieObserved, 1},
	{TypeMovieObserved, 2},
	{TypeScrapeStarted, 1},
	{TypeScrapeStarted, 2},
	{TypeScrapeCompleted, 1},
}

// Latest maps each type to its latest version, the one Decode returns.
var Latest = map[string]int{
	TypeMovieObserved:   2,
	TypeScrapeStarted:   2,
	TypeScrapeCompleted: 1,
}

// NewMovieObserved returns the event for movie data d, with id movieID,
// seen on page source at t during run runID. Its id is EventID(runID,
// source, movieID).
func NewMovieObserved(runID, source string, t time.Time, movieID string, d MovieObserved) Event {
	return Event{
		ID:      EventID(runID, source, movieID),
		Source:  source,
		Time:    t,
		Subject: movieID,
		RunID:   runID,
		Data:    d,
	}
}

// NewRunEvent returns a run lifecycle event (ScrapeStarted or
// ScrapeCompleted) of run runID on source at t. Its subject, and so its
// partition key, is the run id; its id is EventID(runID, source, type).
func NewRunEvent(runID, source string, t time.Time, d Data) Event {
	return Event{
		ID:      EventID(runID, source, d.EventType()),
		Source:  source,
		Time:    t,
		Subject: runID,
		RunID:   runID,
		Data:    d,
	}
}
