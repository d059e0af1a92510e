package fetch

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// FuzzRetryAfter feeds Retry-After values a hostile server could send. The
// wait must be non-negative and capped (it becomes Error.RetryAfter and the
// scraper's own Retry-After header); a plain number of seconds within the
// cap and an HTTP date are read exactly.
func FuzzRetryAfter(f *testing.F) {
	for _, v := range []string{"", "0", "1", "120", " 3600 ", "-1", "+5", "1.5", "99999999999999999999",
		"Wed, 21 Oct 2015 07:28:00 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "soon"} {
		f.Add(v, int64(0))
	}
	f.Add("Thu, 01 Jan 2026 00:00:10 GMT", int64(-10))
	f.Fuzz(func(t *testing.T, v string, offset int64) {
		// now moves around the dates a server may send, to the second
		// (HTTP dates have no finer unit).
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(offset%(200*365*86400)) * time.Second)
		d := retryAfter(v, now)
		if d < 0 || d > maxRetryAfterHeader {
			t.Fatalf("retryAfter(%q) = %v; want 0..%v", v, d, maxRetryAfterHeader)
		}
		trimmed := strings.TrimSpace(v)
		if secs, err := strconv.ParseInt(trimmed, 10, 64); err == nil {
			want := time.Duration(0)
			if secs > 0 {
				want = time.Duration(min(secs, int64(maxRetryAfterHeader/time.Second))) * time.Second
			}
			if d != want {
				t.Errorf("retryAfter(%q) = %v; want %v", v, d, want)
			}
			return
		}
		if at, err := http.ParseTime(trimmed); err == nil {
			want := time.Duration(0)
			if at.After(now) {
				want = min(at.Sub(now), maxRetryAfterHeader)
			}
			if d != want {
				t.Errorf("retryAfter(%q) at %v = %v; want %v", v, now, d, want)
			}
			return
		}
		if d != 0 {
			t.Errorf("retryAfter(%q) = %v for neither seconds nor a date; want 0", v, d)
		}
	})
}

// FuzzCheckHTML feeds Content-Type values a hostile server could send:
// only the HTML media types pass, whatever their case, spacing and
// parameters; a refusal's message, which reaches logs and scrape.completed,
// is short, valid UTF-8 and free of control characters.
func FuzzCheckHTML(f *testing.F) {
	for _, ct := range []string{"text/html", "text/html; charset=utf-8", "TEXT/HTML;charset=\"utf-8\"", "application/xhtml+xml",
		" text/html ", "text/htmlx", "text/plain", "application/json", "text/html; charset", "text/html;;", "", ";",
		"text/html\r\nSet-Cookie: x=1", "text/html\x00", "text/\u00e9html", strings.Repeat("text/html;a=b", 300)} {
		f.Add(ct)
	}
	f.Fuzz(func(t *testing.T, ct string) {
		err := checkHTML(ct)
		// An independent reading of the media type: the part before any
		// parameter, trimmed, without case.
		mt, _, _ := strings.Cut(ct, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		if err == nil {
			if mt != "text/html" && mt != "application/xhtml+xml" {
				t.Fatalf("checkHTML(%q) passed media type %q", ct, mt)
			}
			return
		}
		msg := err.Error()
		if len(msg) > 600 || !utf8.ValidString(msg) || strings.ContainsFunc(msg, unicode.IsControl) {
			t.Errorf("checkHTML(%q): message %q: want at most 600 bytes of valid UTF-8 without control characters", ct, msg)
		}
		if strings.EqualFold(strings.TrimSpace(ct), "text/html") {
			t.Errorf("checkHTML(%q) refused plain text/html: %v", ct, err)
		}
	})
}
