package archive_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
)

var arrival = time.Date(2026, 11, 27, 4, 20, 0, 123_000_000, time.UTC)

func rec(data string) archive.Record {
	return archive.Record{
		ShardID:        "shardId-000000000001",
		SequenceNumber: "49659012345678901234567890123456789012345678901234567890",
		PartitionKey:   "heat-1995",
		ArrivalTime:    arrival,
		Data:           []byte(data),
	}
}

const meta = `{"shardId":"shardId-000000000001","sequenceNumber":"49659012345678901234567890123456789012345678901234567890","partitionKey":"heat-1995","arrivalTime":"2026-11-27T04:20:00.123Z",`

func TestEncode(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		rec  archive.Record
		want string
	}{
		{"compact JSON is embedded", rec(`{"id":"e1","data":{"title":"Heat"}}`),
			meta + `"data":{"id":"e1","data":{"title":"Heat"}}}` + "\n"},
		{"JSON with inner spaces is embedded as it is", rec(`{"a": [1, 2],	"b":"é"}`),
			meta + `"data":{"a": [1, 2],	"b":"é"}}` + "\n"},
		{"JSON scalar", rec(`42`), meta + `"data":42}` + "\n"},
		{"JSON null", rec(`null`), meta + `"data":null}` + "\n"},
		{"pretty JSON is base64", rec("{\n  \"a\": 1\n}"), meta + `"dataBase64":"ewogICJhIjogMQp9"}` + "\n"},
		{"carriage return is base64", rec("{\"a\":\r1}"), meta + `"dataBase64":"eyJhIjoNMX0="}` + "\n"},
		{"leading space is base64", rec(` {"a":1}`), meta + `"dataBase64":"IHsiYSI6MX0="}` + "\n"},
		{"trailing space is base64", rec(`{"a":1} `), meta + `"dataBase64":"eyJhIjoxfSA="}` + "\n"},
		{"invalid JSON is base64", rec(`{"a":`), meta + `"dataBase64":"eyJhIjo="}` + "\n"},
		{"two JSON values are base64", rec(`{} {}`), meta + `"dataBase64":"e30ge30="}` + "\n"},
		{"invalid UTF-8 in a JSON string is base64", rec("\"\xff\""), meta + `"dataBase64":"Iv8i"}` + "\n"},
		{"binary is base64", rec("\x00\x01\xfe\xff"), meta + `"dataBase64":"AAH+/w=="}` + "\n"},
		{"empty data is base64", rec(""), meta + `"dataBase64":""}` + "\n"},
		{"subsequence number when set", func() archive.Record {
			r := rec(`1`)
			r.SubsequenceNumber = 7
			return r
		}(), `{"shardId":"shardId-000000000001","sequenceNumber":"49659012345678901234567890123456789012345678901234567890","subsequenceNumber":7,"partitionKey":"heat-1995","arrivalTime":"2026-11-27T04:20:00.123Z","data":1}` + "\n"},
		{"metadata escaped", archive.Record{ShardID: `s"\`, SequenceNumber: "0", PartitionKey: "a\tb\nc\x01\u2028é<>&",
			ArrivalTime: time.Date(2026, 1, 2, 4, 5, 6, 7, paris), Data: []byte(`1`)},
			`{"shardId":"s\"\\","sequenceNumber":"0","partitionKey":"a\tb\nc\u0001\u2028é<>&","arrivalTime":"2026-01-02T03:05:06.000000007Z","data":1}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := archive.Encode(tt.rec)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("line (-want +got):\n%s", diff)
			}
			if !json.Valid(got) {
				t.Errorf("line is not valid JSON")
			}
			if n := archive.LineSize(tt.rec); n != len(got) {
				t.Errorf("LineSize = %d, len(line) = %d", n, len(got))
			}
			back, err := archive.DecodeLine(got)
			if err != nil {
				t.Fatalf("DecodeLine: %v", err)
			}
			want := tt.rec
			want.ArrivalTime = want.ArrivalTime.UTC()
			if diff := cmp.Diff(want, back, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
			if back.ArrivalTime.Location() != time.UTC {
				t.Errorf("decoded arrival time in %v, want UTC", back.ArrivalTime.Location())
			}
		})
	}
}

