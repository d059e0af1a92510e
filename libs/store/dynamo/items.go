package dynamo

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/internal/layout"
)

// Attribute names beyond the key attributes of libs/contract.
const (
	attrLastEventTime = "lastEventTime"
	attrLastEventID   = "lastEventId"
	attrFirstSeen     = "firstSeen"
	attrHolder        = "holder"
	attrUntil         = "until"
	attrFirstFailure  = "firstFailure"
	attrLastDigest    = "lastEventDigest"
	attrDigest        = "digest"
	attrCounter       = "counter"
	attrResolved      = "resolved"
	attrStartedAt     = "startedAt"
	attrTrigger       = "trigger"
	attrChanged       = "changed"
	attrVersion       = "version"
)

// formatTime is a stored time: the fixed-width UTC string (so that string
// order is time order), empty for the zero time (the attribute is then
// left out).
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return layout.FormatTime(t)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return layout.ParseTime(s)
}

type movieItem struct {
	ID             string   `dynamodbav:"id"`
	Title          string   `dynamodbav:"title,omitempty"`
	Year           int      `dynamodbav:"year,omitempty"` // absent for 0: not in byYear
	Rank           int      `dynamodbav:"rank,omitempty"`
	Rating         float64  `dynamodbav:"rating,omitempty"`
	Votes          int      `dynamodbav:"votes,omitempty"`
	Director       string   `dynamodbav:"director,omitempty"`
	Genres         []string `dynamodbav:"genres,omitempty"`
	RuntimeMinutes int      `dynamodbav:"runtimeMinutes,omitempty"`
	DetailURL      string   `dynamodbav:"detailUrl,omitempty"`
	Source         string   `dynamodbav:"source,omitempty"`
	FirstSeen      string   `dynamodbav:"firstSeen,omitempty"`
	LastSeen       string   `dynamodbav:"lastSeen,omitempty"`
	LastRunID      string   `dynamodbav:"lastRunId,omitempty"`
	LastEventID    string   `dynamodbav:"lastEventId"`
	// LastEventTime is always present, even for the zero time, so that the
	// ordering condition can compare it.
	LastEventTime   string `dynamodbav:"lastEventTime"`
	LastEventDigest string `dynamodbav:"lastEventDigest,omitempty"`
}

// movieAttrs are the attributes of a movie item that an update SETs or
// REMOVEs (all but the key and firstSeen).
var movieAttrs = []string{"title", "year", "rank", "rating", "votes", "director", "genres", "runtimeMinutes",
	"detailUrl", "source", "lastSeen", "lastRunId", attrLastEventID, attrLastEventTime, attrLastDigest}

func toMovieItem(m store.Movie) movieItem {
	return movieItem{
		ID: m.ID, Title: m.Title, Year: m.Year, Rank: m.Rank, Rating: m.Rating, Votes: m.Votes,
		Director: m.Director, Genres: m.Genres, RuntimeMinutes: m.RuntimeMinutes, DetailURL: m.DetailURL,
		Source: m.Source, FirstSeen: formatTime(m.FirstSeen), LastSeen: formatTime(m.LastSeen),
		LastRunID: m.LastRunID, LastEventID: m.LastEventID, LastEventTime: layout.FormatTime(m.LastEventTime),
		LastEventDigest: m.LastEventDigest,
	}
}

func decodeMovie(av map[string]types.AttributeValue) (store.Movie, error) {
	var it movieItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return store.Movie{}, fmt.Errorf("decode movie item: %w", err)
	}
	m := store.Movie{
		ID: it.ID, Title: it.Title, Year: it.Year, Rank: it.Rank, Rating: it.Rating, Votes: it.Votes,
		Director: it.Director, Genres: it.Genres, RuntimeMinutes: it.RuntimeMinutes, DetailURL: it.DetailURL,
		Source: it.Source, LastRunID: it.LastRunID, LastEventID: it.LastEventID, LastEventDigest: it.LastEventDigest,
	}
	var err1, err2, err3 error
	m.FirstSeen, err1 = parseTime(it.FirstSeen)
	m.LastSeen, err2 = parseTime(it.LastSeen)
	m.LastEventTime, err3 = parseTime(it.LastEventTime)
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			return store.Movie{}, fmt.Errorf("decode movie item %q: %w", it.ID, err)
		}
	}
	return m, nil
}

