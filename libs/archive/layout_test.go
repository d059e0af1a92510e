package archive_test

import (
	"errors"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
)

func TestHourPrefix(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 11, 27, 4, 20, 0, 0, time.UTC), "events/2026/11/27/04/"},
		{time.Date(2026, 1, 1, 8, 59, 59, 999, tokyo), "events/2025/12/31/23/"},
		{time.Date(33, 3, 4, 5, 0, 0, 0, time.UTC), "events/0033/03/04/05/"},
	}
	for _, tt := range tests {
		if got := archive.HourPrefix(tt.t); got != tt.want {
			t.Errorf("HourPrefix(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

func TestHourPrefixes(t *testing.T) {
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name         string
		since, until time.Time
		want         []string
	}{
		{"one hour", at(27, 4, 10), at(27, 4, 50), []string{"events/2026/11/27/04/"}},
		{"until on the hour includes it", at(27, 4, 10), at(27, 6, 0),
			[]string{"events/2026/11/27/04/", "events/2026/11/27/05/", "events/2026/11/27/06/"}},
		{"across midnight and the month", at(30, 23, 30), time.Date(2026, 12, 1, 0, 30, 0, 0, time.UTC),
			[]string{"events/2026/11/30/23/", "events/2026/12/01/00/"}},
		{"until before since", at(27, 5, 0), at(27, 4, 0), nil},
		{"until earlier in since's hour", at(27, 4, 50), at(27, 4, 10), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, archive.HourPrefixes(tt.since, tt.until)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestKeyHour(t *testing.T) {
	hour := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	tests := []struct {
		key  string
		want time.Time
		ok   bool
	}{
		{"events/2026/11/27/04/devstack-2026-11-27-04-20-00-ab.gz", hour, true},
		{"events/2026/11/27/04/x", hour, true},
		{"events/2026/11/27/04/", time.Time{}, false},
		{"events/2026/11/27/4/x", time.Time{}, false},
		{"events/2026/13/27/04/x", time.Time{}, false},
		{"events/2026/02/30/04/x", time.Time{}, false},
		{"events/2026-11-27-04/x", time.Time{}, false},
		{"errors/2026/11/27/04/x", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := archive.KeyHour(tt.key)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("KeyHour(%q) = %v, %v; want %v, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
}

func TestObjectKey(t *testing.T) {
	oldest := time.Date(2026, 11, 27, 5, 20, 7, 999_999_999, time.FixedZone("CET", 3600))
	got := archive.ObjectKey("devstack", oldest, "0123abcd")
	want := "events/2026/11/27/04/devstack-2026-11-27-04-20-07-0123abcd.gz"
	if got != want {
		t.Errorf("ObjectKey = %q, want %q", got, want)
	}
	if err := archive.CheckKey(got); err != nil {
		t.Errorf("ObjectKey is not a valid key: %v", err)
	}
	if h, ok := archive.KeyHour(got); !ok || !h.Equal(time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)) {
		t.Errorf("KeyHour(ObjectKey) = %v, %v", h, ok)
	}
}

// Object keys of one writer sort as their times do (to the second).
func TestObjectKeysSortByTime(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	for range 1000 {
		a := base.Add(time.Duration(r.Int64N(int64(400 * 24 * time.Hour)))).Truncate(time.Second)
		b := base.Add(time.Duration(r.Int64N(int64(400 * 24 * time.Hour)))).Truncate(time.Second)
		ka, kb := archive.ObjectKey("w", a, archive.NewUnique()), archive.ObjectKey("w", b, archive.NewUnique())
		if a.Before(b) != (ka < kb) && !a.Equal(b) {
			t.Fatalf("%v < %v but keys %q, %q", a, b, ka, kb)
		}
	}
}

func TestNewUnique(t *testing.T) {
	seen := map[string]bool{}
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	for range 100 {
		u := archive.NewUnique()
		if !hex32.MatchString(u) || seen[u] {
			t.Fatalf("NewUnique = %q: not 32 hex digits, or seen before", u)
		}
		seen[u] = true
	}
}

// evalFirehose evaluates a Firehose S3 prefix's timestamp expressions the
// way Firehose does (Java DateTimeFormatter patterns, UTC), for the
// patterns the layout uses.
func evalFirehose(t *testing.T, prefix string, at time.Time) string {
	t.Helper()
	expr := regexp.MustCompile(`!\{timestamp:([^}]*)\}`)
	java := strings.NewReplacer("yyyy", "2006", "MM", "01", "dd", "02", "HH", "15")
	return expr.ReplaceAllStringFunc(prefix, func(m string) string {
		pattern := expr.FindStringSubmatch(m)[1]
		return at.UTC().Format(java.Replace(pattern))
	})
}

// The prefix infra gives Firehose lays objects out as HourPrefix does, and
// the error prefix meets Firehose's rules.
func TestFirehosePrefixesMatchTheLayout(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2026, 11, 27, 4, 20, 0, 0, time.UTC),
		time.Date(2027, 1, 1, 0, 0, 0, 0, time.FixedZone("JST", 9*3600)),
	} {
		if got, want := evalFirehose(t, archive.FirehosePrefix, at), archive.HourPrefix(at); got != want {
			t.Errorf("FirehosePrefix at %v = %q, HourPrefix = %q", at, got, want)
		}
	}
	if !strings.Contains(archive.FirehoseErrorPrefix, "!{firehose:error-output-type}") ||
		!strings.HasPrefix(archive.FirehoseErrorPrefix, archive.ErrorsPrefix) || !strings.HasSuffix(archive.FirehoseErrorPrefix, "/") {
		t.Errorf("FirehoseErrorPrefix %q must start with %q, contain !{firehose:error-output-type} and end in '/'",
			archive.FirehoseErrorPrefix, archive.ErrorsPrefix)
	}
	if strings.HasPrefix(archive.ErrorsPrefix, archive.EventsPrefix) || strings.HasPrefix(archive.EventsPrefix, archive.ErrorsPrefix) {
		t.Errorf("events and errors prefixes overlap: a scan of events would read errors")
	}
}

func TestCheckKey(t *testing.T) {
	good := []string{"a", "events/2026/11/27/04/w-2026-11-27-04-20-00-u.gz", "x/é/ü", "a-b_c.d", "a b", strings.Repeat("k", archive.MaxKeyLen)}
	for _, k := range good {
		if err := archive.CheckKey(k); err != nil {
			t.Errorf("CheckKey(%q) = %v, want nil", k, err)
		}
	}
	bad := map[string]string{
		"":                        "empty",
		"/a":                      "empty path segment",
		"a/":                      "empty path segment",
		"a//b":                    "empty path segment",
		".a":                      "starts with '.'",
		"a/..":                    "starts with '.'",
		"a/./b":                   "starts with '.'",
		`a\b`:                     `character '\\' is not allowed`,
		"a\x00":                   "is not allowed",
		"a\x7f":                   "is not allowed",
		"\xff":                    "not valid UTF-8",
		strings.Repeat("k", 1025): "1025 bytes, more than 1024",
	}
	for k, msg := range bad {
		err := archive.CheckKey(k)
		if !errors.Is(err, archive.ErrInvalidKey) || !strings.Contains(err.Error(), msg) {
			t.Errorf("CheckKey(%q) = %v, want ErrInvalidKey saying %q", k, err, msg)
		}
	}
}

func TestCheckWriterName(t *testing.T) {
	for _, name := range []string{"devstack", "scrape-archive-courseX", "a_b.c", strings.Repeat("w", 64)} {
		if err := archive.CheckWriterName(name); err != nil {
			t.Errorf("CheckWriterName(%q) = %v", name, err)
		}
	}
	for _, name := range []string{"", ".hidden", "a/b", "a b", "é", strings.Repeat("w", 65)} {
		if err := archive.CheckWriterName(name); err == nil {
			t.Errorf("CheckWriterName(%q) = nil, want an error", name)
		}
	}
}
