package events

import (
	"bytes"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// raw builds an event's JSON from the v2 golden example with one change.
func rawWith(t *testing.T, edit func(m map[string]any)) []byte {
	t.Helper()
	b, err := Encode(examples[Kind{TypeMovieObserved, 2}])
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := jsonUnmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := jsonMarshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// goldenWith returns the v2 golden event with text inserted just before its
// data attribute, for edits a map cannot express (repeated or escaped keys,
// broken JSON).
func goldenWith(t *testing.T, text string) []byte {
	t.Helper()
	b, err := os.ReadFile(goldenPath(Kind{TypeMovieObserved, 2}))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, `"data":`)
	if i < 0 {
		t.Fatal("golden has no data attribute")
	}
	return []byte(s[:i] + text + s[i:])
}

func TestDecodeFailures(t *testing.T) {
	data := func(m map[string]any) map[string]any { return m["data"].(map[string]any) }
	tests := []struct {
		name     string
		raw      []byte
		wantKind error
		wantAttr string
		wantMsg  string // a substring of the error text
	}{
		{"empty", []byte(""), ErrMalformed, "", "unexpected end"},
		{"not json", []byte("{oops"), ErrMalformed, "", "invalid character"},
		{"array", []byte("[1,2]"), ErrMalformed, "", "not a JSON object"},
		{"string", []byte(`"movie"`), ErrMalformed, "", "not a JSON object"},
		{"null", []byte("null"), ErrMalformed, "", "not a JSON object"},
		{"unterminated string", []byte(`{"id":"abc`), ErrMalformed, "", "unexpected end"},
		{"trailing comma", []byte(`{"id":"abc",}`), ErrMalformed, "", "invalid character"},
		{"missing colon", []byte(`{"id" "abc"}`), ErrMalformed, "", "invalid character"},
		{"control character", []byte("{\"id\":\"a\tb\"}"), ErrMalformed, "", "invalid character"},
		{"bad escape", []byte(`{"id":"a\qb"}`), ErrMalformed, "", "invalid character"},
		{"bad literal", []byte(`{"x":nul}`), ErrMalformed, "", "invalid character"},
		{"broken data and missing id", []byte(`{"data":{"title":]}}`), ErrMalformed, "", "invalid character"},
		{"broken data", rawWith(t, func(m map[string]any) { m["data"] = map[string]any{"title": "X"} })[:0], ErrMalformed, "", "unexpected end"},
		// An earlier data is overwritten by the later one, but its JSON
		// must still be valid, as encoding/json requires.
		{"broken first of two data", goldenWith(t, `"data": {"x":,}, `), ErrMalformed, "", "invalid character"},
		{"array without comma as first data", goldenWith(t, `"data": [1 2], `), ErrMalformed, "", "invalid character"},
		{"object without colon as first data", goldenWith(t, `"data": {"a" "b"}, `), ErrMalformed, "", "invalid character"},
		{"trailing garbage", []byte(`{"id":"a"} x`), ErrMalformed, "", "invalid character"},
		{"escaped strings", rawWith(t, func(m map[string]any) { m["id"] = "a\u0000b" }), ErrInvalid, "", "id"},
		{"number attribute", rawWith(t, func(m map[string]any) { m["id"] = 7 }), ErrMalformed, "", "id: not a string"},
		{"fractional version", []byte(`{"schemaversion":2.0}`), ErrMalformed, "", "schemaversion"},
		{"empty object", []byte("{}"), ErrMissingAttribute, "specversion", ""},
		{"wrong attribute type", rawWith(t, func(m map[string]any) { m["schemaversion"] = "2" }), ErrMalformed, "", "schemaversion"},
		{"specversion 0.3", rawWith(t, func(m map[string]any) { m["specversion"] = "0.3" }), ErrUnknownVersion, "specversion", `"0.3"`},
		{"no id", rawWith(t, func(m map[string]any) { delete(m, "id") }), ErrMissingAttribute, "id", ""},
		// null is absent (CloudEvents), also after an earlier value.
		{"null repeats id", goldenWith(t, `"id": null, `), ErrMissingAttribute, "id", ""},
		{"no source", rawWith(t, func(m map[string]any) { delete(m, "source") }), ErrMissingAttribute, "source", ""},
		{"no type", rawWith(t, func(m map[string]any) { delete(m, "type") }), ErrMissingAttribute, "type", ""},
		{"no schemaversion", rawWith(t, func(m map[string]any) { delete(m, "schemaversion") }), ErrMissingAttribute, "schemaversion", ""},
		{"no runid", rawWith(t, func(m map[string]any) { delete(m, "runid") }), ErrMissingAttribute, "runid", ""},
		{"no time", rawWith(t, func(m map[string]any) { delete(m, "time") }), ErrMissingAttribute, "time", ""},
		{"bad time", rawWith(t, func(m map[string]any) { m["time"] = "yesterday" }), ErrMalformed, "", "yesterday"},
		{"no subject", rawWith(t, func(m map[string]any) { delete(m, "subject") }), ErrMissingAttribute, "subject", ""},
		{"no data", rawWith(t, func(m map[string]any) { delete(m, "data") }), ErrMissingAttribute, "data", ""},
		{"null data", rawWith(t, func(m map[string]any) { m["data"] = nil }), ErrMissingAttribute, "data", ""},
		{"unknown type", rawWith(t, func(m map[string]any) { m["type"] = "movie.deleted" }), ErrUnknownType, "type", "movie.deleted"},
		{"unknown version", rawWith(t, func(m map[string]any) { m["schemaversion"] = 3 }), ErrUnknownVersion, "schemaversion", "v3"},
		{"negative version", rawWith(t, func(m map[string]any) { m["schemaversion"] = -1 }), ErrUnknownVersion, "schemaversion", ""},
		{"data not object", rawWith(t, func(m map[string]any) { m["data"] = []any{1} }), ErrMalformed, "data", "not a JSON object"},
		{"data field wrong type", rawWith(t, func(m map[string]any) { data(m)["year"] = "1972" }), ErrInvalid, "data", "year"},
		{"v1 rating shape in v2", rawWith(t, func(m map[string]any) { data(m)["rating"] = "9.2" }), ErrInvalid, "data", "rating"},
		{"content type", rawWith(t, func(m map[string]any) { m["datacontenttype"] = "text/xml" }), ErrInvalid, "datacontenttype", "text/xml"},
		{"source not url", rawWith(t, func(m map[string]any) { m["source"] = "chart page" }), ErrInvalid, "", "source"},
		{"source ftp", rawWith(t, func(m map[string]any) { m["source"] = "ftp://x.org/a" }), ErrInvalid, "", "source"},
		{"subject not a movie id", rawWith(t, func(m map[string]any) { m["subject"] = "The Godfather" }), ErrInvalid, "", "subject"},
		{"id with space", rawWith(t, func(m map[string]any) { m["id"] = "a b" }), ErrInvalid, "", "id"},
		{"id too long", rawWith(t, func(m map[string]any) { m["id"] = strings.Repeat("x", MaxIDLen+1) }), ErrInvalid, "", "id"},
		{"title missing", rawWith(t, func(m map[string]any) { delete(data(m), "title") }), ErrInvalid, "data", "title: required"},
		{"title too long", rawWith(t, func(m map[string]any) { data(m)["title"] = strings.Repeat("x", MaxTitleLen+1) }), ErrInvalid, "data", "title: longer"},
		{"year too early", rawWith(t, func(m map[string]any) { data(m)["year"] = 1877 }), ErrInvalid, "data", "year: 1877"},
		{"year too late", rawWith(t, func(m map[string]any) { data(m)["year"] = 2028 }), ErrInvalid, "data", "year: 2028"},
		{"rating above 10", rawWith(t, func(m map[string]any) { data(m)["rating"] = map[string]any{"value": 10.5} }), ErrInvalid, "data", "rating.value"},
		{"negative votes", rawWith(t, func(m map[string]any) { data(m)["rating"] = map[string]any{"value": 1, "votes": -1} }), ErrInvalid, "data", "rating.votes"},
		{"too many genres", rawWith(t, func(m map[string]any) {
			g := make([]any, MaxGenres+1)
			for i := range g {
				g[i] = "Drama"
			}
			data(m)["genres"] = g
		}), ErrInvalid, "data", "genres"},
		{"empty genre", rawWith(t, func(m map[string]any) { data(m)["genres"] = []any{""} }), ErrInvalid, "data", "genres[0]"},
		{"detail url relative", rawWith(t, func(m map[string]any) { data(m)["detailUrl"] = "/films/x" }), ErrInvalid, "data", "detailUrl"},
		{"runtime negative", rawWith(t, func(m map[string]any) { data(m)["runtimeMinutes"] = -5 }), ErrInvalid, "data", "runtimeMinutes"},
		{"too large", append([]byte(`{"x":"`), append([]byte(strings.Repeat("a", MaxEncodedSize)), `"}`...)...), ErrInvalid, "", "exceeds"},
		{"v1 unparsable rating", rawWith(t, func(m map[string]any) {
			m["schemaversion"] = 1
			m["data"] = map[string]any{"title": "X", "year": 2000, "rank": 1, "rating": "great"}
		}), ErrInvalid, "data", `"great" is not a number`},
	}
	kinds := []error{ErrMalformed, ErrMissingAttribute, ErrUnknownType, ErrUnknownVersion, ErrInvalid}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.raw)
			if err == nil {
				t.Fatal("Decode succeeded, want an error")
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not a *DecodeError: %v", err, err)
			}
			for _, k := range kinds {
				if got, want := errors.Is(err, k), k == tt.wantKind; got != want {
					t.Errorf("errors.Is(err, %v) = %v, want %v (err: %v)", k, got, want, err)
				}
			}
			if de.Attribute != tt.wantAttr {
				t.Errorf("Attribute = %q, want %q (err: %v)", de.Attribute, tt.wantAttr, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestDecodeErrorKeepsEnvelope(t *testing.T) {
	raw := rawWith(t, func(m map[string]any) { m["schemaversion"] = 9 })
	_, err := Decode(raw)
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatal(err)
	}
	want := examples[Kind{TypeMovieObserved, 2}].ID
	if de.EventID != want || de.Type != TypeMovieObserved || de.Version != 9 {
		t.Errorf("DecodeError = %+v, want id %s, type %s, version 9", de, want, TypeMovieObserved)
	}
}

func TestEncodeRefusesWhatDecodeRefuses(t *testing.T) {
	good := examples[Kind{TypeMovieObserved, 2}]
	tests := []struct {
		name string
		edit func(e *Event)
		want error
	}{
		{"no data", func(e *Event) { e.Data = nil }, ErrMissingAttribute},
		{"no id", func(e *Event) { e.ID = "" }, ErrMissingAttribute},
		{"no run", func(e *Event) { e.RunID = "" }, ErrMissingAttribute},
		{"no time", func(e *Event) { e.Time = time.Time{} }, ErrMissingAttribute},
		{"bad source", func(e *Event) { e.Source = "not a url" }, ErrInvalid},
		{"bad year", func(e *Event) {
			d := e.Data.(MovieObserved)
			d.Year = 3000
			e.Data = d
		}, ErrInvalid},
		{"too large", func(e *Event) {
			d := e.Data.(MovieObserved)
			d.Genres = nil
			for range MaxGenres {
				d.Genres = append(d.Genres, strings.Repeat("g", MaxGenreLen))
			}
			d.Title = strings.Repeat("t", MaxTitleLen)
			e.Data = d
			e.Source = "https://x.org/" + strings.Repeat("p", MaxURLLen-14)
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := good
			tt.edit(&e)
			_, err := Encode(e)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Encode at the caps: %v (the caps must fit in MaxEncodedSize)", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Encode error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestUpcastV1(t *testing.T) {
	tests := []struct {
		rating string
		want   float64
	}{{"8.7", 8.7}, {" 8,7 ", 8.7}, {"9/10", 9}, {"0", 0}, {"10", 10}}
	for _, tt := range tests {
		t.Run(tt.rating, func(t *testing.T) {
			got, err := MovieObservedV1{Title: "X", Year: 2000, Rank: 1, Rating: tt.rating}.Upcast()
			if err != nil {
				t.Fatal(err)
			}
			want := MovieObservedV2{Title: "X", Year: 2000, Rank: 1, Rating: Rating{Value: tt.want}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestUpcastScrapeStartedV1: a version 1 run was started through the API,
// and Decode says so.
func TestUpcastScrapeStartedV1(t *testing.T) {
	raw, err := Encode(NewRunEvent(goldenRun, goldenSrc, goldenTime, ScrapeStartedV1{Profile: "movies"}))
	if err != nil {
		t.Fatal(err)
	}
	e, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if e.PublishedVersion != 1 {
		t.Errorf("PublishedVersion = %d, want 1", e.PublishedVersion)
	}
	if diff := cmp.Diff(Data(ScrapeStartedV2{Profile: "movies", Trigger: TriggerAPI}), e.Data); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
}

func TestRunEventsValidation(t *testing.T) {
	tests := []struct {
		name string
		d    Data
		ok   bool
	}{
		{"started", ScrapeStarted{Profile: "movies", Trigger: TriggerAPI}, true},
		{"started by a schedule", ScrapeStarted{Profile: "movies", Trigger: TriggerSchedule}, true},
		{"started without profile", ScrapeStarted{Trigger: TriggerAPI}, false},
		{"started without trigger", ScrapeStarted{Profile: "movies"}, false},
		{"started by an unknown trigger", ScrapeStarted{Profile: "movies", Trigger: "cron"}, false},
		{"completed", ScrapeCompleted{Published: 250, Pages: 5, DurationMs: 10}, true},
		{"completed unchanged", ScrapeCompleted{Unchanged: true, Pages: 1}, true},
		{"unchanged but published", ScrapeCompleted{Unchanged: true, Published: 1}, false},
		{"negative count", ScrapeCompleted{Skipped: -1}, false},
		{"failed run", ScrapeCompleted{Error: "target answered 503"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewRunEvent(goldenRun, goldenSrc, goldenTime, tt.d)
			raw, err := Encode(e)
			if (err == nil) != tt.ok {
				t.Fatalf("Encode error = %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok {
				return
			}
			got, err := Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			e.PublishedVersion = tt.d.SchemaVersion()
			if diff := cmp.Diff(e, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// TestInvalidFiles keeps the recorded bad records (also the fuzz seeds and
// the processor's poison records) failing the way their names say.
func TestInvalidFiles(t *testing.T) {
	want := map[string]error{
		"malformed":       ErrMalformed,
		"unknown-type":    ErrUnknownType,
		"unknown-version": ErrUnknownVersion,
		"missing-id":      ErrMissingAttribute,
		"invalid-year":    ErrInvalid,
		"invalid-rating":  ErrInvalid,
	}
	for name, kind := range want {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "invalid", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Decode(raw); !errors.Is(err, kind) {
				t.Errorf("Decode error = %v, want %v", err, kind)
			}
		})
	}
}

// TestDecodeEscapedAttributeNames: a member name is JSON text like any
// other, so an escaped name means what it unescapes to (the last of
// duplicates wins, as in encoding/json); matching stays case-sensitive, as
// CloudEvents attribute names are.
func TestDecodeEscapedAttributeNames(t *testing.T) {
	golden := examples[Kind{TypeMovieObserved, 2}]
	tests := []struct {
		name string
		raw  []byte
		edit func(e *Event)
	}{
		{"escaped subject wins", goldenWith(t, `"\u0073ubject": "other-1999", `), func(e *Event) { e.Subject = "other-1999" }},
		{"escaped id wins", goldenWith(t, `"\u0069d": "x-1", `), func(e *Event) { e.ID = "x-1" }},
		{"escaped data", bytes.Replace(goldenWith(t, ""), []byte(`"data":`), []byte(`"d\u0061ta":`), 1), func(*Event) {}},
		{"other case is another attribute", goldenWith(t, `"Subject": "other-1999", "\u0053ubject": "x", `), func(*Event) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := golden
			want.PublishedVersion = 2
			tt.edit(&want)
			got, err := Decode(tt.raw)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

var urlSeeds = []string{
	"https://films.example.org/site/chart?page=1", "HTTP://x.org", "http://a:8080/x", "http://[::1]:80/",
	"http://x.org/caf%C3%A9?q=%20#f%41", "ftp://x.org/", "http://", "http://user@x.org/", "http://a b/",
	"http://a%zz/", "http://host/%zz", "http://host/a#%zz", "http://a:b:c/", "http://a:b/", "http://[::1/", "http://::1]/",
}

func TestCheckURL(t *testing.T) {
	bad := []string{"ftp://x.org/", "http://", "http://user@x.org/", "http://a b/",
		"http://a%zz/", "http://host/%zz", "http://host/a#%zz", "http://a:b:c/", "http://a:b/", "http://[::1/"}
	for _, s := range bad {
		if checkURL("u", s) == nil {
			t.Errorf("checkURL(%q) accepted it", s)
		}
	}
	for _, s := range urlSeeds[:5] {
		if err := checkURL("u", s); err != nil {
			t.Errorf("checkURL(%q): %v", s, err)
		}
	}
}

// FuzzCheckURL holds checkURL to its promise of accepting a strict subset
// of net/url: every URL it accepts parses, with an http(s) scheme and a
// host.
func FuzzCheckURL(f *testing.F) {
	for _, s := range urlSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkURL("u", s) != nil {
			return
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("checkURL accepts %q, url.Parse: %v", s, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			t.Fatalf("checkURL accepts %q: scheme %q, host %q", s, u.Scheme, u.Host)
		}
	})
}
