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

// run is the body of GET /runs/{id}.
type run struct {
	ID            string          `json:"id"`
	Source        string          `json:"source"`
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
		ID: r.ID, Source: r.Source, Status: r.Status(), StartedAt: stamp(r.StartedAt), Completed: r.Completed,
		Published: r.Published, PublishFailed: r.PublishFailed, Skipped: r.Skipped, Pages: r.Pages,
		Unchanged: r.Unchanged, Processed: r.Processed, Failed: r.Failed, DurationMs: r.DurationMs, Error: r.Error,
	}
	if !r.FinishedAt.IsZero() {
		out.FinishedAt = stamp(r.FinishedAt)
	}
	return out
}

// Payload encodings of an error item's preview.
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
}

func toErrorItem(e store.ErrorItem) errorItem {
	preview, enc, n := previewPayload(e.Payload)
	size := max(e.PayloadSize, len(e.Payload))
	return errorItem{
		ID: e.ID, Stage: e.Stage, Reason: e.Reason, EventID: e.EventID, RunID: e.RunID, ShardID: e.ShardID,
		SequenceNumber: e.SequenceNumber, PartitionKey: e.PartitionKey, Condition: e.Condition,
		Attempts: e.Attempts, FirstFailure: stamp(e.FirstFailure), LastFailure: stamp(e.LastFailure),
		PayloadSize: size, PayloadPreview: preview, PayloadEncoding: enc, PayloadTruncated: n < size,
	}
}

// previewPayload returns the first PreviewBytes bytes of p as text if they
// are valid UTF-8, else as standard base64, and how many bytes of p the
// preview holds. A character that the cut splits is left out of a text
// preview rather than turning it into base64.
func previewPayload(p []byte) (preview, encoding string, n int) {
	head := p[:min(len(p), PreviewBytes)]
	if utf8.Valid(head) {
		return string(head), encodingUTF8, len(head)
	}
	for cut := 1; cut < utf8.UTFMax && cut <= len(head); cut++ {
		h := head[:len(head)-cut]
		// Only a character that starts in the last bytes and ends past the
		// cut counts as split; anything else is binary.
		if r, size := utf8.DecodeRune(p[len(h):]); (r != utf8.RuneError || size > 1) && size > cut && utf8.Valid(h) {
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
