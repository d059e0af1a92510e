package ui

import (
	"embed"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

//go:embed templates
var templatesFS embed.FS

// pageNames are the page templates; each is parsed with the layout.
var pageNames = []string{"overview", "movies", "movie", "runs", "run", "errors", "error"}

func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templatesFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

var funcs = template.FuncMap{
	"asset":     assetURL,
	"isoTime":   isoTime,
	"timeText":  timeText,
	"int":       formatInt,
	"rating":    formatRating,
	"duration":  formatDuration,
	"runURL":    func(id string) string { return RunsPath + "/" + url.PathEscape(id) },
	"movieURL":  func(id string) string { return MoviesPath + "/" + url.PathEscape(id) },
	"yearURL":   func(y int) string { return pageURL(MoviesPath, paramYear, strconv.Itoa(y)) },
	"statusURL": func(s string) string { return pageURL(RunsPath, paramStatus, s) },
	"errorJSON": func(id string) string { return "/errors/" + url.PathEscape(id) },
	"runJSON":   func(id string) string { return "/runs/" + url.PathEscape(id) },
	"movieJSON": func(id string) string { return "/movies/" + url.PathEscape(id) },
	"num":       num,
	"tail":      tail,
	"add":       func(a, b float64) float64 { return a + b },
	"plural":    plural,
}

// plural is "1 film", "2 films".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return formatInt(n) + " " + many
}

// isoTime is t for a <time datetime>: RFC 3339 in UTC, "" when zero.
func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// timeText is t as the pages show it (the script writes the same form).
func timeText(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// formatInt writes n with thousands separators: 2,000,000.
func formatInt(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func formatRating(r float64) string { return strconv.FormatFloat(r, 'f', 1, 64) }

// formatDuration writes milliseconds for people: "850 ms", "2.4 s", "3 min 5 s".
func formatDuration(ms int64) string {
	switch {
	case ms <= 0:
		return "—"
	case ms < 1000:
		return strconv.FormatInt(ms, 10) + " ms"
	case ms < 60_000:
		return strconv.FormatFloat(float64(ms)/1000, 'f', 1, 64) + " s"
	}
	d := time.Duration(ms) * time.Millisecond
	return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
}

// tail shortens a long identifier (a sequence number) to its last n
// characters.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// PreviewBytes is how much of a failed record's payload the errors page
// shows (the JSON API's GET /errors/{id} has all of it).
const PreviewBytes = 256

// hexPreviewBytes is how much of a binary payload is shown, in hex.
const hexPreviewBytes = 64

// preview is the start of a payload as the page shows it.
type preview struct {
	// Text is the start of a UTF-8 payload, control characters shown as
	// their Unicode control pictures; Hex that of any other payload.
	Text, Hex string
	// Shown and Size count the bytes shown and the payload's bytes.
	Shown, Size int
}

// Cut reports whether the preview shows less than the whole payload.
func (p preview) Cut() bool { return p.Shown < p.Size }

// newPreview is the preview of p, the start of a payload of size bytes:
// text when its first PreviewBytes bytes are UTF-8 (a character that the
// cut splits is left out), else hex.
func newPreview(p []byte, size int) preview {
	head := p[:min(len(p), PreviewBytes)]
	cut := len(head) < max(len(p), size)
	for drop := 0; drop < utf8.UTFMax && drop <= len(head); drop++ {
		h := head[:len(head)-drop]
		if utf8.Valid(h) && (drop == 0 || cut && !utf8.FullRune(head[len(h):])) {
			return preview{Text: controlPictures(string(h)), Shown: len(h), Size: size}
		}
	}
	b := head[:min(len(head), hexPreviewBytes)]
	var s strings.Builder
	for i, c := range b {
		if i > 0 {
			s.WriteByte(' ')
		}
		fmt.Fprintf(&s, "%02x", c)
	}
	return preview{Hex: s.String(), Shown: len(b), Size: size}
}

// controlPictures replaces control characters but newline and tab with
// their pictures (U+2400…) and bidirectional overrides and isolates with
// U+FFFD, so that a payload cannot hide or reorder the text around it.
func controlPictures(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r < 0x20:
			return 0x2400 + r
		case r == 0x7f:
			return 0x2421
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return 0xfffd
		}
		return r
	}, s)
}
