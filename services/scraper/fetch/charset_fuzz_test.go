package fetch

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
)

// FuzzDecodeHTML feeds any body and Content-Type to the decoding of a page:
// it never panics; a decoded page is valid UTF-8 within the cap, named by a
// canonical encoding; a valid UTF-8 page that declares nothing else comes
// back byte for byte; and a failure is an ErrCharset or ErrTooLarge whose
// message (it reaches logs and scrape.completed) is short, valid UTF-8 and
// free of control characters.
func FuzzDecodeHTML(f *testing.F) {
	for _, s := range []struct{ body, ctype string }{
		{"<p>Am\xe9lie \xe0 Paris</p>", "text/html; charset=iso-8859-1"},
		{"<meta charset=koi8-r><p>\xf0\xd2\xc9\xd7\xc5\xd4</p>", "text/html"},
		{`<meta http-equiv="content-type" content="text/html; charset='shift_jis'">` + "\x8e\xb5", "text/html"},
		{"\xff\xfe<\x00p\x00>\x00", "text/html"},
		{"\xfe\xff\x00<\x00p", "text/html; charset=utf-8"},
		{"\xef\xbb\xbf<p>caf\xc3\xa9</p>", "text/html; charset=windows-1252"},
		{"<p>caf\xc3\xa9</p>", ""},
		{"<p>\x80\x81\x82</p>", "text/html"},
		{"<p>x</p>", "text/html; charset=x-klingon"},
		{"<p>x</p>", "text/html; charset=iso-2022-kr"},
		{"<meta charset=\"\x1b[31m\">", "text/html"},
		{"<meta charset=utf-16><p>\xc3\xa9</p>", "text/html"},
		{"<meta charset=x-user-defined><p>\x80</p>", "text/html"},
		{"\x1b$B\x30\x21\x1b(B", "text/html; charset=iso-2022-jp"},
		{strings.Repeat("\x80", 300), "text/html; charset=windows-1252"},
	} {
		f.Add([]byte(s.body), s.ctype, uint16(1024))
	}
	f.Fuzz(func(t *testing.T, body []byte, ctype string, capacity uint16) {
		limit := int64(capacity) + 1
		if int64(len(body)) > limit {
			body = body[:limit] // the fetcher never decodes more than the cap
		}
		in := bytes.Clone(body)
		out, name, err := decodeHTML(body, ctype, limit)
		if !bytes.Equal(in, body) {
			t.Fatalf("decodeHTML changed its input")
		}
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || (!errors.Is(err, ErrCharset) && !errors.Is(err, ErrTooLarge)) {
				t.Fatalf("decodeHTML(%q, %q): %v; want an ErrCharset or ErrTooLarge *Error", body, ctype, err)
			}
			if msg := err.Error(); len(msg) > 400 || !utf8.ValidString(msg) || strings.ContainsFunc(msg, unicode.IsControl) {
				t.Errorf("message %q: want at most 400 bytes of valid UTF-8 without control characters", msg)
			}
			return
		}
		if !utf8.Valid(out) || int64(len(out)) > limit {
			t.Fatalf("decodeHTML(%q, %q) as %s = %q: want valid UTF-8 of at most %d bytes", body, ctype, name, out, limit)
		}
		if e, canonical := charset.Lookup(name); e == nil || canonical != name || name == "replacement" {
			t.Errorf("decodeHTML(%q, %q): encoding %q is not a canonical, decodable name", body, ctype, name)
		}
		if utf8.Valid(body) && !bytes.HasPrefix(body, []byte("\xef\xbb\xbf")) && name == "utf-8" && !bytes.Equal(out, body) {
			t.Errorf("valid UTF-8 %q came back changed: %q", body, out)
		}
	})
}

// TestMetaCharset: the prescan's reading of <meta> declarations.
func TestMetaCharset(t *testing.T) {
	for _, tc := range []struct{ head, want string }{
		{`<meta charset="koi8-r">`, "koi8-r"},
		{`<META CHARSET=Shift_JIS>`, "Shift_JIS"},
		{`<meta http-equiv="Content-Type" content="text/html; charset=euc-jp">`, "euc-jp"},
		{`<meta content='text/html;charset="gbk"' http-equiv=content-type>`, "gbk"},
		{`<meta content="text/html; charset=big5">`, ""}, // no pragma
		{`<meta http-equiv="refresh" content="0; charset=big5">`, ""},
		{`<meta name="x"><meta charset="x-klingon"><meta charset="utf-8">`, "x-klingon"},
		{`<p>text</p>`, ""},
		{`<!-- <meta charset="koi8-r"> --><meta charset=utf-8>`, "utf-8"},
	} {
		if got := metaCharset([]byte(tc.head)); got != tc.want {
			t.Errorf("metaCharset(%q) = %q, want %q", tc.head, got, tc.want)
		}
	}
}
