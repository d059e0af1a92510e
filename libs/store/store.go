// Package store defines the pipeline's projections (movies, runs, errors,
// each movie's history) and the operations on them that the services use.
// Implementations live in packages named after their technology: embedded
// (used by tests and devstack) and dynamo (aws-sdk-go-v2). storetest is the
// contract suite both must pass.
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
	// LastEventDigest is a digest of the content of the event that
	// produced m (the processor: of the record's data bytes). Event ids
	// are deterministic, so the same id with another digest is a
	// conflict (see Conflict). Empty means unknown: it never conflicts.
	LastEventDigest string `json:"lastEventDigest,omitempty"`
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
	// Conflict: an event with this id but other content (another digest)
	// was applied or counted before; nothing changed. Event ids are
	// deterministic, so this is a producer bug or a forged record, never a
	// redelivery: the record belongs in errors (StageConflict).
	Conflict
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
	case Conflict:
		return "conflict"
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

// Run triggers: what started a scrape run.
const (
	TriggerAPI      = "api"      // POST /scrape
	TriggerSchedule = "schedule" // the scheduler (EventBridge Scheduler, devstack --schedule)
)

// Run is one scrape run's progress. The scraper creates it, the processor
// fills it from the run's events.
type Run struct {
	ID        string    `json:"id"`
	Source    string    `json:"source"`
	StartedAt time.Time `json:"startedAt"`
	// Trigger is TriggerAPI or TriggerSchedule; empty for runs stored
	// before triggers were recorded.
	Trigger string `json:"trigger,omitempty"`
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
	// StageConflict: an event whose id was seen before with other content
	// (see Conflict and ErrConflict).
	StageConflict Stage = "conflict"
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
	// full size. Items of ListErrors hold only the first PreviewBytes bytes
	// of it; GetError returns all of it.
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
	// Resolved is when a redrive of the record succeeded (ResolveError);
	// zero while the failure is open. Resolved items are kept (listed,
	// marked) until they expire.
	Resolved time.Time `json:"resolved,omitzero"`
}

// MaxPayload caps the raw payload kept in an error item, well inside
// DynamoDB's 400 KB item limit.
const MaxPayload = 300 * 1000

// MaxReason caps the reason kept in an error item, before the ellipsis
// that marks a cut (text.Clip): whoever writes one (the processor, the
// error sink, a redrive) clips it to this.
const MaxReason = 4 << 10

// PreviewBytes is how much of an error item's payload ListErrors returns:
// a listing costs what it shows, not what the items hold. It is more than
// a reader previews (the query service shows 256 bytes) so that the reader
// can tell a character cut at its limit from binary data.
const PreviewBytes = 512

// Preview returns the first PreviewBytes bytes of p (p itself if shorter).
func Preview(p []byte) []byte { return p[:min(len(p), PreviewBytes)] }

// Observation is one observation of a movie in its history: what one
// movie.observed event said about its rank, rating and votes.
type Observation struct {
	MovieID string `json:"movieId"`
	// ObservedAt is the event's time; observations are ordered by
	// (ObservedAt, EventID).
	ObservedAt time.Time `json:"observedAt"`
	EventID    string    `json:"eventId"`
	RunID      string    `json:"runId,omitempty"`
	Rank       int       `json:"rank,omitempty"`
	Rating     float64   `json:"rating"`
	Votes      int       `json:"votes,omitempty"`
}

// SameValues reports whether o and p observed the same rank, rating and
// votes: then the later of the two is no change point.
func (o Observation) SameValues(p Observation) bool {
	return o.Rank == p.Rank && o.Rating == p.Rating && o.Votes == p.Votes
}

// HistoryFilter bounds a history listing. Both bounds are inclusive; a
// zero bound is open.
type HistoryFilter struct {
	Since, Until time.Time
}

// RunFilter selects the runs to list.
type RunFilter struct {
	// Status, when set, lists only the runs whose Status() is Status.
	Status RunStatus
}

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
	// ErrConflict: the event id (or observation) was stored before with
	// other content (another digest). Like Conflict it is a verdict on the
	// data, never worth a retry: such errors also match ErrInvalid.
	ErrConflict = errors.New("conflicting content for an id seen before")
)

