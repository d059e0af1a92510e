package archiver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
)

// Firehose processor settings infra gives the delivery stream's Lambda
// processor (BufferSizeInMBs, BufferIntervalInSeconds). At 1 MB, Firehose's
// default, a batch of realistic events comes back as about 2.25 MB and a
// batch of 1 KiB binary records as about 2.4 MB, well within the response
// limit; at 3 MB, the most Firehose allows, events would not fit.
const (
	BufferSizeMB          = 1
	BufferIntervalSeconds = 60
)

// DefaultMaxResponseBytes is the largest response Handle returns: Lambda's
// 6 MB limit on a synchronous response, read as decimal megabytes (the
// smaller reading of "MB"), which also leaves room for what the runtime
// adds.
const DefaultMaxResponseBytes = 6_000_000

// Reasons a record is marked ProcessingFailed, as logged.
const (
	// ReasonNoMetadata: the record has no Kinesis metadata (shard id and
	// sequence number); the delivery stream's source is not a Kinesis
	// stream.
	ReasonNoMetadata = "no_kinesis_metadata"
	// ReasonInvalid: the metadata breaks the line format's rules (see
	// archive.Record.Validate).
	ReasonInvalid = "invalid_record"
	// ReasonLineTooLong: the line would be longer than
	// archive.MaxLineSize (a Kinesis record over 1.5 MiB: large records
	// enabled on the stream).
	ReasonLineTooLong = "line_too_long"
	// ReasonResponseFull: the line does not fit in what is left of the
	// response's size limit.
	ReasonResponseFull = "response_size_limit"
)

// Options configure a Handler.
type Options struct {
	// Logger receives one line per batch and one per failed record;
	// default: discard. In Lambda, lambdacontext.NewLogger(), so that the
	// lines carry the request id.
	Logger *slog.Logger
	// MaxResponseBytes bounds the JSON response; default
	// DefaultMaxResponseBytes.
	MaxResponseBytes int
}

// Handler transforms Firehose batches. It is safe for concurrent use.
type Handler struct {
	log         *slog.Logger
	maxResponse int
}

// New returns a Handler.
func New(o Options) *Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	return &Handler{log: o.Logger, maxResponse: o.MaxResponseBytes}
}

// envelopeSize is the size of an empty response: {"records":[]} and the
// newline Lambda's runtime encoder adds.
var envelopeSize = len(`{"records":[]}`) + 1

