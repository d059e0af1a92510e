package profile

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/antchfx/htmlquery"
	"github.com/antchfx/xpath"
	"golang.org/x/net/html"

	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

// Value is a field's typed value; the field of its Type is set.
type Value struct {
	Type Type `json:"type"`
	// Text is the normalised text the value was parsed from (the URL
	// resolved, for url).
	Text  string   `json:"text"`
	Int   int64    `json:"int,omitempty"`
	Float float64  `json:"float,omitempty"`
	List  []string `json:"list,omitempty"`
}

// Item is one extracted item.
type Item struct {
	// Index is the item's position on its page, from 0.
	Index int `json:"index"`
	// Fields holds the fields found; a missing optional field is absent.
	Fields map[string]Value `json:"fields"`
}

// Skip is an item left out, and why.
type Skip struct {
	Index  int    `json:"index"`
	Reason string `json:"reason"`
}

// Page is what Extract found on one page.
type Page struct {
	Items []Item `json:"items"`
	Skips []Skip `json:"skips,omitempty"`
	// Next is the absolute http(s) URL of the next page, or "".
	Next string `json:"next,omitempty"`
}

// Extract reads the items of doc, a page fetched from pageURL. Every item
// the items expression selects is in Items or in Skips.
func (p *Profile) Extract(doc *html.Node, pageURL *url.URL) Page {
	base := baseURL(doc, pageURL)
	var page Page
	for i, n := range p.items.nodes(doc) {
		it := Item{Index: i, Fields: make(map[string]Value, len(p.fields))}
		if reason := extractFields(p.fields, n, base, it.Fields); reason != "" {
			page.Skips = append(page.Skips, Skip{Index: i, Reason: reason})
			continue
		}
		page.Items = append(page.Items, it)
	}
	if p.next != nil {
		if t, ok := p.next.first(doc); ok {
			if u, err := resolve(base, t); err == nil {
				page.Next = u
			}
		}
	}
	return page
}

// DetailURL returns the detail page URL of it, if the profile has a detail
// page and it has the link field.
func (p *Profile) DetailURL(it Item) (string, bool) {
	if p.spec.Detail == nil {
		return "", false
	}
	v, ok := it.Fields[p.spec.Detail.Link]
	return v.Text, ok
}

// ExtractDetail adds the detail fields found on doc, fetched from pageURL,
// to it. The reason is non-empty when the item must be skipped (a required
// field is missing, a value does not parse).
func (p *Profile) ExtractDetail(doc *html.Node, pageURL *url.URL, it *Item) (reason string) {
	return extractFields(p.detail, doc, baseURL(doc, pageURL), it.Fields)
}

// MissingDetail records that it's detail page could not be read (why): the
// item is skipped if the detail page has a required field, else it goes on
// without the detail fields.
func (p *Profile) MissingDetail(why string) (reason string) {
	for _, f := range p.detail {
		if f.Required {
			return fmt.Sprintf("detail page: %s (required field %q)", why, f.Name)
		}
	}
	return ""
}

// ID renders the id template for it: "" when the profile has none. The
// reason is non-empty when the template names a field it lacks.
func (p *Profile) ID(it Item) (id, reason string) {
	var b strings.Builder
	for _, part := range p.id {
		if part.field == "" {
			b.WriteString(part.literal)
			continue
		}
		v, ok := it.Fields[part.field]
		if !ok {
			return "", fmt.Sprintf("id: missing field %q", part.field)
		}
		b.WriteString(v.Text)
	}
	return b.String(), ""
}

// extractFields evaluates fields against n into out; it returns why the
// item must be skipped, or "".
func extractFields(fields []field, n *html.Node, base *url.URL, out map[string]Value) string {
	for i := range fields {
		f := &fields[i]
		v, ok, err := f.value(n, base)
		switch {
		case err != nil:
			return fmt.Sprintf("field %q: %v", f.Name, err)
		case !ok && f.Required:
			return fmt.Sprintf("missing required field %q", f.Name)
		case ok:
			out[f.Name] = v
		}
	}
	return ""
}

