package archive

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

// MaxLineSize is the most bytes of one line, its newline included. It fits
// the largest Kinesis record (1 MiB of data, base64-encoded: 1,398,104
// bytes) with its metadata, with room to spare; AppendLine refuses a record
// whose line would be longer, so the Decoder reads every line it writes.
const MaxLineSize = 2 << 20

// ErrLineTooLong: a record's line would be, or a line read is, longer than
// MaxLineSize.
var ErrLineTooLong = errors.New("archive line too long")

// Encode returns rec as one line of the archive, ending in '\n'. See
// AppendLine.
func Encode(rec Record) ([]byte, error) {
	// Room for the longest line rec can have, so the line is allocated once.
	n := base64.StdEncoding.EncodedLen(len(rec.Data)) + 6*(len(rec.ShardID)+len(rec.PartitionKey)) + len(rec.SequenceNumber) + 160
	return AppendLine(make([]byte, 0, min(n, MaxLineSize+1)), rec)
}

// AppendLine appends rec to dst as one line of the archive, a JSON object
// ending in '\n', and returns the extended slice:
//
//	{"shardId":"shardId-000000000000","sequenceNumber":"4959…","partitionKey":"heat-1995","arrivalTime":"2026-11-27T04:20:00.123Z","data":{"specversion":"1.0",…}}
//
// The data is embedded as a JSON value ("data") when decoding the line
// gives back exactly the same bytes: it is valid, compact-enough JSON (UTF-8,
// no line breaks, no leading or trailing white space). Any other data —
// pretty-printed JSON, binary, text, nothing at all — is base64-encoded
// ("dataBase64", standard alphabet, padded). subsequenceNumber appears only
// when it is not zero.
//
// It returns an error wrapping ErrInvalidRecord when rec does not pass
// Validate, or ErrLineTooLong when the line would be longer than
// MaxLineSize; dst is then returned unchanged.
func AppendLine(dst []byte, rec Record) ([]byte, error) {
	if err := rec.Validate(); err != nil {
		return dst, err
	}
	start := len(dst)
	dst = append(dst, `{"shardId":`...)
	dst = text.AppendJSON(dst, rec.ShardID, false)
	dst = append(dst, `,"sequenceNumber":"`...)
	dst = append(dst, rec.SequenceNumber...)
	dst = append(dst, '"')
	if rec.SubsequenceNumber != 0 {
		dst = append(dst, `,"subsequenceNumber":`...)
		dst = strconv.AppendInt(dst, rec.SubsequenceNumber, 10)
	}
	dst = append(dst, `,"partitionKey":`...)
	dst = text.AppendJSON(dst, rec.PartitionKey, false)
	dst = append(dst, `,"arrivalTime":"`...)
	dst = rec.ArrivalTime.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, '"')
	if Embeddable(rec.Data) {
		dst = append(dst, `,"data":`...)
		dst = append(dst, rec.Data...)
	} else {
		dst = append(dst, `,"dataBase64":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, rec.Data)
		dst = append(dst, '"')
	}
	dst = append(dst, "}\n"...)
	if n := len(dst) - start; n > MaxLineSize {
		return dst[:start], fmt.Errorf("record %s/%s: %w: %d bytes, more than %d",
			rec.ShardID, rec.SequenceNumber, ErrLineTooLong, n, MaxLineSize)
	}
	return dst, nil
}

// LineSize returns the length of rec's line, newline included, without
// checking rec. It is what AppendLine appends for a valid record.
func LineSize(rec Record) int {
	n := len(`{"shardId":,"sequenceNumber":"","partitionKey":,"arrivalTime":""}`) + 1
	n += text.JSONLen(rec.ShardID, false) + len(rec.SequenceNumber) + text.JSONLen(rec.PartitionKey, false)
	if rec.SubsequenceNumber != 0 {
		n += len(`,"subsequenceNumber":`) + len(strconv.FormatInt(rec.SubsequenceNumber, 10))
	}
	n += len(rec.ArrivalTime.UTC().AppendFormat(make([]byte, 0, 40), time.RFC3339Nano))
	if Embeddable(rec.Data) {
		n += len(`,"data":`) + len(rec.Data)
	} else {
		n += len(`,"dataBase64":""`) + base64.StdEncoding.EncodedLen(len(rec.Data))
	}
	return n
}

// Embeddable reports whether data is embedded in its line as a JSON value
// rather than base64-encoded: whether it is valid JSON in valid UTF-8, with
// no line break anywhere and no white space before or after the value, so
// that the line stays one line and decoding it gives back the same bytes
// (a JSON decoder hands back a raw value without the space around it).
func Embeddable(data []byte) bool {
	if len(data) == 0 || isSpace(data[0]) || isSpace(data[len(data)-1]) {
		return false
	}
	if bytes.IndexByte(data, '\n') >= 0 || bytes.IndexByte(data, '\r') >= 0 {
		return false
	}
	return utf8.Valid(data) && validJSON(data)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// wireLine is a line as JSON has it. Unknown fields are ignored, so that a
// reader keeps reading lines that a later version enriches.
type wireLine struct {
	ShardID           string          `json:"shardId"`
	SequenceNumber    string          `json:"sequenceNumber"`
	SubsequenceNumber int64           `json:"subsequenceNumber"`
	PartitionKey      string          `json:"partitionKey"`
	ArrivalTime       string          `json:"arrivalTime"`
	Data              json.RawMessage `json:"data"`
	DataBase64        *string         `json:"dataBase64"`
}

// DecodeLine decodes one line (with or without its trailing newline). The
// line must be a JSON object with shardId, sequenceNumber, partitionKey,
// arrivalTime (RFC 3339, any offset; returned in UTC) and exactly one of
// data (any JSON value, whose bytes are the record's data as they are) and
// dataBase64 (standard base64, padded); the record must pass Validate.
// Errors wrap ErrInvalidRecord and say what is wrong.
func DecodeLine(line []byte) (Record, error) { return decodeLine(line, nil) }

// decodeLine is DecodeLine, taking shard ids and partition keys from in
// when it has them (nil: none).
func decodeLine(line []byte, in *interner) (Record, error) {
	w, ok := scanLine(line, in)
	if !ok {
		// Not in the form AppendLine writes: let encoding/json read it.
		w = wireLine{}
		if err := json.Unmarshal(line, &w); err != nil {
			return Record{}, fmt.Errorf("%w: %v", ErrInvalidRecord, err)
		}
	}
	return w.record()
}

// record checks w and turns it into a Record.
func (w *wireLine) record() (Record, error) {
	rec := Record{
		ShardID:           w.ShardID,
		SequenceNumber:    w.SequenceNumber,
		SubsequenceNumber: w.SubsequenceNumber,
		PartitionKey:      w.PartitionKey,
	}
	var timeErr, dataErr error
	check := rec // what Validate sees: a bad time is reported here, not as zero
	if w.ArrivalTime != "" {
		t, err := time.Parse(time.RFC3339Nano, w.ArrivalTime)
		if err != nil {
			timeErr = fmt.Errorf("%w: arrivalTime %q is not RFC 3339", ErrInvalidRecord, text.Clip(w.ArrivalTime, maxQuoted))
			t = time.Unix(0, 0)
		}
		rec.ArrivalTime = t.UTC()
		check.ArrivalTime = rec.ArrivalTime
	}
	switch {
	case w.Data != nil && w.DataBase64 != nil:
		dataErr = fmt.Errorf("%w: both data and dataBase64", ErrInvalidRecord)
	case w.Data != nil:
		rec.Data = []byte(w.Data)
	case w.DataBase64 != nil:
		data, err := base64.StdEncoding.Strict().DecodeString(*w.DataBase64)
		if err != nil {
			dataErr = fmt.Errorf("%w: dataBase64: %v", ErrInvalidRecord, err)
		}
		rec.Data = data
	default:
		dataErr = fmt.Errorf("%w: neither data nor dataBase64", ErrInvalidRecord)
	}
	if err := errors.Join(timeErr, dataErr, check.Validate()); err != nil {
		return Record{}, err
	}
	return rec, nil
}

// Fields of a line, as bits, to refuse duplicates in scanLine.
const (
	fieldShard = 1 << iota
	fieldSeq
	fieldSubseq
	fieldKey
	fieldTime
	fieldData
	fieldData64
)

// scanLine reads a line in the form AppendLine writes — no white space
// between members, known members once each, strings without escapes or
// control characters and in valid UTF-8, a non-negative subsequence number
// of at most 18 digits — much faster than encoding/json. Anything else
// gives ok false, and encoding/json decides. When ok, w is what
// json.Unmarshal would give (a fuzz test holds them equal); data is copied
// out of line.
//
// Shard ids and partition keys come from in when it has them: a stream has
// a few shards, and partition keys (movie ids) repeat from run to run.
func scanLine(line []byte, in *interner) (w wireLine, ok bool) {
	b := line
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	if len(b) < 2 || b[0] != '{' {
		return w, false
	}
	var seen int
	for i := 1; ; {
		key, next, ok := plainBytes(b, i)
		if !ok || next >= len(b) || b[next] != ':' {
			return w, false
		}
		i = next + 1
		var field int
		switch string(key) { // no allocation: the compiler compares the bytes
		case "shardId":
			field = fieldShard
			w.ShardID, i, ok = in.plainString(b, i)
		case "sequenceNumber":
			field = fieldSeq
			w.SequenceNumber, i, ok = plainString(b, i)
		case "subsequenceNumber":
			field = fieldSubseq
			w.SubsequenceNumber, i, ok = plainInt(b, i)
		case "partitionKey":
			field = fieldKey
			w.PartitionKey, i, ok = in.plainString(b, i)
		case "arrivalTime":
			field = fieldTime
			w.ArrivalTime, i, ok = plainString(b, i)
		case "data":
			field = fieldData
			var end int
			if end, ok = scanValue(b, i, 0); ok {
				w.Data = bytes.Clone(b[i:end])
				i = end
			}
		case "dataBase64":
			field = fieldData64
			var s string
			s, i, ok = plainString(b, i)
			w.DataBase64 = &s
		}
		if field == 0 || !ok || seen&field != 0 || i >= len(b) {
			return w, false
		}
		seen |= field
		switch b[i] {
		case ',':
			i++
		case '}':
			return w, i == len(b)-1
		default:
			return w, false
		}
	}
}

// plainString reads the JSON string at b[i] if it has no escape, no
// control character and is valid UTF-8, and returns it with the index
// past it.
func plainString(b []byte, i int) (string, int, bool) {
	s, next, ok := plainBytes(b, i)
	return string(s), next, ok
}

// interner hands out one string for equal bytes, so that a Decoder does
// not allocate the same shard id or partition key line after line (Scan
// shares one among the objects it reads). It keeps at most maxInterned
// strings, then starts afresh in the same map (clear keeps its memory).
type interner struct{ m map[string]string }

const maxInterned = 4096

// plainString is the package's plainString, with the string from in (a
// nil in makes a new one).
func (in *interner) plainString(b []byte, i int) (string, int, bool) {
	s, next, ok := plainBytes(b, i)
	if !ok || in == nil {
		return string(s), next, ok
	}
	if str, found := in.m[string(s)]; found { // no allocation: a lookup by bytes
		return str, next, true
	}
	str := string(s)
	switch {
	case in.m == nil:
		in.m = make(map[string]string, 64)
	case len(in.m) >= maxInterned:
		clear(in.m)
	}
	in.m[str] = str
	return str, next, true
}

// plainBytes is plainString without the copy.
func plainBytes(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			s := b[i+1 : j]
			if !utf8.Valid(s) {
				return nil, i, false
			}
			return s, j + 1, true
		case c == '\\' || c < 0x20:
			return nil, i, false
		}
	}
	return nil, i, false
}

// plainInt reads 1 to 18 digits without a leading zero (or "0").
func plainInt(b []byte, i int) (int64, int, bool) {
	var n int64
	j := i
	for j < len(b) && isDigit(b[j]) && j-i < 19 {
		n = n*10 + int64(b[j]-'0')
		j++
	}
	if j == i || j-i > 18 || b[i] == '0' && j-i > 1 || j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E') {
		return 0, i, false
	}
	return n, j, true
}

// LineError is a line a Decoder could not decode, by its 1-based number.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Unwrap returns the line's error.
func (e *LineError) Unwrap() error { return e.Err }

// Decoder reads records from a stream of lines (newline-delimited JSON, as
// AppendLine writes it and Firehose concatenates it). It holds one line at a
// time, so memory stays bounded by MaxLineSize whatever the stream's size.
// Blank lines are skipped; a final line without its newline is read. A
// Decoder is not safe for concurrent use.
type Decoder struct {
	s    *bufio.Scanner
	line int
	err  error
	in   *interner
}

// NewDecoder returns a Decoder reading from r. It buffers r: wrap a
// gzip-compressed stream in gzip.NewReader first.
func NewDecoder(r io.Reader) *Decoder {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 64<<10), MaxLineSize)
	return &Decoder{s: s, in: &interner{}}
}

// Decode returns the next record. At the end of the stream it returns
// io.EOF. A line that does not decode gives a *LineError wrapping
// ErrInvalidRecord (or ErrLineTooLong), after which the Decoder may go on
// with the next line, except after ErrLineTooLong or a read error, which
// end the stream: every later call returns the same error.
func (d *Decoder) Decode() (Record, error) {
	if d.err != nil {
		return Record{}, d.err
	}
	for d.s.Scan() {
		d.line++
		line := d.s.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		rec, err := decodeLine(line, d.in)
		if err != nil {
			return Record{}, &LineError{Line: d.line, Err: err}
		}
		return rec, nil
	}
	switch err := d.s.Err(); {
	case err == nil:
		d.err = io.EOF
	case errors.Is(err, bufio.ErrTooLong):
		d.err = &LineError{Line: d.line + 1, Err: fmt.Errorf("%w: more than %d bytes", ErrLineTooLong, MaxLineSize)}
	default:
		d.err = fmt.Errorf("read after line %d: %w", d.line, err)
	}
	return Record{}, d.err
}

// Line returns the number of the last line read (1-based; 0 before the
// first).
func (d *Decoder) Line() int { return d.line }
