// Package store defines the pipeline's projections (movies, runs, errors)
// and the operations on them that the services use. Implementations live in
// packages named after their technology: embedded (used by tests and
// devstack) and dynamo (aws-sdk-go-v2). storetest is the contract suite both
// must pass.
//
// Consumers declare the small interface they need (a subset of Store); the
// full Store interface exists for the contract suite and compile-time checks.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// Movie is the projection of a movie's latest observation.
type Movie struct {
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
	FirstSeen      time.Time `json:"firstSeen"`
	LastSeen       time.Time `json:"lastSeen"`
	LastRunID      string    `json:"lastRunId"`
	// LastEventID and LastEventTime order observations: an event replaces
	// the projection only if (time, id) is greater than these.
	LastEventID   string    `json:"lastEventId"`
	LastEventTime time.Time `json:"lastEventTime"`
}

// Newer reports whether an event with (t, id) is newer than the one that
// produced m: later time, or the same time and a greater id.
func (m Movie) Newer(t time.Time, id string) bool {
	if !t.Equal(m.LastEventTime) {
		return t.After(m.LastEventTime)
	}
	return id > m.LastEventID
}

// Outcome is the result of applying an event to a projection.
type Outcome int

const (
	// Applied: the projection changed.
	Applied Outcome = iota + 1
	// Duplicate: this very event was applied before; nothing changed.
	Duplicate
	// Stale: a newer event was applied before; nothing changed.
	Stale
)

// String returns the outcome's lowercase name, or "unknown".
func (o Outcome) String() string {
	switch o {
	case Applied:
		return "applied"
	case Duplicate:
		return "duplicate"
	case Stale:
		return "stale"
	}
	return "unknown"
}

// RunStatus is the derived state of a scrape run.
type RunStatus string

// Run statuses.
const (
	RunRunning   RunStatus = "running"
	RunCompleted RunStatus = "completed"
	RunUnchanged RunStatus = "unchanged"
	RunFailed    RunStatus = "failed"
)

// Run is one scrape run's progress. The scraper creates it, the processor
// fills it from the run's events.
type Run struct {
	ID        string    `json:"id"`
	Source    string    `json:"source"`
	StartedAt time.Time `json:"startedAt"`
	// FinishedAt is zero until scrape.completed was projected.
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	// Completed is true once scrape.completed was projected; its counts
	// (Published, PublishFailed, Skipped, Pages, Unchanged) are then final.
	Completed     bool   `json:"completed"`
	Published     int    `json:"published"`
	PublishFailed int    `json:"publishFailed"`
	Skipped       int    `json:"skipped"`
	Pages         int    `json:"pages"`
	Unchanged     bool   `json:"unchanged"`
	DurationMs    int64  `json:"durationMs,omitempty"`
	Error         string `json:"error,omitempty"`
	// Processed counts movie events projected (applied, stale or duplicate
	// in the projection, but each event once); Failed counts this run's
	// records that ended in the errors table.
	Processed int `json:"processed"`
	Failed    int `json:"failed"`
}

// Status derives the run's state from its fields.
func (r Run) Status() RunStatus {
	switch {
	case !r.Completed:
		return RunRunning
	case r.Error != "":
		return RunFailed
	case r.Unchanged:
		return RunUnchanged
	case r.Processed+r.Failed >= r.Published:
		return RunCompleted
	default:
		return RunRunning
	}
}

// Counter names a per-run progress counter.
type Counter string

// Progress counters.
const (
	CounterProcessed Counter = "processed"
	CounterFailed    Counter = "failed"
)

// PageState is what the last successful fetch of a page returned, for a
// conditional GET on the next run.
type PageState struct {
	URL          string    `json:"url"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"lastModified,omitempty"`
	FetchedAt    time.Time `json:"fetchedAt"`
}

// Stage tells where a record failed.
type Stage string

// Failure stages.
const (
	StageDecode           Stage = "decode"   // not a decodable event
	StageValidate         Stage = "validate" // decodable, invalid data
	StageProject          Stage = "project"  // permanent projection failure
	StageRetriesExhausted Stage = "retries_exhausted"
)

// ErrorItem is one failed record.
type ErrorItem struct {
	// ID is deterministic (see ErrorID) so that storing the same failure
	// twice yields one item.
	ID      string `json:"id"`
	Stage   Stage  `json:"stage"`
	Reason  string `json:"reason"`
	EventID string `json:"eventId,omitempty"`
	RunID   string `json:"runId,omitempty"`
	// Payload is the raw record, cut to MaxPayload bytes; PayloadSize is its
	// full size.
	Payload        []byte    `json:"payload,omitempty"`
	PayloadSize    int       `json:"payloadSize"`
	ShardID        string    `json:"shardId,omitempty"`
	SequenceNumber string    `json:"sequenceNumber,omitempty"`
	PartitionKey   string    `json:"partitionKey,omitempty"`
	StreamARN      string    `json:"streamArn,omitempty"`
	Condition      string    `json:"condition,omitempty"`
	Attempts       int       `json:"attempts"`
	FirstFailure   time.Time `json:"firstFailure"`
	LastFailure    time.Time `json:"lastFailure"`
	ExpiresAt      time.Time `json:"expiresAt"`
}

// MaxPayload caps the raw payload kept in an error item, well inside
// DynamoDB's 400 KB item limit.
const MaxPayload = 300 * 1000