func TestAppendLineKeepsDst(t *testing.T) {
	dst := []byte("prefix\n")
	got, err := archive.AppendLine(dst, rec(`1`))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(got, []byte("prefix\n"+meta)) {
		t.Errorf("AppendLine = %q, want it after the prefix", got)
	}
	bad := rec(`1`)
	bad.ShardID = ""
	got, err = archive.AppendLine(dst, bad)
	if err == nil || string(got) != "prefix\n" {
		t.Errorf("AppendLine(invalid) = %q, %v; want dst unchanged and an error", got, err)
	}
}

func TestEncodeRefuses(t *testing.T) {
	mod := func(f func(*archive.Record)) archive.Record {
		r := rec(`1`)
		f(&r)
		return r
	}
	tests := []struct {
		name string
		rec  archive.Record
		want error
		msgs []string
	}{
		{"nothing set", archive.Record{}, archive.ErrInvalidRecord,
			[]string{"shardId is empty", "partitionKey is empty", `sequenceNumber "" is not`, "arrivalTime is zero"}},
		{"sequence number not digits", mod(func(r *archive.Record) { r.SequenceNumber = "12a" }), archive.ErrInvalidRecord,
			[]string{`sequenceNumber "12a" is not 1 to 128 decimal digits`}},
		{"sequence number too long", mod(func(r *archive.Record) { r.SequenceNumber = strings.Repeat("9", 129) }), archive.ErrInvalidRecord,
			[]string{"is not 1 to 128 decimal digits"}},
		{"invalid UTF-8 key", mod(func(r *archive.Record) { r.PartitionKey = "a\xffb" }), archive.ErrInvalidRecord,
			[]string{"partitionKey is not valid UTF-8"}},
		{"key too long", mod(func(r *archive.Record) { r.PartitionKey = strings.Repeat("k", 1025) }), archive.ErrInvalidRecord,
			[]string{"partitionKey is 1025 bytes long, more than 1024"}},
		{"negative subsequence", mod(func(r *archive.Record) { r.SubsequenceNumber = -1 }), archive.ErrInvalidRecord,
			[]string{"subsequenceNumber -1 is negative"}},
		{"year 10000", mod(func(r *archive.Record) { r.ArrivalTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }), archive.ErrInvalidRecord,
			[]string{"arrivalTime year 10000 is outside 0000-9999"}},
		{"line too long", mod(func(r *archive.Record) { r.Data = bytes.Repeat([]byte{0xff}, archive.MaxLineSize) }), archive.ErrLineTooLong,
			[]string{"archive line too long: 2796399 bytes, more than 2097152"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := archive.Encode(tt.rec)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Encode error = %v, want %v", err, tt.want)
			}
			for _, m := range tt.msgs {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
		})
	}
}

func TestLargestKinesisRecordFits(t *testing.T) {
	r := rec("")
	r.Data = bytes.Repeat([]byte{0xff}, 1<<20) // 1 MiB, not JSON: base64
	r.PartitionKey = strings.Repeat("\u2028", 256)
	line, err := archive.Encode(r)
	if err != nil {
		t.Fatalf("Encode(1 MiB record): %v", err)
	}
	back, err := archive.NewDecoder(bytes.NewReader(line)).Decode()
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !bytes.Equal(back.Data, r.Data) || back.PartitionKey != r.PartitionKey {
		t.Errorf("1 MiB record did not round-trip")
	}
}

