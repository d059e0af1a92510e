package errorsink

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

// OnFailure is the invocation record that Lambda sends to the on-failure
// destination of a Kinesis event source mapping when it gives up on a
// batch: metadata only, the records stay on the stream. See "Example
// invocation record" in
// https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html
// (testdata/onfailure-kinesis.json is that example).
//
// It is the one definition of that record in the repository: the error
// sink decodes it (DecodeOnFailure) and devstack's event source mapping
// builds and sends it. It encodes as Lambda writes it, times in UTC with
// three fraction digits ("2019-11-14T00:38:06.021Z"; a time with more
// precision keeps it, so decoding what it encodes gives the same value).
type OnFailure struct {
	RequestContext   RequestContext   `json:"requestContext"`
	ResponseContext  ResponseContext  `json:"responseContext"`
	Version          string           `json:"version"`
	Timestamp        time.Time        `json:"timestamp"`
	KinesisBatchInfo KinesisBatchInfo `json:"KinesisBatchInfo"`
}

// RequestContext tells which function gave up on the batch, and why.
type RequestContext struct {
	RequestID   string `json:"requestId"`
	FunctionARN string `json:"functionArn"`
	// Condition is why the batch was discarded, e.g.
	// "RetryAttemptsExhausted" or "RecordAgeExceeded".
	Condition string `json:"condition"`
	// ApproximateInvokeCount is how often the function was invoked with
	// the batch.
	ApproximateInvokeCount int `json:"approximateInvokeCount"`
}

// ResponseContext is the function's last response; absent when the batch
// expired before an invocation.
type ResponseContext struct {
	StatusCode      int    `json:"statusCode"`
	ExecutedVersion string `json:"executedVersion"`
	FunctionError   string `json:"functionError"`
}

// KinesisBatchInfo locates the discarded records on the stream.
type KinesisBatchInfo struct {
	ShardID string `json:"shardId"`
	// StartSequenceNumber and EndSequenceNumber are the first and last
	// record of the batch, inclusive.
	StartSequenceNumber             string    `json:"startSequenceNumber"`
	EndSequenceNumber               string    `json:"endSequenceNumber"`
	ApproximateArrivalOfFirstRecord time.Time `json:"approximateArrivalOfFirstRecord"`
	ApproximateArrivalOfLastRecord  time.Time `json:"approximateArrivalOfLastRecord"`
	BatchSize                       int       `json:"batchSize"`
	StreamARN                       string    `json:"streamArn"`
}

// MarshalJSON encodes of as Lambda writes it (see OnFailure).
func (of OnFailure) MarshalJSON() ([]byte, error) {
	type plain OnFailure // without this method
	return json.Marshal(struct {
		plain
		Timestamp lambdaTime `json:"timestamp"`
	}{plain(of), lambdaTime(of.Timestamp)})
}

// MarshalJSON encodes b as Lambda writes it (see OnFailure).
func (b KinesisBatchInfo) MarshalJSON() ([]byte, error) {
	type plain KinesisBatchInfo // without this method
	return json.Marshal(struct {
		plain
		First lambdaTime `json:"approximateArrivalOfFirstRecord"`
		Last  lambdaTime `json:"approximateArrivalOfLastRecord"`
	}{plain(b), lambdaTime(b.ApproximateArrivalOfFirstRecord), lambdaTime(b.ApproximateArrivalOfLastRecord)})
}

// lambdaTime is a time as Lambda writes it in invocation records:
// millisecond precision, always three digits. A time with a finer fraction
// keeps it (RFC 3339 with nanoseconds), one with an offset keeps its
// offset, so that nothing is lost.
type lambdaTime time.Time

// lambdaTimeLayout is RFC 3339 with exactly three fraction digits.
const lambdaTimeLayout = "2006-01-02T15:04:05.000Z07:00"

func (t lambdaTime) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if tt.Nanosecond()%int(time.Millisecond) != 0 {
		return tt.MarshalJSON()
	}
	if y := tt.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("time %v: year outside 0..9999", tt)
	}
	return json.Marshal(tt.Format(lambdaTimeLayout))
}

