package query

import (
	"encoding/base64"
	"time"
	"unicode/utf8"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

// The response bodies. They are the API's own types, not the store's, so
// that a change of the projections never changes the API by accident; the
// OpenAPI document (api/openapi.json) describes them field by field.

// timestamp is a time as the API sends it: RFC 3339 in UTC with as many
// fractional digits as needed (what time.Time's MarshalJSON writes, without
// the cost of encoding/json re-validating a Marshaler's output).
type timestamp string

func stamp(t time.Time) timestamp { return timestamp(t.UTC().Format(time.RFC3339Nano)) }

// movie is a movie in GET /movies and GET /movies/{id}.
type movie struct {
	ID             string    `json:"id"`
	Title          string    `json:"title"`
	Year           int       `json:"year"`
	Rank           int       `json:"rank,omitempty"`
	Rating         float64   `json:"rating"`
	Votes          int       `json:"votes,omitempty"`
	Director       string    `json:"director,omitempty"`
	Genres         []string  `json:"genres,omitempty"`
	RuntimeMinutes int       `json:"runtimeMinutes,omitempty"`
	DetailURL      string    `json:"detailUrl,omitempty"`
	Source         string    `json:"source"`
	FirstSeen      timestamp `json:"firstSeen"`
	LastSeen       timestamp `json:"lastSeen"`
	LastRunID      string    `json:"lastRunId"`
}

func toMovie(m store.Movie) movie {
	return movie{
		ID: m.ID, Title: m.Title, Year: m.Year, Rank: m.Rank, Rating: m.Rating, Votes: m.Votes,
		Director: m.Director, Genres: m.Genres, RuntimeMinutes: m.RuntimeMinutes, DetailURL: m.DetailURL,
		Source: m.Source, FirstSeen: stamp(m.FirstSeen), LastSeen: stamp(m.LastSeen), LastRunID: m.LastRunID,
	}
}

// movieList is the body of GET /movies.
type movieList struct {
	Items      []movie `json:"items"`
	NextCursor string  `json:"nextCursor,omitempty"`
}

// run is the body of GET /runs/{id} and an item of GET /runs.
type run struct {
	ID            string          `json:"id"`
	Source        string          `json:"source"`
	Trigger       string          `json:"trigger,omitempty"`
	Status        store.RunStatus `json:"status"`
	StartedAt     timestamp       `json:"startedAt"`
	FinishedAt    timestamp       `json:"finishedAt,omitempty"`
	Completed     bool            `json:"completed"`
	Published     int             `json:"published"`
	PublishFailed int             `json:"publishFailed"`
	Skipped       int             `json:"skipped"`
	Pages         int             `json:"pages"`
	Unchanged     bool            `json:"unchanged"`
	Processed     int             `json:"processed"`
	Failed        int             `json:"failed"`
	DurationMs    int64           `json:"durationMs,omitempty"`
	Error         string          `json:"error,omitempty"`
}

func toRun(r store.Run) run {
	out := run{
		ID: r.ID, Source: r.Source, Trigger: r.Trigger, Status: r.Status(), StartedAt: stamp(r.StartedAt), Completed: r.Completed,
		Published: r.Published, PublishFailed: r.PublishFailed, Skipped: r.Skipped, Pages: r.Pages,
		Unchanged: r.Unchanged, Processed: r.Processed, Failed: r.Failed, DurationMs: r.DurationMs, Error: r.Error,
	}
	if !r.FinishedAt.IsZero() {
		out.FinishedAt = stamp(r.FinishedAt)
	}
	return out
}

// runList is the body of GET /runs.
type runList struct {
	Items      []run  `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// Payload encodings of an error item's preview and payload.
const (
	encodingUTF8   = "utf-8"
	encodingBase64 = "base64"
)

// errorItem is an item of GET /errors.
type errorItem struct {
	ID               string      `json:"id"`
	Stage            store.Stage `json:"stage"`
	Reason           string      `json:"reason"`
	EventID          string      `json:"eventId,omitempty"`
	RunID            string      `json:"runId,omitempty"`
	ShardID          string      `json:"shardId,omitempty"`
	SequenceNumber   string      `json:"sequenceNumber,omitempty"`
	PartitionKey     string      `json:"partitionKey,omitempty"`
	Condition        string      `json:"condition,omitempty"`
	Attempts         int         `json:"attempts"`
	FirstFailure     timestamp   `json:"firstFailure"`
	LastFailure      timestamp   `json:"lastFailure"`
	PayloadSize      int         `json:"payloadSize"`
	PayloadPreview   string      `json:"payloadPreview"`
	PayloadEncoding  string      `json:"payloadEncoding"`
	PayloadTruncated bool        `json:"payloadTruncated"`
	Resolved         timestamp   `json:"resolved,omitempty"`
}

// toErrorItem is e as GET /errors lists it. e.Payload may be the store's
// preview (ListErrors) or the whole payload (GetError): the item is the
// same.
func toErrorItem(e store.ErrorItem) errorItem {
	size := max(e.PayloadSize, len(e.Payload))
	preview, enc, n := encodePayload(e.Payload, PreviewBytes, size)
	out := errorItem{
		ID: e.ID, Stage: e.Stage, Reason: e.Reason, EventID: e.EventID, RunID: e.RunID, ShardID: e.ShardID,
		SequenceNumber: e.SequenceNumber, PartitionKey: e.PartitionKey, Condition: e.Condition,
		Attempts: e.Attempts, FirstFailure: stamp(e.FirstFailure), LastFailure: stamp(e.LastFailure),
		PayloadSize: size, PayloadPreview: preview, PayloadEncoding: enc, PayloadTruncated: n < size,
	}
	if !e.Resolved.IsZero() {
		out.Resolved = stamp(e.Resolved)
	}
	return out
}

// errorDetail is the body of GET /errors/{id}: the item as GET /errors
// lists it, and the payload the store kept (up to store.MaxPayload bytes).
// PayloadEncoding is the payload's, and the preview is in it too.
type errorDetail struct {
	errorItem
	Payload string `json:"payload"`
}

// toErrorDetail is e, read with its whole payload (GetError), as GET
// /errors/{id} answers it.
func toErrorDetail(e store.ErrorItem) errorDetail {
	d := errorDetail{errorItem: toErrorItem(e)}
	var enc string
	d.Payload, enc, _ = encodePayload(e.Payload, len(e.Payload), d.PayloadSize)
	if enc != d.PayloadEncoding {
		// Text at first, binary further on: the preview follows the
		// payload, so that one encoding reads both.
		n := min(len(e.Payload), PreviewBytes)
		d.PayloadPreview, d.PayloadEncoding, d.PayloadTruncated = base64.StdEncoding.EncodeToString(e.Payload[:n]), enc, n < d.PayloadSize
	}
	return d
}

// encodePayload encodes the first limit bytes of p, the first bytes of a
// record of size bytes: as text if they are valid UTF-8, else as standard
// base64. It returns how many bytes of p the text holds. A character that
// the cut splits (one that starts in the last bytes and ends past them, in
// p or, when p itself is cut, past its end) is left out of a text encoding
// rather than turning it into base64.
func encodePayload(p []byte, limit, size int) (text, encoding string, n int) {
	head := p[:min(len(p), limit)]
	if utf8.Valid(head) {
		return string(head), encodingUTF8, len(head)
	}
	for cut := 1; cut < utf8.UTFMax && cut <= len(head); cut++ {
		h := head[:len(head)-cut]
		if !utf8.Valid(h) {
			continue
		}
		// Only a character that starts in the last bytes and ends past the
		// cut counts as split; anything else is binary.
		rest := p[len(h):]
		if r, rs := utf8.DecodeRune(rest); (r != utf8.RuneError || rs > 1) && rs > cut {
			return string(h), encodingUTF8, len(h)
		}
		if len(rest) == cut && size > len(p) && !utf8.FullRune(rest) {
			// p ends inside a character whose other bytes were not kept.
			return string(h), encodingUTF8, len(h)
		}
	}
	return base64.StdEncoding.EncodeToString(head), encodingBase64, len(head)
}

// errorList is the body of GET /errors.
type errorList struct {
	Items      []errorItem `json:"items"`
	NextCursor string      `json:"nextCursor,omitempty"`
}

// historyPoint is an item of GET /movies/{id}/history: an observation
// whose rank, rating or votes differ from the one before it. Its list
// encodes itself (appendJSON), so ObservedAt, in UTC, is formatted straight
// into the body.
type historyPoint struct {
	ObservedAt time.Time `json:"observedAt"`
	RunID      string    `json:"runId,omitempty"`
	EventID    string    `json:"eventId"`
	Rank       int       `json:"rank,omitempty"`
	Rating     float64   `json:"rating"`
	Votes      int       `json:"votes,omitempty"`
}

func toHistoryPoint(o store.Observation) historyPoint {
	return historyPoint{ObservedAt: o.ObservedAt.UTC(), RunID: o.RunID, EventID: o.EventID, Rank: o.Rank, Rating: o.Rating, Votes: o.Votes}
}

// historyList is the body of GET /movies/{id}/history.
type historyList struct {
	Items      []historyPoint `json:"items"`
	NextCursor string         `json:"nextCursor,omitempty"`
}
