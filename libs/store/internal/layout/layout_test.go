package layout

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

func TestTokenRoundTrip(t *testing.T) {
	sk := ErrorsListSK(time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC), "abc")
	tests := []Token{
		{Listing: ListMovies, Key: "tt0111161"},
		{Listing: ListMoviesByYear, Year: 1994, Key: "tt0111161"},
		{Listing: ListMoviesByYear, Year: -44, Key: "x"},
		{Listing: ListErrors, Key: sk},
	}
	for _, tok := range tests {
		key, err := DecodeToken(tok.Encode(), tok.Listing, tok.Year)
		if err != nil || key != tok.Key {
			t.Errorf("%+v: decoded %q, %v", tok, key, err)
		}
	}
	scoped := []Token{
		{Listing: ListHistory, Scope: "tt0111161", Key: HistoryPos(time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC), "ev#1")},
		{Listing: ListRuns, Scope: "", Key: RunsListSK(time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC), "run-1")},
		{Listing: ListRuns, Scope: "completed", Key: RunsListSK(time.Unix(0, 0), "r")},
	}
	for _, tok := range scoped {
		key, err := DecodeScopedToken(tok.Encode(), tok.Listing, tok.Scope)
		if err != nil || key != tok.Key {
			t.Errorf("%+v: decoded %q, %v", tok, key, err)
		}
	}
}

func TestDecodeScopedTokenRejects(t *testing.T) {
	pos := HistoryPos(time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC), "e1")
	hist := Token{Listing: ListHistory, Scope: "tt1", Key: pos}.Encode()
	tests := []struct {
		name    string
		tok     store.PageToken
		listing Listing
		scope   string
	}{
		{"other movie", hist, ListHistory, "tt2"},
		{"other listing", hist, ListRuns, "tt1"},
		{"unscoped listing", Token{Listing: ListMovies, Key: "tt1"}.Encode(), ListMovies, ""},
		{"not a position", Token{Listing: ListHistory, Scope: "tt1", Key: "tt1"}.Encode(), ListHistory, "tt1"},
		{"non-canonical time", Token{Listing: ListRuns, Key: "2025-01-02T03:04:05.000000000+#r"}.Encode(), ListRuns, ""},
		{"scope longer than the token", []byte(Token{Listing: ListHistory, Scope: "tt1", Key: pos}.Encode())[:6], ListHistory, "tt1"},
	}
	for _, tt := range tests {
		if _, err := DecodeScopedToken(tt.tok, tt.listing, tt.scope); !errors.Is(err, store.ErrBadToken) || !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v, want ErrBadToken and ErrInvalid", tt.name, err)
		}
	}
	// An unscoped decode refuses a scoped token.
	if _, err := DecodeToken(hist, ListHistory, 0); !errors.Is(err, store.ErrBadToken) {
		t.Errorf("DecodeToken of a history token: %v, want ErrBadToken", err)
	}
}

func TestHistoryBounds(t *testing.T) {
	t1 := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	lo, hi := HistoryBounds(store.HistoryFilter{Since: t1, Until: t1})
	for _, p := range []string{HistoryPos(t1, "a"), HistoryPos(t1, "\U0010ffff")} {
		if p < lo || p >= hi {
			t.Errorf("position %q outside [%q, %q)", p, lo, hi)
		}
	}
	for _, p := range []string{HistoryPos(t1.Add(-1), "z"), HistoryPos(t1.Add(1), "")} {
		if p >= lo && p < hi {
			t.Errorf("position %q inside [%q, %q)", p, lo, hi)
		}
	}
	lo, hi = HistoryBounds(store.HistoryFilter{})
	for _, p := range []string{HistoryPos(time.Time{}, "a"), HistoryPos(time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), "z")} {
		if p < lo || p >= hi {
			t.Errorf("open bounds: position %q outside [%q, %q)", p, lo, hi)
		}
	}
}