// value evaluates the field on n. ok is false when the field is missing.
func (f *field) value(n *html.Node, base *url.URL) (v Value, ok bool, err error) {
	v.Type = f.Type
	if f.Type == List {
		for _, t := range f.expr.texts(n) {
			if t, ok := f.normalise(t); ok {
				v.List = append(v.List, t)
			}
		}
		if len(v.List) == 0 {
			return v, false, nil
		}
		v.Text = strings.Join(v.List, ", ")
		return v, true, nil
	}
	t, found := f.expr.first(n)
	if !found {
		return v, false, nil
	}
	if t, ok = f.normalise(t); !ok {
		return v, false, nil
	}
	v.Text = t
	switch f.Type {
	case Int:
		v.Int, err = parseInt(t)
	case Float:
		v.Float, err = parseFloat(t)
	case URL:
		v.Text, err = resolve(base, t)
	}
	if err != nil {
		return v, false, err
	}
	return v, true, nil
}

// normalise cleans t (see clean), then applies the field's normalisations
// and pattern; ok is false when nothing is left.
func (f *field) normalise(t string) (string, bool) {
	t = clean(t)
	if f.trim {
		t = strings.TrimSpace(t)
	}
	if f.collapse {
		t = collapse(t)
	}
	if f.pattern != nil {
		m := f.pattern.FindStringSubmatch(t)
		if m == nil {
			return "", false
		}
		t = m[1]
	}
	return t, t != ""
}

// clean makes t one line of plain text, whatever the page holds: invalid
// UTF-8 becomes U+FFFD; tabs and line breaks (U+0009–U+000D, U+0085,
// U+2028, U+2029) become a space, so they collapse like any white space;
// every other C0 and C1 control character (U+0000–U+001F, U+007F–U+009F)
// and the bidirectional formatting characters (the embeddings and
// overrides U+202A–U+202E, the isolates U+2066–U+2069, the marks U+200E,
// U+200F and U+061C) are removed. Those are what can recolour a terminal
// (ESC) or make text display differently from what it is ("exe.gnp"
// shown as "png.exe"); the printable rest of an escape sequence ("[31m")
// stays, inert. It returns t itself when there is nothing to change.
func clean(t string) string {
	if isClean(t) {
		return t
	}
	t = strings.ToValidUTF8(t, "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch {
		case lineSpace(r):
			return ' '
		case removed(r):
			return -1
		}
		return r
	}, t)
}

// isClean reports whether clean would leave t as it is: valid UTF-8 with
// no rune clean replaces or removes. Plain ASCII text is decided a byte at
// a time.
func isClean(t string) bool {
	for i := 0; i < len(t); {
		c := t[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(t[i:])
		if (r == utf8.RuneError && size == 1) || lineSpace(r) || removed(r) {
			return false
		}
		i += size
	}
	return true
}

// lineSpace reports whether r is a tab or a line break, which clean turns
// into a space.
func lineSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', '\u0085', '\u2028', '\u2029':
		return true
	}
	return false
}

// removed reports whether clean drops r: a C0 or C1 control character or a
// bidirectional formatting character.
func removed(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}

