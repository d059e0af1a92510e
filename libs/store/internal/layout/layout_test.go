package layout

import (
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
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := parseToken(b)
		if err != nil {
			return
		}
		if diff := cmp.Diff(b, []byte(tok.Encode())); diff != "" {
			t.Errorf("re-encoded token differs (-in +out):\n%s", diff)
		}
		if _, err := DecodeToken(b, tok.Listing, tok.Year); err != nil {
			t.Errorf("DecodeToken of a parsed token: %v", err)
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
