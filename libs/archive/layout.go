package archive

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

// Where objects live. Keys are relative to the archive's root (a directory,
// or an S3 bucket and prefix).
const (
	// EventsPrefix holds the records, one gzip-compressed object of lines
	// per delivery: events/YYYY/MM/DD/HH/<name>.gz.
	EventsPrefix = "events/"
	// ErrorsPrefix holds what Firehose could not deliver or transform, in
	// Firehose's own error format (errors/<error-output-type>/YYYY/MM/DD/HH/…).
	ErrorsPrefix = "errors/"
	// ObjectExt ends every object name: the objects are gzip-compressed.
	ObjectExt = ".gz"
)

// Firehose's S3 destination settings that give the same layout: its
// Prefix and ErrorOutputPrefix (after the root prefix, if any). Firehose
// evaluates !{timestamp:…} in UTC to the approximate arrival timestamp of
// the oldest record in the object, and names the object
// <Firehose stream name>-<version>-<yyyy>-<MM>-<dd>-<HH>-<mm>-<ss>-<uuid>
// after the prefix, with ".gz" when it compresses with GZIP. An error
// prefix is required once the prefix uses expressions, and must contain
// !{firehose:error-output-type}.
const (
	FirehosePrefix      = EventsPrefix + "!{timestamp:yyyy/MM/dd/HH}/"
	FirehoseErrorPrefix = ErrorsPrefix + "!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/"
)

// Skew is how far the hour in an object's key may be from the arrival
// times of the records in it. Firehose picks the hour from its own idea of
// the oldest record's arrival, and keeps buffering up to 900 s for the
// transformation and 900 s for S3 after it; a record also reaches Firehose
// after it reached Kinesis. So a record can sit in an object under an
// earlier or a later hour than its own arrival time. A reader that wants
// the records that arrived in [since, until) reads the hours from
// since-Skew to until+Skew and keeps the records by their own arrivalTime
// (Scan does). A record Firehose delivered more than Skew late — after an
// outage, say, when Firehose catches up on a stream's backlog — is only
// found by a scan without bounds.
const Skew = time.Hour

// hourLayout is an hour prefix's time part: yyyy/MM/dd/HH, UTC.
const hourLayout = "2006/01/02/15"

// HourPrefix returns the prefix of the objects whose hour is t's hour in
// UTC: "events/2026/11/27/04/".
func HourPrefix(t time.Time) string {
	return EventsPrefix + t.UTC().Format(hourLayout) + "/"
}

// HourPrefixes returns the hour prefixes from since's hour to until's hour,
// both included, in order (which is also key order). It returns nil when
// until is before since.
func HourPrefixes(since, until time.Time) []string {
	if until.Before(since) {
		return nil
	}
	var out []string
	for h := since.UTC().Truncate(time.Hour); !h.After(until); h = h.Add(time.Hour) {
		out = append(out, HourPrefix(h))
	}
	return out
}

// KeyHour returns the hour of an object key under EventsPrefix (the start
// of the hour, in UTC), and false if key is not of the form
// events/YYYY/MM/DD/HH/<name>.
func KeyHour(key string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(key, EventsPrefix)
	if !ok || len(rest) < len(hourLayout)+2 || rest[len(hourLayout)] != '/' {
		return time.Time{}, false
	}
	t, err := time.Parse(hourLayout, rest[:len(hourLayout)])
	if err != nil || t.Format(hourLayout) != rest[:len(hourLayout)] {
		return time.Time{}, false
	}
	return t, true
}

// nameTimeLayout is the date-time in an object name, as Firehose writes it.
const nameTimeLayout = "2006-01-02-15-04-05"

// ObjectKey returns the key of an object whose oldest record arrived at
// oldest, written by writer (a name of the writer, like Firehose's stream
// name): events/YYYY/MM/DD/HH/<writer>-<YYYY-MM-DD-HH-MM-SS>-<unique>.gz,
// with the hour and the date-time of oldest in UTC. Keys so sort by time;
// unique (a random string: see NewUnique) keeps them apart within a second
// and between writers of the same name.
func ObjectKey(writer string, oldest time.Time, unique string) string {
	t := oldest.UTC()
	return HourPrefix(t) + writer + "-" + t.Format(nameTimeLayout) + "-" + unique + ObjectExt
}

// NewUnique returns a random string for ObjectKey: 128 bits in 32 hex
// digits, as unique as Firehose's UUIDs.
func NewUnique() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// CheckWriterName reports whether name can begin an object name: 1 to 64
// characters of [A-Za-z0-9_.-], not starting with '.', as Firehose stream
// names are.
func CheckWriterName(name string) error {
	if name == "" || len(name) > 64 || name[0] == '.' {
		return fmt.Errorf("writer name %q: want 1 to 64 characters, not starting with '.'", text.Clip(name, maxQuoted))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("writer name %q: character %q is not one of [A-Za-z0-9_.-]", text.Clip(name, maxQuoted), c)
		}
	}
	return nil
}