// Handle transforms every record of ev into one archive line and returns
// them all, each Ok or ProcessingFailed (see the package doc), in the
// batch's order. It never returns an error: Firehose would retry the whole
// batch for it, and then fail all of it.
func (h *Handler) Handle(ctx context.Context, ev events.KinesisFirehoseEvent) (events.KinesisFirehoseResponse, error) {
	resp := events.KinesisFirehoseResponse{Records: make([]events.KinesisFirehoseResponseRecord, len(ev.Records))}
	lines := make([][]byte, len(ev.Records))
	reasons := make([]string, len(ev.Records))
	errs := make([]error, len(ev.Records))
	okSizes := make([]int, len(ev.Records))

	// Every record is in the response, failed at worst: reserve that much
	// first, then turn records Ok, in order, while their lines fit.
	size := envelopeSize + max(len(ev.Records)-1, 0) // the commas
	for i, r := range ev.Records {
		resp.Records[i] = events.KinesisFirehoseResponseRecord{RecordID: r.RecordID, Result: events.KinesisFirehoseTransformedStateProcessingFailed}
		failed, ok := recordSizes(resp.Records[i])
		size += failed
		lines[i], reasons[i], errs[i] = transform(r)
		if lines[i] != nil {
			okSizes[i] = ok + base64.StdEncoding.EncodedLen(len(lines[i])) - failed
		}
	}
	var bytesIn, bytesOut, failed int
	for i, r := range ev.Records {
		bytesIn += len(r.Data)
		if lines[i] != nil {
			if size+okSizes[i] <= h.maxResponse {
				size += okSizes[i]
				resp.Records[i].Result = events.KinesisFirehoseTransformedStateOk
				resp.Records[i].Data = lines[i]
				bytesOut += len(lines[i])
				continue
			}
			reasons[i] = ReasonResponseFull
			errs[i] = fmt.Errorf("line of %d bytes would take the response past %d bytes", len(lines[i]), h.maxResponse)
		}
		failed++
		meta := r.KinesisFirehoseRecordMetadata
		h.log.WarnContext(ctx, "record not archived: Firehose writes it to the error prefix",
			slog.String("record_id", r.RecordID),
			slog.String("shard_id", meta.ShardID),
			slog.String("sequence_number", meta.SequenceNumber),
			slog.String("partition_key", meta.PartitionKey),
			slog.Int("data_bytes", len(r.Data)),
			slog.String("reason", reasons[i]),
			slog.String("error", errs[i].Error()))
	}
	h.log.InfoContext(ctx, "batch transformed",
		slog.String("invocation_id", ev.InvocationID),
		slog.String("delivery_stream_arn", ev.DeliveryStreamArn),
		slog.String("source_stream_arn", ev.SourceKinesisStreamArn),
		slog.Int("records", len(ev.Records)),
		slog.Int("ok", len(ev.Records)-failed),
		slog.Int("failed", failed),
		slog.Int("bytes_in", bytesIn),
		slog.Int("bytes_out", bytesOut),
		slog.Int("response_bytes", size))
	return resp, nil
}

// recordSizes returns the JSON size of r as ProcessingFailed without data,
// and as Ok without the base64 data's length. json.Marshal escapes more
// than the runtime's encoder (HTML characters), so the sizes are upper
// bounds.
func recordSizes(r events.KinesisFirehoseResponseRecord) (failed, ok int) {
	failed = failedBase + quotedLen(r.RecordID)
	ok = failed - len(events.KinesisFirehoseTransformedStateProcessingFailed) + len(events.KinesisFirehoseTransformedStateOk) - len("null") + len(`""`)
	return failed, ok
}

// failedBase is the size of a ProcessingFailed record without data, less
// its record id's.
var failedBase = func() int {
	b, err := json.Marshal(events.KinesisFirehoseResponseRecord{Result: events.KinesisFirehoseTransformedStateProcessingFailed})
	if err != nil { // a struct of strings and a nil slice: cannot fail
		panic(fmt.Sprintf("archiver: marshal a response record: %v", err))
	}
	return len(b) - len(`""`)
}()

// quotedLen is len(json.Marshal(s)), without allocating for the usual
// record id (digits and letters).
func quotedLen(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return len(b)
		}
	}
	return len(s) + 2
}

// transform returns r's archive line, or nil with the reason and the error.
func transform(r events.KinesisFirehoseEventRecord) ([]byte, string, error) {
	meta := r.KinesisFirehoseRecordMetadata
	if meta.ShardID == "" && meta.SequenceNumber == "" {
		return nil, ReasonNoMetadata, errors.New("the record has no kinesisRecordMetadata")
	}
	arrival := meta.ApproximateArrivalTimestamp.Time
	if arrival.IsZero() {
		// Firehose's own arrival time: later than Kinesis's, but the
		// best the event has.
		arrival = r.ApproximateArrivalTimestamp.Time
	}
	line, err := archive.Encode(archive.Record{
		ShardID:           meta.ShardID,
		SequenceNumber:    meta.SequenceNumber,
		SubsequenceNumber: meta.SubsequenceNumber,
		PartitionKey:      meta.PartitionKey,
		ArrivalTime:       arrival.UTC(),
		Data:              r.Data,
	})
	switch {
	case errors.Is(err, archive.ErrLineTooLong):
		return nil, ReasonLineTooLong, err
	case err != nil:
		return nil, ReasonInvalid, err
	}
	return line, "", nil
}