// collapse turns every run of white space into one space.
func collapse(s string) string {
	if !needsCollapse(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}

// needsCollapse reports whether s has white space other than single
// spaces.
func needsCollapse(s string) bool {
	prev := false
	for _, r := range s {
		sp := unicode.IsSpace(r)
		if sp && (r != ' ' || prev) {
			return true
		}
		prev = sp
	}
	return false
}

// parseInt reads a decimal integer, ignoring digit group separators.
func parseInt(t string) (int64, error) {
	s := strings.TrimSpace(t)
	if strings.ContainsAny(s, ",_\u00a0\u202f ") {
		s = strings.Map(func(r rune) rune {
			switch r {
			case ',', '_', '\u00a0', '\u202f', ' ':
				return -1
			}
			return r
		}, s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", text.Clip(t, maxQuoted))
	}
	return n, nil
}

// parseFloat reads a decimal number; a lone "," is a decimal comma.
func parseFloat(t string) (float64, error) {
	s := strings.TrimSpace(t)
	if !strings.Contains(s, ".") && strings.Count(s, ",") == 1 {
		s = strings.Replace(s, ",", ".", 1)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || strings.ContainsAny(s, "xXpPnN") {
		return 0, fmt.Errorf("%q is not a number", text.Clip(t, maxQuoted))
	}
	return f, nil
}

// resolve makes ref absolute against base and accepts only http(s).
func resolve(base *url.URL, ref string) (string, error) {
	r, err := url.Parse(strings.TrimSpace(ref))
	if err != nil {
		return "", fmt.Errorf("%q is not a URL", text.Clip(ref, maxQuoted))
	}
	u := base.ResolveReference(r)
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http(s) URL", text.Clip(ref, maxQuoted))
	}
	u.Fragment = ""
	return u.String(), nil
}

// baseURL is the page's URL, or its <base href> resolved against it.
func baseURL(doc *html.Node, pageURL *url.URL) *url.URL {
	if b := findBase(doc, 0); b != "" {
		if r, err := url.Parse(strings.TrimSpace(b)); err == nil {
			if u := pageURL.ResolveReference(r); u.Scheme == "http" || u.Scheme == "https" {
				return u
			}
		}
	}
	return pageURL
}

// findBase returns the href of the first <base> inside <head>; HTML
// parsers put it there, so the search stays shallow.
func findBase(n *html.Node, depth int) string {
	if depth > 3 {
		return ""
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type != html.ElementNode {
			if c.Type == html.DocumentNode {
				return findBase(c, depth+1)
			}
			continue
		}
		switch c.Data {
		case "html", "head":
			if h := findBase(c, depth+1); h != "" {
				return h
			}
		case "base":
			for _, a := range c.Attr {
				if a.Key == "href" {
					return a.Val
				}
			}
		}
	}
	return ""
}

// nodes returns the element nodes the expression selects under n.
func (e *expr) nodes(n *html.Node) []*html.Node {
	if e.simple != nil && e.simple.attr == "" {
		var out []*html.Node
		e.simple.each(n, func(m *html.Node, _ int) bool {
			out = append(out, m)
			return true
		})
		return out
	}
	it := e.x.Select(htmlquery.CreateXPathNavigator(n))
	var out []*html.Node
	for it.MoveNext() {
		if nav, ok := it.Current().(*htmlquery.NodeNavigator); ok {
			out = append(out, nav.Current())
		}
	}
	return out
}

// eval evaluates the expression at n: a node iterator, a string, a number
// or a boolean.
func (e *expr) eval(n *html.Node) any {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.x.Evaluate(htmlquery.CreateXPathNavigator(n))
}

// first returns the text of the expression's first node, or its computed
// value; found is false for an empty node set.
func (e *expr) first(n *html.Node) (text string, found bool) {
	if e.simple != nil {
		e.simple.each(n, func(m *html.Node, ai int) bool {
			text, found = e.simple.text(m, ai), true
			return false
		})
		return text, found
	}
	switch v := e.eval(n).(type) {
	case *xpath.NodeIterator:
		if v.MoveNext() {
			return v.Current().Value(), true
		}
		return "", false
	case string:
		return v, true
	case float64:
		if math.IsNaN(v) {
			return "", false
		}
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// texts returns the text of every node the expression selects, or its one
// computed value.
func (e *expr) texts(n *html.Node) []string {
	if e.simple != nil {
		var out []string
		e.simple.each(n, func(m *html.Node, ai int) bool {
			out = append(out, e.simple.text(m, ai))
			return true
		})
		return out
	}
	v := e.eval(n)
	it, ok := v.(*xpath.NodeIterator)
	if !ok {
		if t, found := e.first(n); found {
			return []string{t}
		}
		return nil
	}
	var out []string
	for it.MoveNext() {
		out = append(out, it.Current().Value())
	}
	return out
}