// Limits of the fields DecodeOnFailure accepts.
const (
	maxSeqDigits = 128 // Kinesis sequence numbers are decimal, up to 128 digits
	maxShardID   = 128
	maxARN       = 2048
	maxToken     = 256
	// MaxBatchSize is the largest batch a Kinesis event source mapping
	// reads (its BatchSize maximum).
	MaxBatchSize = 10_000
)

// ErrBadMessage: a message is not a usable Kinesis on-failure record. It is
// permanent: the same body never becomes usable.
var ErrBadMessage = errors.New("bad on-failure message")

// DecodeOnFailure parses and checks one on-failure record. The fields
// needed to find the records (shard id, start and end sequence numbers,
// stream ARN) are required; the others are checked when present. Every
// problem is reported, wrapped in ErrBadMessage. Unknown fields are
// ignored: Lambda may add some.
func DecodeOnFailure(body []byte) (OnFailure, error) {
	var of OnFailure
	if err := json.Unmarshal(body, &of); err != nil {
		return OnFailure{}, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	if err := of.Validate(); err != nil {
		return of, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	return of, nil
}

// Validate reports every problem of of.
func (of OnFailure) Validate() error {
	b := of.KinesisBatchInfo
	var errs []error
	if b == (KinesisBatchInfo{}) {
		return errors.New("no KinesisBatchInfo: not the on-failure record of a Kinesis event source mapping")
	}
	if err := checkToken("KinesisBatchInfo.shardId", b.ShardID, maxShardID, true); err != nil {
		errs = append(errs, err)
	}
	startOK, endOK := true, true
	if err := checkSeq("KinesisBatchInfo.startSequenceNumber", b.StartSequenceNumber); err != nil {
		errs, startOK = append(errs, err), false
	}
	if err := checkSeq("KinesisBatchInfo.endSequenceNumber", b.EndSequenceNumber); err != nil {
		errs, endOK = append(errs, err), false
	}
	if startOK && endOK && stream.CompareSeq(b.StartSequenceNumber, b.EndSequenceNumber) > 0 {
		errs = append(errs, errors.New("KinesisBatchInfo: startSequenceNumber is after endSequenceNumber"))
	}
	switch arn := b.StreamARN; {
	case arn == "":
		errs = append(errs, errors.New("KinesisBatchInfo.streamArn is required"))
	case checkToken("", arn, maxARN, true) != nil || !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":kinesis:"):
		errs = append(errs, fmt.Errorf("KinesisBatchInfo.streamArn %q is not a Kinesis stream ARN", text.Clip(arn, maxQuoted)))
	}
	if b.BatchSize < 0 || b.BatchSize > MaxBatchSize {
		errs = append(errs, fmt.Errorf("KinesisBatchInfo.batchSize %d not in 0..%d", b.BatchSize, MaxBatchSize))
	}
	rc := of.RequestContext
	if rc.ApproximateInvokeCount < 0 {
		errs = append(errs, fmt.Errorf("requestContext.approximateInvokeCount %d is negative", rc.ApproximateInvokeCount))
	}
	for _, f := range []struct{ name, v string }{
		{"requestContext.condition", rc.Condition},
		{"requestContext.requestId", rc.RequestID},
		{"requestContext.functionArn", rc.FunctionARN},
	} {
		if err := checkToken(f.name, f.v, maxToken, false); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func checkSeq(field, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%s is required", field)
	case len(s) > maxSeqDigits || strings.ContainsFunc(s, func(r rune) bool { return r < '0' || r > '9' }):
		return fmt.Errorf("%s %q is not a decimal sequence number of up to %d digits", field, text.Clip(s, maxQuoted), maxSeqDigits)
	}
	return nil
}

// checkToken accepts up to max bytes of printable text without spaces.
func checkToken(field, s string, maxLen int, required bool) error {
	switch {
	case s == "" && required:
		return fmt.Errorf("%s is required", field)
	case len(s) > maxLen:
		return fmt.Errorf("%s is longer than %d bytes", field, maxLen)
	case strings.ContainsFunc(s, func(r rune) bool {
		return r == unicode.ReplacementChar || !unicode.IsPrint(r) || unicode.IsSpace(r)
	}):
		return fmt.Errorf("%s %q contains a space or control character", field, text.Clip(s, maxQuoted))
	}
	return nil
}

// maxQuoted is the most bytes of a value from outside that an error message
// quotes (text.Clip): enough to recognise it, never a whole hostile input.
const maxQuoted = 64