// replaceUpdate returns an update that SETs every attribute of attrs that
// item has and REMOVEs the others, so that the stored item ends up with
// exactly item's values for attrs.
func replaceUpdate(item map[string]types.AttributeValue, attrs []string) expression.UpdateBuilder {
	var u expression.UpdateBuilder
	for _, a := range attrs {
		if v, ok := item[a]; ok {
			u = u.Set(expression.Name(a), expression.Value(v))
		} else {
			u = u.Remove(expression.Name(a))
		}
	}
	return u
}

type runItem struct {
	PK            string `dynamodbav:"pk"`
	ID            string `dynamodbav:"id,omitempty"`
	Source        string `dynamodbav:"source,omitempty"`
	StartedAt     string `dynamodbav:"startedAt,omitempty"`
	Trigger       string `dynamodbav:"trigger,omitempty"`
	FinishedAt    string `dynamodbav:"finishedAt,omitempty"`
	Completed     bool   `dynamodbav:"completed,omitempty"`
	Published     int    `dynamodbav:"published,omitempty"`
	PublishFailed int    `dynamodbav:"publishFailed,omitempty"`
	Skipped       int    `dynamodbav:"skipped,omitempty"`
	Pages         int    `dynamodbav:"pages,omitempty"`
	Unchanged     bool   `dynamodbav:"unchanged,omitempty"`
	DurationMs    int64  `dynamodbav:"durationMs,omitempty"`
	Error         string `dynamodbav:"error,omitempty"`
	Processed     int    `dynamodbav:"processed,omitempty"`
	Failed        int    `dynamodbav:"failed,omitempty"`
}

// runFinalAttrs are what CompleteRun sets.
var runFinalAttrs = []string{"finishedAt", "completed", "published", "publishFailed", "skipped", "pages",
	"unchanged", "durationMs", "error"}

func decodeRun(av map[string]types.AttributeValue) (store.Run, error) {
	var it runItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return store.Run{}, fmt.Errorf("decode run item: %w", err)
	}
	r := store.Run{
		ID: it.ID, Source: it.Source, Trigger: it.Trigger, Completed: it.Completed, Published: it.Published,
		PublishFailed: it.PublishFailed, Skipped: it.Skipped, Pages: it.Pages, Unchanged: it.Unchanged,
		DurationMs: it.DurationMs, Error: it.Error, Processed: it.Processed, Failed: it.Failed,
	}
	if r.ID == "" {
		r.ID = strings.TrimPrefix(it.PK, layout.RunPrefix)
	}
	var err1, err2 error
	r.StartedAt, err1 = parseTime(it.StartedAt)
	r.FinishedAt, err2 = parseTime(it.FinishedAt)
	if err1 != nil || err2 != nil {
		return store.Run{}, fmt.Errorf("decode run item %q: %w", r.ID, firstErr(err1, err2))
	}
	return r, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

type leaseItem struct {
	PK     string `dynamodbav:"pk"`
	Holder string `dynamodbav:"holder"`
	// Until is the lease's end in Unix nanoseconds; ExpiresAt the same,
	// rounded up to epoch seconds, for TTL.
	Until     int64 `dynamodbav:"until"`
	ExpiresAt int64 `dynamodbav:"expiresAt"`
}

