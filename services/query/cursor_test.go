package query

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

var testKey = bytes.Repeat([]byte{7}, CursorKeySize)

func TestCursorRoundTrip(t *testing.T) {
	c := newCursorSigner(testKey)
	for _, token := range []store.PageToken{{0}, []byte(`{"id":{"S":"x"}}`), bytes.Repeat([]byte{0xff}, 500)} {
		cur := c.seal("GET /movies?year=1994", token)
		if strings.ContainsAny(cur, "+/=") {
			t.Errorf("cursor %q is not unpadded base64url", cur)
		}
		got, err := c.open("GET /movies?year=1994", cur)
		if err != nil {
			t.Fatalf("open(seal(%q)): %v", token, err)
		}
		if diff := cmp.Diff(token, got); diff != "" {
			t.Errorf("token (-want +got):\n%s", diff)
		}
	}
	if got, err := c.open("GET /movies", ""); err != nil || got != nil {
		t.Errorf(`open("") = %v, %v; want nil, nil (the first page)`, got, err)
	}
}

func TestCursorRefusals(t *testing.T) {
	c := newCursorSigner(testKey)
	const listing = "GET /movies"
	good := c.seal(listing, store.PageToken("token-of-page-2"))
	raw, err := cursorEncoding.DecodeString(good)
	if err != nil {
		t.Fatal(err)
	}
	enc := cursorEncoding.EncodeToString
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return enc(b)
	}
	otherVersion := bytes.Clone(raw)
	otherVersion[0] = 2
	tests := []struct {
		name, listing, cursor string
	}{
		{"other route", "GET /errors", good},
		{"other year filter", "GET /movies?year=1994", good},
		{"filter dropped", listing, c.seal("GET /movies?year=1994", store.PageToken("t"))},
		{"other key", listing, newCursorSigner(bytes.Repeat([]byte{8}, CursorKeySize)).seal(listing, store.PageToken("token-of-page-2"))},
		{"token altered", listing, flip(3)},
		{"mac altered", listing, flip(len(raw) - 1)},
		{"version altered", listing, enc(otherVersion)},
		{"truncated by a byte", listing, enc(raw[:len(raw)-1])},
		{"truncated text", listing, good[:len(good)-2]},
		{"mac only", listing, enc(raw[len(raw)-32:])},
		{"made up token, no mac", listing, enc(append([]byte{cursorVersion}, `{"id":{"S":"admin"}}`...))},
		{"padded", listing, good + "="},
		{"standard base64", listing, strings.NewReplacer("-", "+", "_", "/").Replace(good) + "+/"},
		{"not base64", listing, "!!!"},
		{"whitespace", listing, " " + good},
		{"too long", listing, strings.Repeat("A", maxCursorLen+1)},
		{"empty token", listing, enc(c.mac([]byte{cursorVersion}, listing, nil))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := c.open(tt.listing, tt.cursor)
			var he *httpx.Error
			if !errors.As(err, &he) || he.Status != 400 || he.Code != httpx.CodeBadCursor {
				t.Fatalf("open = %q, %v; want a 400 bad_cursor", tok, err)
			}
		})
	}
}
