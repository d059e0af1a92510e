package archiver_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/services/archiver"
)

// FuzzTransform: whatever a record holds, it comes back as exactly one
// line that decodes to its data and metadata, or ProcessingFailed because
// its metadata is not a Kinesis record's — never lost, never two lines.
func FuzzTransform(f *testing.F) {
	f.Add([]byte(`{"specversion":"1.0"}`), "shardId-000000000000", "49601189658422359378836298521827638475320189012309704722", "heat-1995", int64(1795753200500))
	f.Add([]byte("{\n}\n"), "s", "1", "k\u2028\"", int64(0))
	f.Add([]byte("\x00\xff"), "", "", "", int64(-1))
	f.Add([]byte(""), "s", "007", "é", int64(253402300799999))
	f.Fuzz(func(t *testing.T, data []byte, shard, seq, key string, ms int64) {
		r := firehoseRecord(0, data)
		r.KinesisFirehoseRecordMetadata = events.KinesisFirehoseRecordMetadata{ShardID: shard, SequenceNumber: seq, PartitionKey: key,
			ApproximateArrivalTimestamp: events.MilliSecondsEpochTime{Time: time.UnixMilli(ms)}}
		other := firehoseRecord(1, []byte(`{"next":true}`))
		resp := invoke(t, archiver.New(archiver.Options{}), batch(r, other))
		if resp.Records[1].Result != events.KinesisFirehoseTransformedStateOk {
			t.Fatalf("the next record was not archived: %s", resp.Records[1].Result)
		}
		got := resp.Records[0]
		rec := want(r)
		if rec.ArrivalTime.IsZero() {
			rec.ArrivalTime = r.ApproximateArrivalTimestamp.UTC()
		}
		if got.Result != events.KinesisFirehoseTransformedStateOk {
			if _, err := archive.Encode(rec); err == nil && (shard != "" || seq != "") {
				t.Fatalf("%s for a record the line format accepts", got.Result)
			} else if err != nil && !errors.Is(err, archive.ErrInvalidRecord) && !errors.Is(err, archive.ErrLineTooLong) {
				t.Fatalf("unexpected encoding error: %v", err)
			}
			return
		}
		if bytes.Count(got.Data, []byte("\n")) != 1 || got.Data[len(got.Data)-1] != '\n' {
			t.Fatalf("data %q is not exactly one line", got.Data)
		}
		back, err := archive.DecodeLine(got.Data)
		if err != nil {
			t.Fatalf("line does not decode: %v", err)
		}
		if diff := cmp.Diff(rec, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("line (-record +decoded):\n%s", diff)
		}
	})
}