func TestDecodeLineErrors(t *testing.T) {
	tests := []struct {
		name, line string
		msgs       []string
	}{
		{"not JSON", `hello`, []string{"invalid character 'h'"}},
		{"not an object", `[1]`, []string{"cannot unmarshal array"}},
		{"no data", `{"shardId":"s","sequenceNumber":"1","partitionKey":"k","arrivalTime":"2026-01-01T00:00:00Z"}`,
			[]string{"neither data nor dataBase64"}},
		{"both data fields", `{"shardId":"s","sequenceNumber":"1","partitionKey":"k","arrivalTime":"2026-01-01T00:00:00Z","data":1,"dataBase64":"MQ=="}`,
			[]string{"both data and dataBase64"}},
		{"bad base64", `{"shardId":"s","sequenceNumber":"1","partitionKey":"k","arrivalTime":"2026-01-01T00:00:00Z","dataBase64":"M"}`,
			[]string{"dataBase64: illegal base64 data"}},
		{"base64 without padding", `{"shardId":"s","sequenceNumber":"1","partitionKey":"k","arrivalTime":"2026-01-01T00:00:00Z","dataBase64":"MQ"}`,
			[]string{"dataBase64: illegal base64 data"}},
		{"bad time", `{"shardId":"s","sequenceNumber":"1","partitionKey":"k","arrivalTime":"yesterday","data":1}`,
			[]string{`arrivalTime "yesterday" is not RFC 3339`}},
		{"missing metadata, all reported", `{"data":1}`,
			[]string{"shardId is empty", "partitionKey is empty", "sequenceNumber", "arrivalTime is zero"}},
		{"bad time and missing key", `{"shardId":"s","sequenceNumber":"1","arrivalTime":"x","data":1}`,
			[]string{`arrivalTime "x" is not RFC 3339`, "partitionKey is empty"}},
		{"wrong type", `{"shardId":1,"sequenceNumber":"1","partitionKey":"k","arrivalTime":"2026-01-01T00:00:00Z","data":1}`,
			[]string{"cannot unmarshal number"}},
		{"data not JSON", `{"shardId":"s","sequenceNumber":"1","partitionKey":"k","arrivalTime":"2026-01-01T00:00:00Z","data":nope}`,
			[]string{"invalid character"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := archive.DecodeLine([]byte(tt.line))
			if !errors.Is(err, archive.ErrInvalidRecord) {
				t.Fatalf("DecodeLine error = %v, want ErrInvalidRecord", err)
			}
			for _, m := range tt.msgs {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
			if strings.Contains(tt.name, "bad time") && strings.Contains(err.Error(), "arrivalTime is zero") {
				t.Errorf("error %q also calls the bad time zero", err)
			}
		})
	}
}

func TestDecodeLineAcceptsOtherForms(t *testing.T) {
	tests := []struct {
		name, line string
		want       archive.Record
	}{
		{"unknown fields are ignored, any offset is UTC",
			`{"v":2,"shardId":"s","sequenceNumber":"007","partitionKey":"k","arrivalTime":"2026-01-01T01:00:00+01:00","stream":"x","data":{"a" : 1}}`,
			archive.Record{ShardID: "s", SequenceNumber: "007", PartitionKey: "k", ArrivalTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Data: []byte(`{"a" : 1}`)}},
		{"space around the value and the line",
			"  {\"shardId\":\"s\" , \"sequenceNumber\":\"1\",\"partitionKey\":\"k\",\"arrivalTime\":\"2026-01-01T00:00:00Z\",\"data\":  [1]  }  \r\n",
			archive.Record{ShardID: "s", SequenceNumber: "1", PartitionKey: "k", ArrivalTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Data: []byte(`[1]`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := archive.DecodeLine([]byte(tt.line))
			if err != nil {
				t.Fatalf("DecodeLine: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecoder(t *testing.T) {
	a, b, c := rec(`{"n":1}`), rec("\x00binary"), rec(`3`)
	b.SequenceNumber, c.SequenceNumber = "2", "3"
	line := func(r archive.Record) string {
		l, err := archive.Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(l)
	}
	input := line(a) + "\n  \n" + "not json\n" + strings.TrimSuffix(line(b), "\n") + "\r\n" + strings.TrimSuffix(line(c), "\n")
	d := archive.NewDecoder(strings.NewReader(input))

	type result struct {
		Rec  archive.Record
		Line int
		Err  string
	}
	var got []result
	for {
		r, err := d.Decode()
		if err == io.EOF {
			break
		}
		res := result{Rec: r, Line: d.Line()}
		if err != nil {
			var le *archive.LineError
			if !errors.As(err, &le) || le.Line != d.Line() || !errors.Is(err, archive.ErrInvalidRecord) {
				t.Errorf("error %v is not a *LineError of line %d wrapping ErrInvalidRecord", err, d.Line())
			}
			res.Err = err.Error()
		}
		got = append(got, res)
		if len(got) > 10 {
			t.Fatal("Decoder does not end")
		}
	}
	want := []result{
		{Rec: a, Line: 1},
		{Line: 4, Err: "line 4: invalid archive record: invalid character 'o' in literal null (expecting 'u')"},
		{Rec: b, Line: 5},
		{Rec: c, Line: 6},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Decode results (-want +got):\n%s", diff)
	}
	if _, err := d.Decode(); err != io.EOF {
		t.Errorf("Decode after the end = %v, want io.EOF again", err)
	}
}

func TestDecoderLineLimit(t *testing.T) {
	// A line of exactly MaxLineSize bytes, newline included, is read; one
	// byte more ends the stream with ErrLineTooLong.
	pad := func(extra int) string {
		r := rec("")
		head := archive.LineSize(r) - len(`"dataBase64":""}`+"\n")
		// "data":"xxxx" : a JSON string of the right length.
		n := archive.MaxLineSize + extra - head - len(`"data":""}`+"\n")
		return meta + `"data":"` + strings.Repeat("x", n) + `"}` + "\n"
	}
	ok, tooLong := pad(0), pad(1)
	if len(ok) != archive.MaxLineSize {
		t.Fatalf("test line is %d bytes, want %d", len(ok), archive.MaxLineSize)
	}
	d := archive.NewDecoder(strings.NewReader(ok + tooLong + ok))
	if _, err := d.Decode(); err != nil {
		t.Fatalf("line of MaxLineSize: %v", err)
	}
	_, err := d.Decode()
	var le *archive.LineError
	if !errors.Is(err, archive.ErrLineTooLong) || !errors.As(err, &le) || le.Line != 2 {
		t.Fatalf("line of MaxLineSize+1: error %v, want ErrLineTooLong on line 2", err)
	}
	if _, again := d.Decode(); again != err {
		t.Errorf("Decode after ErrLineTooLong = %v, want the same error", again)
	}
}

type failingReader struct{ data io.Reader }

var errDisk = errors.New("disk on fire")

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.data.Read(p)
	if err == io.EOF {
		return n, errDisk
	}
	return n, err
}

func TestDecoderReadError(t *testing.T) {
	l, _ := archive.Encode(rec(`1`))
	d := archive.NewDecoder(&failingReader{bytes.NewReader(l)})
	if _, err := d.Decode(); err != nil {
		t.Fatalf("first line: %v", err)
	}
	_, err := d.Decode()
	if !errors.Is(err, errDisk) || !strings.Contains(err.Error(), "after line 1") {
		t.Errorf("Decode = %v, want the read error after line 1", err)
	}
}

// A Decoder hands out each record's own shard id and partition key, also
// past the number of strings it keeps to reuse (maxInterned).
func TestDecoderKeysPastInterning(t *testing.T) {
	const n = 10_000
	var lines bytes.Buffer
	for i := range 2 * n {
		rec := archive.Record{ShardID: fmt.Sprintf("shardId-%012d", i%3), SequenceNumber: fmt.Sprint(i + 1),
			PartitionKey: fmt.Sprintf("movie-%d", i%n), ArrivalTime: time.Date(2026, 11, 27, 4, 0, 0, i, time.UTC), Data: []byte(`{}`)}
		line, err := archive.Encode(rec)
		if err != nil {
			t.Fatal(err)
		}
		lines.Write(line)
	}
	dec := archive.NewDecoder(&lines)
	for i := range 2 * n {
		rec, err := dec.Decode()
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if want := fmt.Sprintf("movie-%d", i%n); rec.PartitionKey != want {
			t.Fatalf("line %d: partition key %q, want %q", i+1, rec.PartitionKey, want)
		}
		if want := fmt.Sprintf("shardId-%012d", i%3); rec.ShardID != want {
			t.Fatalf("line %d: shard id %q, want %q", i+1, rec.ShardID, want)
		}
	}
}
