package archive

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

// Record is one Kinesis record as the archive keeps it: its place in the
// stream, its partition key, when the stream accepted it, and its data byte
// for byte. (ShardID, SequenceNumber, SubsequenceNumber) identifies it.
type Record struct {
	// ShardID is the shard the record was on, e.g. "shardId-000000000001".
	ShardID string
	// SequenceNumber is its sequence number in the shard: decimal digits,
	// as Kinesis issues them (up to 128).
	SequenceNumber string
	// SubsequenceNumber is non-zero only for a user record that Firehose
	// de-aggregated from a KPL aggregated record (all of them share one
	// sequence number). The pipeline's producers do not aggregate.
	SubsequenceNumber int64
	// PartitionKey is the record's partition key (the movie id for events).
	PartitionKey string
	// ArrivalTime is when the stream accepted the record (Kinesis's
	// ApproximateArrivalTimestamp). It is kept in UTC.
	ArrivalTime time.Time
	// Data is the record's payload, whatever it is: an event, or a poison
	// record that no decoder accepts.
	Data []byte
}

// Limits of a record's metadata.
const (
	// MaxSequenceDigits is the most digits of a sequence number.
	MaxSequenceDigits = 128
	// MaxMetadataLen is the most bytes of a shard id or partition key the
	// line format accepts: Kinesis's are at most 128 and 256 characters
	// (up to 4 bytes each).
	MaxMetadataLen = 1024
)

// ErrInvalidRecord: a record (to encode) or a line (decoded) breaks the
// line format's rules. Errors wrap it with what is wrong.
var ErrInvalidRecord = errors.New("invalid archive record")

// Validate reports, all at once, what makes rec unfit for the archive: an
// empty or over-long shard id or partition key, a sequence number that is
// not 1 to 128 decimal digits, a negative subsequence number, a zero arrival
// time or one outside the years 0000 to 9999 (RFC 3339's range), or metadata
// that is not valid UTF-8 (JSON cannot carry it losslessly). The errors wrap
// ErrInvalidRecord. Data may be anything, empty included.
func (rec Record) Validate() error {
	if rec.valid() {
		return nil
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidRecord}, args...)...))
	}
	checkText := func(field, s string) {
		switch {
		case s == "":
			bad("%s is empty", field)
		case len(s) > MaxMetadataLen:
			bad("%s is %d bytes long, more than %d", field, len(s), MaxMetadataLen)
		case !utf8.ValidString(s):
			bad("%s is not valid UTF-8", field)
		}
	}
	checkText("shardId", rec.ShardID)
	checkText("partitionKey", rec.PartitionKey)
	if !validSequence(rec.SequenceNumber) {
		bad("sequenceNumber %q is not 1 to %d decimal digits", text.Clip(rec.SequenceNumber, maxQuoted), MaxSequenceDigits)
	}
	if rec.SubsequenceNumber < 0 {
		bad("subsequenceNumber %d is negative", rec.SubsequenceNumber)
	}
	switch y := rec.ArrivalTime.UTC().Year(); {
	case rec.ArrivalTime.IsZero():
		bad("arrivalTime is zero")
	case y < 0 || y > 9999:
		bad("arrivalTime year %d is outside 0000-9999", y)
	}
	return errors.Join(errs...)
}

// valid is Validate's verdict without the explanation, and without
// allocating: replay validates every record.
func (rec Record) valid() bool {
	text := func(s string) bool { return s != "" && len(s) <= MaxMetadataLen && utf8.ValidString(s) }
	y := rec.ArrivalTime.UTC().Year()
	return text(rec.ShardID) && text(rec.PartitionKey) && validSequence(rec.SequenceNumber) &&
		rec.SubsequenceNumber >= 0 && !rec.ArrivalTime.IsZero() && y >= 0 && y <= 9999
}

func validSequence(s string) bool {
	if s == "" || len(s) > MaxSequenceDigits {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// compareSeq compares two valid sequence numbers numerically.
func compareSeq(a, b string) int {
	a, b = trimZeros(a), trimZeros(b)
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}

// maxQuoted is the most bytes of a value from outside that an error message
// quotes (text.Clip): enough to recognise it, never a whole hostile input.
const maxQuoted = 64
