package layout

import (
	"errors"
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
		if _, err := DecodeToken(tt.tok, tt.listing, tt.year); !errors.Is(err, store.ErrBadToken) {
			t.Errorf("%s: %v, want ErrBadToken", tt.name, err)
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
