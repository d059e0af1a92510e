package fetch

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/transform"

	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

// CharsetError is the detail of an ErrCharset: which label could not be
// decoded and where the page declared it.
type CharsetError struct {
	// Label is the declared label as the page wrote it.
	Label string
	// From is where it was declared: "the Content-Type header" or "a
	// <meta> element".
	From string
	// Replacement is set when the label is known but names an encoding
	// that the Encoding Standard decodes to a single U+FFFD (ISO-2022-KR,
	// HZ-GB-2312, …): nothing of the page would be left.
	Replacement bool
}

// Error names the label (quoted: it is the server's text) and where it came
// from.
func (e *CharsetError) Error() string {
	why := "not an encoding the scraper knows"
	if e.Replacement {
		why = "an encoding that decodes to nothing but U+FFFD"
	}
	return fmt.Sprintf("charset %q (declared in %s) is %s", text.Clip(e.Label, maxQuoted), e.From, why)
}

// Where a page's encoding may be declared.
const (
	fromHeader = "the Content-Type header"
	fromMeta   = "a <meta> element"
)

// prescanBytes is how much of a page the <meta> prescan reads (the HTML
// standard's 1024 bytes).
const prescanBytes = 1024

// decodeHTML returns body, an HTML page served with Content-Type ctype, as
// UTF-8, and the canonical name of the encoding it was decoded from. The
// encoding is found as the HTML standard's sniffing algorithm finds it: a
// byte order mark (UTF-8, UTF-16LE, UTF-16BE; it is removed), else the
// charset parameter of ctype, else a <meta charset> or <meta http-equiv>
// in the first 1024 bytes (a meta naming UTF-16 means UTF-8, since the
// prescan could read it as ASCII), else UTF-8 if the whole body is valid
// UTF-8, else windows-1252 (what browsers assume for an undeclared legacy
// page).
//
// Unlike a browser, which ignores a label it does not know, decodeHTML
// fails with an ErrCharset (a *CharsetError detail) for a declared label
// that is unknown or that names the replacement encoding: such a page
// cannot be read faithfully, and a clear error beats mangled text. It
// fails with ErrTooLarge when the UTF-8 text would exceed limit bytes: a
// legacy byte can become up to three UTF-8 bytes, and the cap holds after
// decoding as it does after gzip. Valid UTF-8 comes back as it is, without
// a copy. The errors are *Error without a URL; the caller sets it.
func decodeHTML(body []byte, ctype string, limit int64) ([]byte, string, error) {
	enc, name, body, err := determineEncoding(body, ctype)
	if err != nil {
		return nil, "", &Error{Kind: ErrCharset, Err: err}
	}
	if name == "utf-8" && utf8.Valid(body) {
		return body, name, nil
	}
	size := min(int64(len(body))+int64(len(body))/8+512, limit+1)
	buf := bytes.NewBuffer(make([]byte, 0, size))
	r := transform.NewReader(bytes.NewReader(body), enc.NewDecoder())
	if _, err := buf.ReadFrom(io.LimitReader(r, limit+1)); err != nil {
		return nil, "", &Error{Kind: ErrCharset, Err: fmt.Errorf("decode %s: %w", name, err)}
	}
	if int64(buf.Len()) > limit {
		return nil, "", &Error{Kind: ErrTooLarge, Err: fmt.Errorf("decoded from %s, the body exceeds the %d-byte cap", name, limit)}
	}
	return buf.Bytes(), name, nil
}

// boms are the byte order marks that decide a page's encoding.
var boms = []struct {
	bom  string
	name string
}{
	{"\xef\xbb\xbf", "utf-8"},
	{"\xfe\xff", "utf-16be"},
	{"\xff\xfe", "utf-16le"},
}

// determineEncoding finds body's encoding (see decodeHTML) and returns it
// with its canonical name and body without its byte order mark. The error
// is a *CharsetError.
func determineEncoding(body []byte, ctype string) (encoding.Encoding, string, []byte, error) {
	for _, b := range boms {
		if bytes.HasPrefix(body, []byte(b.bom)) {
			e, name := charset.Lookup(b.name)
			return e, name, body[len(b.bom):], nil
		}
	}
	if _, params, err := mime.ParseMediaType(ctype); err == nil {
		if label := strings.TrimSpace(params["charset"]); label != "" {
			e, name, err := lookup(label, fromHeader)
			return e, name, body, err
		}
	}
	if label := metaCharset(body[:min(len(body), prescanBytes)]); label != "" {
		e, name, err := lookup(label, fromMeta)
		switch name {
		case "utf-16be", "utf-16le":
			e, name = charset.Lookup("utf-8")
		case "x-user-defined":
			e, name = charset.Lookup("windows-1252")
		}
		return e, name, body, err
	}
	if utf8.Valid(body) {
		e, name := charset.Lookup("utf-8")
		return e, name, body, nil
	}
	e, name := charset.Lookup("windows-1252")
	return e, name, body, nil
}

// lookup resolves a declared label, refusing unknown ones and the
// replacement encoding.
func lookup(label, from string) (encoding.Encoding, string, error) {
	e, name := charset.Lookup(label)
	switch {
	case e == nil:
		return nil, "", &CharsetError{Label: label, From: from}
	case name == "replacement":
		return nil, "", &CharsetError{Label: label, From: from, Replacement: true}
	}
	return e, name, nil
}

// metaCharset returns the label that the first <meta> declaring an
// encoding in head names, or "": <meta charset="…">, or <meta
// http-equiv="content-type" content="…; charset=…">, as the HTML
// standard's prescan reads them (golang.org/x/net/html/charset's prescan,
// which skips labels it does not know instead of returning them).
func metaCharset(head []byte) string {
	z := html.NewTokenizer(bytes.NewReader(head))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			tag, hasAttr := z.TagName()
			if string(tag) != "meta" {
				continue
			}
			seen := map[string]bool{}
			var label, fromContent string
			pragma := false
			for hasAttr {
				var key, val []byte
				key, val, hasAttr = z.TagAttr()
				k := string(key)
				if seen[k] {
					continue
				}
				seen[k] = true
				switch k {
				case "http-equiv":
					pragma = strings.EqualFold(string(val), "content-type")
				case "content":
					fromContent = contentCharset(string(val))
				case "charset":
					label = string(val)
				}
			}
			switch {
			case strings.TrimSpace(label) != "":
				return label
			case pragma && strings.TrimSpace(fromContent) != "":
				return fromContent
			}
		}
	}
}

// contentCharset extracts the charset from a meta content attribute
// ("text/html; charset=koi8-r"), as the HTML standard's algorithm for
// extracting a character encoding from a meta element does.
func contentCharset(s string) string {
	for {
		i := strings.Index(strings.ToLower(s), "charset")
		if i < 0 {
			return ""
		}
		s = strings.TrimLeft(s[i+len("charset"):], " \t\n\f\r")
		if !strings.HasPrefix(s, "=") {
			continue
		}
		s = strings.TrimLeft(s[1:], " \t\n\f\r")
		if s == "" {
			return ""
		}
		if q := s[0]; q == '"' || q == '\'' {
			if end := strings.IndexByte(s[1:], q); end >= 0 {
				return s[1 : 1+end]
			}
			return ""
		}
		if end := strings.IndexAny(s, "; \t\n\f\r"); end >= 0 {
			return s[:end]
		}
		return s
	}
}