// Store is every operation of the projections. Implementations are safe for
// concurrent use. Every method honours ctx's deadline and cancellation.
// Input that a write or a listing refuses for good (see ErrInvalid) is an
// error matching ErrInvalid whose message says what is wrong; a read by a
// key that no item can have (GetMovie, GetRun, GetError, PageState) is
// ErrNotFound. Listings take a limit of 1 or more (above 1000 it is served
// as 1000) and a token from the previous page of the same listing (nil:
// the first page); the last page has a nil Next.
type Store interface {
	// ApplyMovie replaces the projection of m.ID with m if (m.LastEventTime,
	// m.LastEventID) is newer than the stored one, keeping the earlier of
	// the stored FirstSeen and m's. It returns
	//   - Applied: m replaced the projection;
	//   - Duplicate: this event id was applied before (with the same
	//     digest, or either digest unknown); nothing written;
	//   - Stale: a newer event was applied before; only FirstSeen is
	//     written, lowered to m.FirstSeen when that is earlier (the
	//     projection does not depend on the order of delivery);
	//   - Conflict: m.LastEventDigest is set and differs from the digest
	//     stored for the same event id, either on the projection (its
	//     latest event) or on the event's progress marker of run
	//     m.LastRunID (written by CountEvent, kept for
	//     contract.ProgressMarkerTTL); nothing written.
	// A failed condition is an outcome, not an error.
	ApplyMovie(ctx context.Context, m Movie) (Outcome, error)
	// GetMovie returns the movie or ErrNotFound.
	GetMovie(ctx context.Context, id string) (Movie, error)
	// ListMovies returns up to limit movies after token (nil: the first
	// page). Without a year, movies come in a stable order; with a year, in
	// id order. A token from another listing or filter is ErrBadToken.
	ListMovies(ctx context.Context, f MovieFilter, limit int, token PageToken) (Page[Movie], error)

	// RecordObservation adds o to the history of o.MovieID. It is
	// idempotent: recording the same (ObservedAt, EventID) again is a
	// no-op, and recording it with other values (RunID, Rank, Rating,
	// Votes) is an error matching ErrConflict, with nothing written.
	// Observations may come in any order: the history is the same for any
	// permutation of a set of observations, each recorded any number of
	// times. Empty ids, a time outside years 1-9999 or a rating that is
	// not finite are ErrInvalid.
	RecordObservation(ctx context.Context, o Observation) error
	// ListHistory returns the change points of movieID's history, newest
	// first (then greatest EventID first), within f's inclusive bounds: the
	// observations whose rank, rating or votes differ from the
	// observation just before them in (ObservedAt, EventID) order, the
	// first observation included. A movie without history is an empty
	// page, not ErrNotFound. A token of another listing, movie or filter is
	// ErrBadToken; an empty movie id, Since after Until or a bound outside
	// years 1-9999 is ErrInvalid.
	ListHistory(ctx context.Context, movieID string, f HistoryFilter, limit int, token PageToken) (Page[Observation], error)

	// StartRun creates the run if it does not exist. Of an existing run it
	// only fills Source, StartedAt and Trigger where they are still empty
	// (a run that CountEvent created first); the rest is left as it is
	// (idempotent).
	StartRun(ctx context.Context, r Run) error
	// CompleteRun records the final counts of scrape.completed (Published,
	// PublishFailed, Skipped, Pages, Unchanged, FinishedAt, DurationMs,
	// Error) and sets Completed, creating the run if needed; Source,
	// StartedAt and Trigger are filled as StartRun does. Idempotent.
	CompleteRun(ctx context.Context, r Run) error
	// CountEvent adds one to counter c of run runID unless eventID was
	// already counted for that run: the event's progress marker, written
	// in the same transaction, remembers the counter and digest (a digest
	// of the event's content; empty: unknown) for
	// contract.ProgressMarkerTTL. It returns
	//   - true, nil: counted;
	//   - false, nil: already counted (or failed, see FailEvent) with the
	//     same digest, or either digest unknown;
	//   - false, an error matching ErrConflict (and ErrInvalid): already
	//     counted with another digest; nothing written.
	CountEvent(ctx context.Context, runID, eventID string, c Counter, digest string) (bool, error)
	// FailEvent records that event eventID of run runID failed for good: in
	// one transaction it writes the event's progress marker (if absent;
	// counter failed, no digest), adds one to the run's failed counter and
	// stores e. If the marker already exists (the event was processed or
	// failed before), nothing is written and it returns false.
	FailEvent(ctx context.Context, runID, eventID string, e ErrorItem) (bool, error)
	// GetRun returns the run or ErrNotFound.
	GetRun(ctx context.Context, id string) (Run, error)
	// ListRuns returns up to limit runs, newest StartedAt first (then
	// greatest id first), only those whose Status() is f.Status when it is
	// set. A run is listed once it has a start time (StartRun or
	// CompleteRun gave it one): a run that CountEvent created first is not
	// listed until then. With a status filter a page may hold fewer than
	// limit runs, even none, while Next is not nil (the store examines a
	// bounded number of runs per call): follow Next to the end. An unknown
	// status is ErrInvalid; a token of another listing or status is
	// ErrBadToken.
	ListRuns(ctx context.Context, f RunFilter, limit int, token PageToken) (Page[Run], error)

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
	// FirstFailure and takes e's other fields, LastFailure, Attempts,
	// Reason and Resolved included (idempotent for the same e; a redrive
	// that fails again passes its raised Attempts, and a zero Resolved
	// reopens a resolved item).
	PutError(ctx context.Context, e ErrorItem) error
	// GetError returns the error item with its whole payload, or
	// ErrNotFound (also for an expired item).
	GetError(ctx context.Context, id string) (ErrorItem, error)
	// ListErrors returns up to limit error items, newest FirstFailure
	// first (then greatest id first), resolved ones included. Each item's
	// Payload is cut to its first PreviewBytes bytes (PayloadSize keeps
	// the full size): the listing never reads whole payloads. Use GetError
	// for the payload.
	ListErrors(ctx context.Context, limit int, token PageToken) (Page[ErrorItem], error)
	// ResolveError marks error item id resolved at at (a redrive of its
	// record succeeded). In one transaction it sets Resolved and, if the
	// item's record was counted as failed for its run (the progress marker
	// of EventKey(EventID, ShardID, SequenceNumber) under RunID says
	// failed), moves that count from the run's failed counter to its
	// processed counter and records the marker as processed, so a run's
	// counts stay exact however often and in whatever order redrives,
	// resolves and redeliveries happen. It returns
	//   - true, nil: resolved now;
	//   - false, nil: it was resolved before; nothing written;
	//   - an error matching ErrNotFound: no such item (or it expired).
	ResolveError(ctx context.Context, id string, at time.Time) (bool, error)
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
