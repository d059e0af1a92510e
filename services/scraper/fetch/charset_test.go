package fetch_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html/charset"

	"github.com/scrape-pipeline/scrape-pipeline/services/scraper/fetch"
)

// encode returns s in the named encoding (runes it lacks as HTML character
// references, as charset.Lookup's encoders write them).
func encode(t *testing.T, name, s string) []byte {
	t.Helper()
	e, _ := charset.Lookup(name)
	if e == nil {
		t.Fatalf("no encoding %q", name)
	}
	b, err := e.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("encode %q as %s: %v", s, name, err)
	}
	return b
}

// TestCharsets: every page reaches the caller as UTF-8, whatever encoding
// the server used and wherever it declared it; an encoding that cannot be
// decoded is an ErrCharset naming it, never mangled text.
func TestCharsets(t *testing.T) {
	const title = "Amélie à Paris - 7€ « ok »"
	doc := func(head string) string {
		return "<!doctype html><html><head>" + head + "<title>t</title></head><body><h1>" + title + "</h1></body></html>"
	}
	utf16 := func(bom []byte, name string) []byte {
		return append(append([]byte{}, bom...), encode(t, name, doc(""))...)
	}
	type page struct {
		ctype string
		body  []byte
		gzip  bool
	}
	tests := []struct {
		name        string
		page        page
		maxBytes    int64
		wantCharset string
		wantText    string // the body must contain it
		wantKind    error
		wantMessage string // the error must contain it
	}{
		{name: "ISO-8859-1 from the header", page: page{ctype: "text/html; charset=iso-8859-1", body: encode(t, "windows-1252", doc(""))},
			wantCharset: "windows-1252", wantText: title},
		{name: "the header wins over a contradicting meta", page: page{ctype: "text/html; charset=ISO-8859-1", body: encode(t, "windows-1252", doc(`<meta charset="utf-8">`))},
			wantCharset: "windows-1252", wantText: title},
		{name: "quoted header label", page: page{ctype: `text/html; charset="latin1"`, body: encode(t, "windows-1252", doc(""))},
			wantCharset: "windows-1252", wantText: title},
		{name: "meta charset", page: page{ctype: "text/html", body: encode(t, "iso-8859-15", doc(`<meta charset="iso-8859-15">`))},
			wantCharset: "iso-8859-15", wantText: title},
		{name: "meta http-equiv", page: page{ctype: "text/html", body: encode(t, "koi8-r", doc(`<meta http-equiv="Content-Type" content="text/html; charset=KOI8-R">`)+"Привет")},
			wantCharset: "koi8-r", wantText: "Привет"},
		{name: "Shift_JIS from the header", page: page{ctype: "text/html; charset=Shift_JIS", body: encode(t, "shift_jis", doc("")+"七人の侍")},
			wantCharset: "shift_jis", wantText: "七人の侍"},
		{name: "undeclared UTF-8 is sniffed", page: page{ctype: "text/html", body: []byte(doc(""))},
			wantCharset: "utf-8", wantText: title},
		{name: "undeclared legacy bytes are windows-1252", page: page{ctype: "text/html", body: encode(t, "windows-1252", doc(""))},
			wantCharset: "windows-1252", wantText: title},
		{name: "a UTF-8 BOM wins over the header", page: page{ctype: "text/html; charset=iso-8859-1", body: append([]byte("\xef\xbb\xbf"), doc("")...)},
			wantCharset: "utf-8", wantText: title},
		{name: "UTF-16LE with a BOM", page: page{ctype: "text/html", body: utf16([]byte{0xff, 0xfe}, "utf-16le")},
			wantCharset: "utf-16le", wantText: title},
		{name: "UTF-16BE with a BOM", page: page{ctype: "text/html; charset=windows-1252", body: utf16([]byte{0xfe, 0xff}, "utf-16be")},
			wantCharset: "utf-16be", wantText: title},
		{name: "UTF-16 from the header without a BOM", page: page{ctype: "text/html; charset=utf-16", body: encode(t, "utf-16le", doc(""))},
			wantCharset: "utf-16le", wantText: title},
		{name: "a meta naming UTF-16 means UTF-8", page: page{ctype: "text/html", body: []byte(doc(`<meta charset="utf-16">`))},
			wantCharset: "utf-8", wantText: title},
		{name: "gzip, then ISO-8859-1", page: page{ctype: "text/html; charset=iso-8859-1", body: encode(t, "windows-1252", doc("")), gzip: true},
			wantCharset: "windows-1252", wantText: title},
		{name: "UTF-8 with bad bytes gets U+FFFD", page: page{ctype: "text/html; charset=utf-8", body: []byte(doc("") + "a\xffb")},
			wantCharset: "utf-8", wantText: "a\ufffdb"},
		{name: "an unknown header label", page: page{ctype: "text/html; charset=x-klingon", body: []byte(doc(""))},
			wantKind: fetch.ErrCharset, wantMessage: `"x-klingon"`},
		{name: "a label decoded only to U+FFFD", page: page{ctype: "text/html; charset=iso-2022-kr", body: []byte(doc(""))},
			wantKind: fetch.ErrCharset, wantMessage: `"iso-2022-kr"`},
		{name: "an unknown meta label", page: page{ctype: "text/html", body: []byte(doc(`<meta charset="utf-7">`))},
			wantKind: fetch.ErrCharset, wantMessage: `"utf-7"`},
		{name: "decoding cannot grow past the cap", maxBytes: 1000,
			page:     page{ctype: "text/html; charset=windows-1252", body: bytes.Repeat([]byte{0x80}, 600)}, // € is 3 bytes in UTF-8
			wantKind: fetch.ErrTooLarge, wantMessage: "windows-1252"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/robots.txt" {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Type", tc.page.ctype)
				if !tc.page.gzip {
					w.Write(tc.page.body)
					return
				}
				if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
					t.Error("gzip not asked for")
				}
				w.Header().Set("Content-Encoding", "gzip")
				zw := gzip.NewWriter(w)
				zw.Write(tc.page.body)
				zw.Close()
			}))
			defer srv.Close()
			f := newFetcher(t, fast(func(o *fetch.Options) { o.MaxBytes = tc.maxBytes }))
			got, err := f.Fetch(t.Context(), fetch.Request{URL: srv.URL + "/page"})
			if tc.wantKind != nil {
				var fe *fetch.Error
				if !errors.As(err, &fe) || !errors.Is(err, tc.wantKind) || !strings.Contains(err.Error(), tc.wantMessage) || fe.URL != srv.URL+"/page" {
					t.Fatalf("Fetch: %v, %v; want a *fetch.Error %q for %s naming %s", got, err, tc.wantKind, srv.URL+"/page", tc.wantMessage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantCharset, got.Charset); diff != "" {
				t.Errorf("Charset (-want +got):\n%s", diff)
			}
			if !bytes.Contains(got.Body, []byte(tc.wantText)) {
				t.Errorf("body %q does not hold %q", got.Body, tc.wantText)
			}
			if bytes.HasPrefix(got.Body, []byte("\xef\xbb\xbf")) || bytes.HasPrefix(got.Body, []byte("\ufeff")) {
				t.Errorf("body keeps its byte order mark: %.20q", got.Body)
			}
		})
	}
}
