package archive_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
)

// FuzzRoundTrip: for any record, Encode either refuses it (and Validate
// says why, or the line would be too long) or writes one valid JSON line
// that decodes to the same record, data byte for byte.
func FuzzRoundTrip(f *testing.F) {
	f.Add("shardId-000000000000", "49659012345678901234567890", int64(0), "heat-1995", int64(1795753200123000000), []byte(`{"specversion":"1.0","id":"e1"}`))
	f.Add("s", "0", int64(7), "k\u2028\"\\\n", int64(-62135596800000000), []byte("{\n}"))
	f.Add("s", "1", int64(0), "k", int64(1), []byte(""))
	f.Add("s", "1", int64(0), "k", int64(1), []byte("\xff\xfe"))
	f.Add("s", "1", int64(0), "k", int64(1), []byte(`"\ud800"`))
	f.Add("s", "1", int64(0), "k", int64(1), []byte(` 1`))
	f.Add("s\xff", "1a", int64(-1), "", int64(0), []byte("x"))
	f.Fuzz(func(t *testing.T, shard, seq string, subseq int64, key string, nanos int64, data []byte) {
		rec := archive.Record{ShardID: shard, SequenceNumber: seq, SubsequenceNumber: subseq, PartitionKey: key,
			ArrivalTime: time.Unix(0, nanos), Data: data}
		line, err := archive.Encode(rec)
		if err != nil {
			if !errors.Is(err, archive.ErrInvalidRecord) && !errors.Is(err, archive.ErrLineTooLong) {
				t.Fatalf("Encode error %v is neither ErrInvalidRecord nor ErrLineTooLong", err)
			}
			if errors.Is(err, archive.ErrInvalidRecord) && rec.Validate() == nil {
				t.Fatalf("Encode refused a record Validate accepts: %v", err)
			}
			return
		}
		if rec.Validate() != nil {
			t.Fatalf("Encode accepted a record Validate refuses: %v", rec.Validate())
		}
		if bytes.IndexByte(line, '\n') != len(line)-1 {
			t.Fatalf("line %q is not one line ending in a newline", line)
		}
		if !json.Valid(line) {
			t.Fatalf("line %q is not valid JSON", line)
		}
		if n := archive.LineSize(rec); n != len(line) {
			t.Fatalf("LineSize = %d, len(line) = %d", n, len(line))
		}
		got, err := archive.DecodeLine(line)
		if err != nil {
			t.Fatalf("DecodeLine(Encode(rec)): %v\nline: %q", err, line)
		}
		want := rec
		want.ArrivalTime = rec.ArrivalTime.UTC()
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s\nline: %q", diff, line)
		}
		if got.ArrivalTime.Location() != time.UTC {
			t.Fatalf("decoded time in %v", got.ArrivalTime.Location())
		}
	})
}

// FuzzDecodeLine: any input decodes or gives an ErrInvalidRecord, never a
// panic; what decodes is a valid record, and encoding it decodes to it
// again.
func FuzzDecodeLine(f *testing.F) {
	for _, s := range []string{
		`{"shardId":"s","sequenceNumber":"1","partitionKey":"k","arrivalTime":"2026-01-01T00:00:00Z","data":{"a":[1,2]}}`,
		`{"shardId":"s","sequenceNumber":"1","subsequenceNumber":3,"partitionKey":"k","arrivalTime":"2026-01-01T00:00:00.5+01:00","dataBase64":"AAE="}`,
		`{"shardId":"s","sequenceNumber":"1","partitionKey":"k","arrivalTime":"2026-01-01T00:00:00Z","data":null}`,
		`{"SHARDID":"s","sequenceNumber":"1","partitionKey":"k","arrivalTime":"2026-01-01T00:00:00Z","data": "x" ,"data":1}`,
		`{"data":1,"dataBase64":""}`, `[]`, `null`, ``, "{\"data\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, err := archive.DecodeLine(line)
		if err != nil {
			if !errors.Is(err, archive.ErrInvalidRecord) {
				t.Fatalf("DecodeLine error %v does not wrap ErrInvalidRecord", err)
			}
			return
		}
		if err := rec.Validate(); err != nil {
			t.Fatalf("DecodeLine returned an invalid record: %v", err)
		}
		again, err := archive.Encode(rec)
		if err != nil {
			if errors.Is(err, archive.ErrLineTooLong) {
				return
			}
			t.Fatalf("Encode(decoded record): %v", err)
		}
		back, err := archive.DecodeLine(again)
		if err != nil {
			t.Fatalf("DecodeLine(Encode(decoded)): %v", err)
		}
		if diff := cmp.Diff(rec, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("re-encoded record (-first +again):\n%s", diff)
		}
	})
}

// FuzzDecoder: a Decoder over any stream ends (io.EOF or a stream error)
// without a panic, one record or *LineError per non-blank line.
func FuzzDecoder(f *testing.F) {
	line, _ := archive.Encode(rec(`{"a":1}`))
	f.Add(append(append([]byte{}, line...), line...))
	f.Add([]byte("\n\n  \r\n"))
	f.Add([]byte("not json\n{}\n"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		d := archive.NewDecoder(bytes.NewReader(stream))
		lines := bytes.Count(stream, []byte("\n")) + 1
		for calls := 0; ; calls++ {
			if calls > lines {
				t.Fatalf("%d Decode calls on %d lines: the Decoder does not end", calls, lines)
			}
			_, err := d.Decode()
			if err == io.EOF {
				return
			}
			var le *archive.LineError
			if err != nil && !errors.As(err, &le) {
				t.Fatalf("Decode error %v is not a *LineError", err)
			}
			if errors.Is(err, archive.ErrLineTooLong) {
				return
			}
		}
	})
}

// FuzzScanObject: whatever an object holds (objects come from outside,
// from S3), Scan reads it or fails with an error, never a panic.
func FuzzScanObject(f *testing.F) {
	line, _ := archive.Encode(rec(`{"a":1}`))
	f.Add(line)
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		s := newMemStore()
		if err := s.Put(t.Context(), "events/2026/11/27/04/x.gz", body); err != nil {
			t.Fatal(err)
		}
		_ = archive.Scan(t.Context(), s, archive.ScanOptions{}, func(r archive.Record) error {
			if err := r.Validate(); err != nil {
				t.Fatalf("Scan passed an invalid record: %v", err)
			}
			return nil
		})
	})
}