func TestDecodeTokenRejects(t *testing.T) {
	year := Token{Listing: ListMoviesByYear, Year: 1994, Key: "tt1"}.Encode()
	tests := []struct {
		name    string
		tok     store.PageToken
		listing Listing
		year    int
	}{
		{"other listing", year, ListMovies, 0},
		{"other year", year, ListMoviesByYear, 1995},
		{"errors token without a list key", Token{Listing: ListErrors, Key: "abc"}.Encode(), ListErrors, 0},
		{"empty key", Token{Listing: ListMovies}.Encode(), ListMovies, 0},
		{"unknown listing", Token{Listing: 9, Key: "k"}.Encode(), 9, 0},
		{"not UTF-8", Token{Listing: ListMovies, Key: "\xff"}.Encode(), ListMovies, 0},
		{"no magic", store.PageToken("tt1"), ListMovies, 0},
	}
	for _, tt := range tests {
		if _, err := DecodeToken(tt.tok, tt.listing, tt.year); !errors.Is(err, store.ErrBadToken) || !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v, want ErrBadToken and ErrInvalid", tt.name, err)
		}
	}
}

// FuzzDecodeToken: tokens come back from clients (signed by the HTTP layer,
// but still): any bytes give a key or ErrBadToken, and a decoded token
// encodes back to the same bytes.
func FuzzDecodeToken(f *testing.F) {
	f.Add([]byte(Token{Listing: ListMoviesByYear, Year: 1994, Key: "tt1"}.Encode()))
	f.Add([]byte(Token{Listing: ListErrors, Key: ErrorsListSK(time.Unix(0, 0), "x")}.Encode()))
	f.Add([]byte(Token{Listing: ListHistory, Scope: "tt1", Key: HistoryPos(time.Unix(0, 0), "e")}.Encode()))
	f.Add([]byte(Token{Listing: ListRuns, Scope: "running", Key: RunsListSK(time.Unix(0, 0), "r")}.Encode()))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := parseToken(b)
		if err != nil {
			return
		}
		if diff := cmp.Diff(b, []byte(tok.Encode())); diff != "" {
			t.Errorf("re-encoded token differs (-in +out):\n%s", diff)
		}
		decode := func() (string, error) { return DecodeToken(b, tok.Listing, tok.Year) }
		if tok.Listing.scoped() {
			decode = func() (string, error) { return DecodeScopedToken(b, tok.Listing, tok.Scope) }
		}
		if key, err := decode(); err != nil || key != tok.Key {
			t.Errorf("decode of a parsed token: %q, %v", key, err)
		}
	})
}

func TestMarkerKeyUnambiguous(t *testing.T) {
	pairs := [][2]string{{"r#a", "b"}, {"r", "a#b"}, {"r%23a", "b"}, {"r", "%23a#b"}}
	seen := map[string][2]string{}
	for _, p := range pairs {
		k := MarkerKey(p[0], p[1])
		if prev, ok := seen[k]; ok {
			t.Errorf("%v and %v share key %q", prev, p, k)
		}
		seen[k] = p
	}
}

// Marker keys are stored (data directories, DynamoDB tables): their form
// never changes.
func TestMarkerKeyFormat(t *testing.T) {
	tests := []struct{ run, event, want string }{
		{"run-20261127-042000-3f9a2c1b", "bcadddeb-75eb-5e67-8998-ecdd34e77708", "MARK#run-20261127-042000-3f9a2c1b#bcadddeb-75eb-5e67-8998-ecdd34e77708"},
		{"r#a", "b", "MARK#r%23a#b"},
		{"r%a", "b#c", "MARK#r%25a#b#c"},
		{"%#", "", "MARK#%25%23#"},
	}
	for _, tt := range tests {
		if got := MarkerKey(tt.run, tt.event); got != tt.want {
			t.Errorf("MarkerKey(%q, %q) = %q, want %q", tt.run, tt.event, got, tt.want)
		}
		if got := string(AppendMarkerKey([]byte("x"), tt.run, tt.event)); got != "x"+tt.want {
			t.Errorf("AppendMarkerKey(x, %q, %q) = %q, want %q", tt.run, tt.event, got, "x"+tt.want)
		}
	}
}