// markerItem is a per-event progress marker: the counter it counted and
// the digest of the event's content (absent: unknown).
type markerItem struct {
	PK        string `dynamodbav:"pk"`
	Counter   string `dynamodbav:"counter"`
	Digest    string `dynamodbav:"digest,omitempty"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
}

type pageItem struct {
	PK           string `dynamodbav:"pk"`
	URL          string `dynamodbav:"url"`
	ETag         string `dynamodbav:"etag,omitempty"`
	LastModified string `dynamodbav:"lastModified,omitempty"`
	FetchedAt    string `dynamodbav:"fetchedAt,omitempty"`
}

type errorItem struct {
	ID             string `dynamodbav:"id"`
	ListPK         string `dynamodbav:"listPk"`
	ListSK         string `dynamodbav:"listSk"`
	Stage          string `dynamodbav:"stage,omitempty"`
	Reason         string `dynamodbav:"reason,omitempty"`
	EventID        string `dynamodbav:"eventId,omitempty"`
	RunID          string `dynamodbav:"runId,omitempty"`
	Payload        []byte `dynamodbav:"payload,omitempty"`
	Preview        []byte `dynamodbav:"preview,omitempty"` // the payload's first store.PreviewBytes: what byTime projects
	PayloadSize    int    `dynamodbav:"payloadSize,omitempty"`
	ShardID        string `dynamodbav:"shardId,omitempty"`
	SequenceNumber string `dynamodbav:"sequenceNumber,omitempty"`
	PartitionKey   string `dynamodbav:"partitionKey,omitempty"`
	StreamARN      string `dynamodbav:"streamArn,omitempty"`
	Condition      string `dynamodbav:"condition,omitempty"`
	Attempts       int    `dynamodbav:"attempts,omitempty"`
	FirstFailure   string `dynamodbav:"firstFailure,omitempty"`
	LastFailure    string `dynamodbav:"lastFailure,omitempty"`
	ExpiresAt      int64  `dynamodbav:"expiresAt"`
	Resolved       string `dynamodbav:"resolved,omitempty"`
}

// errorAttrs are the attributes of an error item that PutError SETs or
// REMOVEs on an existing item (all but the key, firstFailure and listSk,
// which the first failure decides).
var errorAttrs = []string{contract.AttrListPK, "stage", "reason", "eventId", "runId", "payload", "preview",
	"payloadSize", "shardId", "sequenceNumber", "partitionKey", "streamArn", "condition", "attempts", "lastFailure",
	contract.AttrExpiresAt, attrResolved}

func toErrorItem(e store.ErrorItem) errorItem {
	return errorItem{
		ID: e.ID, ListPK: layout.ErrorsListPK, ListSK: layout.ErrorsListSK(e.FirstFailure, e.ID),
		Stage: string(e.Stage), Reason: e.Reason, EventID: e.EventID, RunID: e.RunID, Payload: e.Payload,
		Preview: store.Preview(e.Payload), PayloadSize: e.PayloadSize, ShardID: e.ShardID, SequenceNumber: e.SequenceNumber,
		PartitionKey: e.PartitionKey, StreamARN: e.StreamARN, Condition: e.Condition, Attempts: e.Attempts,
		FirstFailure: layout.FormatTime(e.FirstFailure), LastFailure: layout.FormatTime(e.LastFailure),
		ExpiresAt: e.ExpiresAt.Unix(), Resolved: formatTime(e.Resolved),
	}
}

// decodeError decodes a whole error item.
func decodeError(av map[string]types.AttributeValue) (store.ErrorItem, error) {
	return decodeErrorAs(av, func(it *errorItem) []byte { return it.Payload })
}

// decodeErrorListing decodes an item of the byTime GSI, which projects
// the preview instead of the payload (contract.ErrorsListingAttributes).
// An item stored before the preview existed lists without one.
func decodeErrorListing(av map[string]types.AttributeValue) (store.ErrorItem, error) {
	return decodeErrorAs(av, func(it *errorItem) []byte { return it.Preview })
}

func decodeErrorAs(av map[string]types.AttributeValue, payload func(*errorItem) []byte) (store.ErrorItem, error) {
	var it errorItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return store.ErrorItem{}, fmt.Errorf("decode error item: %w", err)
	}
	e := store.ErrorItem{
		ID: it.ID, Stage: store.Stage(it.Stage), Reason: it.Reason, EventID: it.EventID, RunID: it.RunID,
		Payload: slices.Clip(payload(&it)), PayloadSize: it.PayloadSize, ShardID: it.ShardID,
		SequenceNumber: it.SequenceNumber, PartitionKey: it.PartitionKey, StreamARN: it.StreamARN,
		Condition: it.Condition, Attempts: it.Attempts,
	}
	if it.ExpiresAt != 0 {
		e.ExpiresAt = time.Unix(it.ExpiresAt, 0).UTC()
	}
	var err1, err2, err3 error
	e.FirstFailure, err1 = parseTime(it.FirstFailure)
	e.LastFailure, err2 = parseTime(it.LastFailure)
	e.Resolved, err3 = parseTime(it.Resolved)
	if err := firstErr(err1, err2, err3); err != nil {
		return store.ErrorItem{}, fmt.Errorf("decode error item %q: %w", it.ID, err)
	}
	return e, nil
}

// observationItem is a history item: an observation ("O#<pos>", with its
// changed flag) or a change point ("C#<pos>", without it). The position
// (time, event id) is in the sort key.
type observationItem struct {
	PK      string  `dynamodbav:"pk"`
	SK      string  `dynamodbav:"sk"`
	RunID   string  `dynamodbav:"runId,omitempty"`
	Rank    int     `dynamodbav:"rank"`
	Rating  float64 `dynamodbav:"rating"`
	Votes   int     `dynamodbav:"votes"`
	Changed bool    `dynamodbav:"changed,omitempty"`
}

func (it observationItem) sameValues(o observationItem) bool {
	return it.Rank == o.Rank && it.Rating == o.Rating && it.Votes == o.Votes
}

// observationOf decodes a history item whose sort key starts with prefix.
func observationOf(av map[string]types.AttributeValue, prefix string) (store.Observation, observationItem, error) {
	var it observationItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return store.Observation{}, it, fmt.Errorf("decode history item: %w", err)
	}
	pos, ok := strings.CutPrefix(it.SK, prefix)
	t, eventID, ok2 := layout.ParseHistoryPos(pos)
	if !ok || !ok2 {
		return store.Observation{}, it, fmt.Errorf("decode history item: bad sort key %q", it.SK)
	}
	return store.Observation{MovieID: it.PK, ObservedAt: t, EventID: eventID, RunID: it.RunID, Rank: it.Rank,
		Rating: it.Rating, Votes: it.Votes}, it, nil
}

// stringAttr returns the string attribute name of av.
func stringAttr(av map[string]types.AttributeValue, name string) string {
	if s, ok := av[name].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// numberAttr returns the integer number attribute name of av (0 if absent).
func numberAttr(av map[string]types.AttributeValue, name string) int64 {
	if n, ok := av[name].(*types.AttributeValueMemberN); ok {
		v, err := strconv.ParseInt(n.Value, 10, 64)
		if err == nil {
			return v
		}
	}
	return 0
}

func key(name, value string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{name: &types.AttributeValueMemberS{Value: value}}
}

// updateInput is the UpdateItem of item k of table by e: e's update, its
// condition if it has one, and their names and values.
func updateInput(table string, k map[string]types.AttributeValue, e expression.Expression) *dynamodb.UpdateItemInput {
	return &dynamodb.UpdateItemInput{
		TableName:                 aws.String(table),
		Key:                       k,
		UpdateExpression:          e.Update(),
		ConditionExpression:       e.Condition(),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
	}
}

// txUpdate is updateInput as one update of a transaction.
func txUpdate(table string, k map[string]types.AttributeValue, e expression.Expression) types.TransactWriteItem {
	in := updateInput(table, k, e)
	return types.TransactWriteItem{Update: &types.Update{
		TableName: in.TableName, Key: in.Key, UpdateExpression: in.UpdateExpression,
		ConditionExpression: in.ConditionExpression, ExpressionAttributeNames: in.ExpressionAttributeNames,
		ExpressionAttributeValues: in.ExpressionAttributeValues,
	}}
}