// PageToken is an opaque continuation returned by a listing and passed back
// to get the next page. It is not authenticated: the HTTP layer signs it
// before handing it to a client.
type PageToken []byte

// Page is one page of a listing.
type Page[T any] struct {
	Items []T
	// Next is nil on the last page.
	Next PageToken
}

// MovieFilter selects the movies to list.
type MovieFilter struct {
	// Year, when non-zero, lists the movies of that year (GSI byYear).
	Year int
}

var (
	// ErrNotFound: no item with that key.
	ErrNotFound = errors.New("not found")
	// ErrTransient marks a failure worth retrying later (throttling, 5xx,
	// timeouts) that persisted through the adapter's own retries. Test with
	// errors.Is.
	ErrTransient = errors.New("transient store failure")
	// ErrBadToken: a PageToken that this store did not issue for this
	// listing. Such errors also match ErrInvalid.
	ErrBadToken = errors.New("bad page token")
	// ErrInvalid marks input the store refuses for good: retrying it cannot
	// succeed (an empty or oversized id, text that is not UTF-8, a time
	// outside years 1-9999, a payload over MaxPayload, a bad page limit or
	// token, or input the backend itself rejects as invalid). Test with
	// errors.Is. An error that is neither ErrInvalid nor ErrTransient (a
	// missing permission, a missing table, an unknown failure) says nothing
	// about the input: callers must not treat it as a verdict on the data.
	ErrInvalid = errors.New("invalid store input")
)

// Store is every operation of the projections. Implementations are safe for
// concurrent use. Every method honours ctx's deadline and cancellation.
// Input that a write or a listing refuses for good (see ErrInvalid) is an
// error matching ErrInvalid whose message says what is wrong; a read by a
// key that no item can have (GetMovie, GetRun, PageState) is ErrNotFound.
type Store interface {
	// ApplyMovie replaces the projection of m.ID with m if (m.LastEventTime,
	// m.LastEventID) is newer than the stored one, keeping the stored
	// FirstSeen. It returns Applied, Duplicate (same event id already
	// applied) or Stale (a newer event already applied); a failed condition
	// is an outcome, not an error.
	ApplyMovie(ctx context.Context, m Movie) (Outcome, error)
	// GetMovie returns the movie or ErrNotFound.
	GetMovie(ctx context.Context, id string) (Movie, error)
	// ListMovies returns up to limit movies after token (nil: the first
	// page). Without a year, movies come in a stable order; with a year, in
	// id order. A token from another listing or filter is ErrBadToken.
	ListMovies(ctx context.Context, f MovieFilter, limit int, token PageToken) (Page[Movie], error)

	// StartRun creates the run if it does not exist; an existing run is
	// left as it is (idempotent).
	StartRun(ctx context.Context, r Run) error
	// CompleteRun records the final counts of scrape.completed (Published,
	// PublishFailed, Skipped, Pages, Unchanged, FinishedAt, DurationMs,
	// Error) and sets Completed, creating the run if needed. Idempotent.
	CompleteRun(ctx context.Context, r Run) error
	// CountEvent adds one to counter c of run runID unless eventID was
	// already counted for that run (a marker item written in the same
	// transaction). It reports whether it counted.
	CountEvent(ctx context.Context, runID, eventID string, c Counter) (bool, error)
	// FailEvent records that event eventID of run runID failed for good: in
	// one transaction it writes the event's progress marker (if absent),
	// adds one to the run's failed counter and stores e. If the marker
	// already exists (the event was processed or failed before), nothing is
	// written and it returns false.
	FailEvent(ctx context.Context, runID, eventID string, e ErrorItem) (bool, error)
	// GetRun returns the run or ErrNotFound.
	GetRun(ctx context.Context, id string) (Run, error)

	// AcquireLease takes the scrape lease of host until now+ttl for
	// holder, if it is free or expired. If another holder has it, ok is
	// false and retryAfter tells when it frees up.
	AcquireLease(ctx context.Context, host, holder string, now time.Time, ttl time.Duration) (ok bool, retryAfter time.Duration, err error)
	// PageState returns the stored conditional-GET state of url or
	// ErrNotFound.
	PageState(ctx context.Context, url string) (PageState, error)
	// PutPageState stores s, replacing any previous state of s.URL.
	PutPageState(ctx context.Context, s PageState) error

	// PutError stores e. If an item with e.ID exists it keeps its
	// FirstFailure and takes e's LastFailure, Attempts and Reason
	// (idempotent for the same e).
	PutError(ctx context.Context, e ErrorItem) error
	// ListErrors returns up to limit error items, newest FirstFailure first.
	ListErrors(ctx context.Context, limit int, token PageToken) (Page[ErrorItem], error)
}

// ErrorID is the deterministic id of the failure of one record: the same
// stage, shard and sequence number (or, without them, event id) always give
// the same id, so storing a failure again updates one item.
func ErrorID(stage Stage, shardID, sequenceNumber, eventID string) string {
	h := sha256.New()
	for _, s := range []string{string(stage), shardID, sequenceNumber, eventID} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// EventKey is what a record is counted under in its run's progress
// (CountEvent, FailEvent): its event id or, for a record whose id could not
// be read, its place on the stream. Whoever counts a record uses it, so the
// record counts once.
func EventKey(eventID, shardID, sequenceNumber string) string {
	if eventID != "" {
		return eventID
	}
	return "record:" + shardID + ":" + sequenceNumber
}