func TestListSKOrder(t *testing.T) {
	a := time.Date(999, 1, 1, 0, 0, 0, 0, time.UTC)
	b := time.Date(2025, 1, 1, 0, 0, 0, 5, time.UTC)
	c := time.Date(2025, 1, 1, 0, 0, 0, 40, time.UTC)
	if !(ErrorsListSK(a, "z") < ErrorsListSK(b, "a") && ErrorsListSK(b, "z") < ErrorsListSK(c, "a")) {
		t.Errorf("list keys out of time order")
	}
	if id, ok := ErrorIDFromListSK(ErrorsListSK(b, "a#b")); !ok || id != "a#b" {
		t.Errorf("ErrorIDFromListSK = %q, %v", id, ok)
	}
}

// TestChecksAreInvalid: every validation failure matches store.ErrInvalid
// (callers decide on it: bad input is never retried), keeps the message it
// had (the contract suite and logs compare messages) and still matches
// what it wraps.
func TestChecksAreInvalid(t *testing.T) {
	t0 := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	noTime := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	valid := store.Movie{ID: "tt1", LastEventID: "e1", Rating: 1, FirstSeen: t0, LastSeen: t0, LastEventTime: t0}
	badMovie := valid
	badMovie.Title, badMovie.Rating = "bad \xc3", math.NaN()
	tests := []struct {
		name    string
		err     error
		wantMsg string
	}{
		{"id", CheckID("run id", ""), "run id is empty"},
		{"url", CheckURL(""), "url is empty"},
		{"counter", CheckCounter("bogus"), `unknown counter "bogus"`},
		{"lease", CheckLease("", "h", 0), "host is empty\nlease ttl 0s: must be positive"},
		{"movie", CheckMovie(badMovie), "movie \"tt1\": title \"bad \\xc3\" is not valid UTF-8\nrating NaN is not a finite number"},
		{"run", CheckRun(store.Run{ID: "r", StartedAt: noTime}), `run "r": started at 10000-01-01 00:00:00 +0000 UTC is outside years 1-9999`},
		{"page state", CheckPageState(store.PageState{FetchedAt: t0}), "page state: url is empty"},
		{"error item", func() error { _, err := CleanError(store.ErrorItem{FirstFailure: t0, LastFailure: t0}); return err }(),
			"error item: error id is empty"},
		{"limit", func() error { _, err := ClampLimit(0); return err }(), "page limit 0: must be at least 1"},
		{"token", func() error { _, err := DecodeToken(store.PageToken("x"), ListMovies, 0); return err }(),
			"bad page token: not a page token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, store.ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", tt.err)
			}
			if errors.Is(tt.err, store.ErrTransient) {
				t.Errorf("errors.Is(%v, ErrTransient) = true", tt.err)
			}
			if tt.err != nil && tt.err.Error() != tt.wantMsg {
				t.Errorf("message %q, want %q", tt.err.Error(), tt.wantMsg)
			}
		})
	}
	for name, err := range map[string]error{
		"id": CheckID("id", "x"), "counter": CheckCounter(store.CounterFailed), "lease": CheckLease("a", "h", time.Second),
		"movie": CheckMovie(valid), "invalid(nil)": Invalid(nil),
	} {
		if err != nil {
			t.Errorf("%s: %v, want nil", name, err)
		}
	}
	wrapped := Invalid(fmt.Errorf("cause: %w", store.ErrBadToken))
	if !errors.Is(wrapped, store.ErrBadToken) || wrapped.Error() != "cause: bad page token" {
		t.Errorf("Invalid lost the wrapped error or changed the message: %v", wrapped)
	}
}

// FuzzParseCanonicalTime keeps the listings' fast time parser equal to
// what it replaces: ParseTime, then FormatTime giving back the same text.
func FuzzParseCanonicalTime(f *testing.F) {
	for _, s := range []string{
		"2026-03-01T12:00:00.000000000Z", "0000-01-01T00:00:00.000000000Z", "9999-12-31T23:59:59.999999999Z",
		"2024-02-29T00:00:00.000000000Z", "2025-02-29T00:00:00.000000000Z", "1900-02-29T00:00:00.000000000Z",
		"2000-02-29T00:00:00.000000000Z", "2026-04-31T00:00:00.000000000Z", "2026-03-01T24:00:00.000000000Z",
		"2026-03-01T12:60:00.000000000Z", "2026-03-01T12:00:60.000000000Z", "2026-00-01T12:00:00.000000000Z",
		"2026-13-01T12:00:00.000000000Z", "2026-03-00T12:00:00.000000000Z", "2026-03-01 12:00:00.000000000Z",
		"2026-03-01T12:00:00.00000000Z0", "+026-03-01T12:00:00.000000000Z", "2026-3-01T12:00:00.000000000Z0",
		"2026-03-01T12:00:00.000000000z", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := ParseTime(s)
		wantOK := err == nil && FormatTime(want) == s
		got, ok := parseCanonicalTime(s)
		if ok != wantOK || (ok && (!got.Equal(want) || got.Location() != time.UTC)) {
			t.Fatalf("parseCanonicalTime(%q) = %v, %v; ParseTime and FormatTime: %v, %v (%v)", s, got, ok, want, wantOK, err)
		}
	})
}

// FuzzAppendTime keeps the history positions' fast time formatter equal
// to what it replaces, t.UTC().AppendFormat(dst, TimeFormat), over every
// instant (years far outside 0 to 9999 too) and time zone.
func FuzzAppendTime(f *testing.F) {
	for _, t := range []time.Time{
		time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 12, 31, 23, 59, 59, 1, time.UTC), time.Date(2024, 2, 29, 7, 8, 9, 123456789, time.FixedZone("x", -7*3600-1800)),
		{}, time.Unix(0, 0),
	} {
		_, off := t.Zone()
		f.Add(t.Unix(), int64(t.Nanosecond()), off)
	}
	f.Add(int64(math.MaxInt64), int64(-1), 0)
	f.Add(int64(math.MinInt64), int64(1e9+1), 1)
	f.Fuzz(func(t *testing.T, sec, nsec int64, offset int) {
		at := time.Unix(sec, nsec).In(time.FixedZone("", offset%(100*3600)))
		want := at.UTC().AppendFormat([]byte("p"), TimeFormat)
		if got := appendTime([]byte("p"), at); !bytes.Equal(got, want) {
			t.Fatalf("appendTime(%v) = %q, AppendFormat gives %q", at, got, want)
		}
	})
}

// CheckObservation's fast path accepts exactly what its full check
// accepts.
func FuzzCheckObservation(f *testing.F) {
	f.Add("tt1", "e1", "r1", int64(1700000000), 8.5, false)
	f.Add("", "e1", "r1", int64(0), 8.5, false)
	f.Add("tt1", "e\xff", "", int64(-62135596800), math.Inf(1), false)
	f.Add("tt1", "e1", "r1", int64(253402300800), 1.0, true)
	f.Fuzz(func(t *testing.T, movieID, eventID, runID string, sec int64, rating float64, nan bool) {
		if nan {
			rating = math.NaN()
		}
		o := store.Observation{MovieID: movieID, EventID: eventID, RunID: runID, ObservedAt: time.Unix(sec, 0), Rating: rating}
		if fast, full := observationOK(o), checkObservation(o) == nil; fast != full {
			t.Fatalf("%+v: fast path %v, full check %v (%v)", o, fast, full, checkObservation(o))
		}
	})
}

// BenchmarkAppendHistoryPos: the history position a replay builds per
// observation.
func BenchmarkAppendHistoryPos(b *testing.B) {
	at := time.Date(2026, 3, 1, 12, 34, 56, 789012345, time.UTC)
	var buf []byte
	for b.Loop() {
		buf = AppendHistoryPos(buf[:0], at, "0b8d6c2a-4f1e-4d7a-9a51-6f0e2c7d9b13")
	}
}
