// Package profile holds extraction profiles: which elements of a page are
// items and which XPath gives each field, as data (JSON) instead of code.
// A new site is a new profile.
//
// A profile is decoded and checked once, at start-up, by Parse (or Builtin
// for the embedded ones): every problem is listed at once, and every XPath
// expression and pattern is compiled there, never per page. Extraction then
// cannot fail as a whole: each item either comes out typed or with the
// reason it was skipped.
//
// # JSON
//
//	{
//	  "name": "movies",
//	  "items": "//ol[@class='chart-list']/li[@class='chart-item']",
//	  "id": "{siteId}",
//	  "fields": [
//	    {"name": "siteId", "xpath": "@data-film-id", "type": "string", "required": true},
//	    {"name": "title", "xpath": ".//a[@class='film-link']", "type": "string",
//	     "required": true, "normalise": ["trim", "collapse"]},
//	    {"name": "runtime", "xpath": ".//span[@class='runtime']", "type": "int",
//	     "pattern": "(\\d+) min"}
//	  ],
//	  "next": {"xpath": "//a[@rel='next']/@href", "maxPages": 5},
//	  "detail": {"link": "detailUrl", "concurrency": 4, "fields": [ … ]}
//	}
//
// items selects the item elements of a page. Each field's xpath is
// evaluated relative to its item (so it must not start with "/"); it may
// select nodes (the first one's text, or an attribute's value, is the
// field's text; a list takes every node) or compute a string or number
// (normalize-space(…), count(…)). Every text, whatever the field, is first
// made one line of plain text: tabs and line breaks become spaces, and the
// C0 and C1 control characters (ESC and the rest) and the bidirectional
// formatting characters (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F,
// U+061C) are removed, so that no stored title can drive a terminal or
// display as something it is not. normalise then applies "trim" (leading
// and trailing white space) and "collapse" (inner runs of white space to
// one space) in that order; pattern, a regular expression with one group,
// picks the part of the text to keep. The type then parses the text:
//
//	string  the text
//	int     a decimal integer; ",", "_" and thin or no-break spaces between digits are ignored ("2,791,067")
//	float   a decimal number ("9.3"; "9,3" when there is no ".")
//	url     an http(s) URL, resolved against the page's URL (and its <base href>)
//	list    the text of every selected node, empty ones dropped
//
// An empty text is a missing field: a required one skips the item, an
// optional one is left out. A text the type cannot parse skips the item
// (a number that is not one is an error of the page, not a blank).
//
// id is a template of the item's id: "{name}" is replaced by the field's
// text; an item missing a field the template names is skipped. next
// selects the next page's link on a page; maxPages bounds how many pages a
// run follows (1 to MaxPages). detail, when present, follows the url field
// named by link to a detail page, where fields are evaluated against the
// whole document (absolute XPaths are fine there), at most concurrency
// pages at a time.
package profile

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/antchfx/xpath"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

// Limits of a profile.
const (
	// MaxPages is the most pages a profile may follow in one run.
	MaxPages = 100
	// MaxConcurrency is the most detail pages fetched at once.
	MaxConcurrency = contract.MaxDetailConcurrency
	// MaxSize is the largest profile JSON accepted.
	MaxSize = 64 << 10
	// MaxFields is the most fields of a profile (items and detail).
	MaxFields = 64
)

// Type is the type of a field's value.
type Type string

// Field types.
const (
	String Type = "string"
	Int    Type = "int"
	Float  Type = "float"
	URL    Type = "url"
	List   Type = "list"
)

var types = []Type{String, Int, Float, URL, List}

// Normalisations.
const (
	Trim     = "trim"
	Collapse = "collapse"
)

// Spec is a profile as JSON, before it is checked and compiled.
type Spec struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	Items       string      `json:"items"`
	ID          string      `json:"id,omitempty"`
	Fields      []FieldSpec `json:"fields"`
	Next        *NextSpec   `json:"next,omitempty"`
	Detail      *DetailSpec `json:"detail,omitempty"`
}

// FieldSpec is one field of an item.
type FieldSpec struct {
	Name      string   `json:"name"`
	XPath     string   `json:"xpath"`
	Type      Type     `json:"type"`
	Required  bool     `json:"required,omitempty"`
	Normalise []string `json:"normalise,omitempty"`
	Pattern   string   `json:"pattern,omitempty"`
}

// NextSpec says how to find the next page.
type NextSpec struct {
	XPath    string `json:"xpath"`
	MaxPages int    `json:"maxPages"`
}

// DetailSpec says which detail page to follow per item and what to read
// there.
type DetailSpec struct {
	// Link names the item's url field that leads to the detail page.
	Link        string      `json:"link"`
	Concurrency int         `json:"concurrency"`
	Fields      []FieldSpec `json:"fields"`
}

// Profile is a checked, compiled profile. It is immutable and safe for
// concurrent use.
type Profile struct {
	spec   Spec
	items  *expr
	fields []field
	detail []field
	next   *expr
	id     []idPart
	byName map[string]*field
}

// field is a compiled FieldSpec.
type field struct {
	FieldSpec
	expr     *expr
	pattern  *regexp.Regexp
	trim     bool
	collapse bool
}

// expr is a compiled XPath expression. xpath.Expr.Evaluate mutates the
// expression's state, so evaluations of one expression are serialised;
// node-set results are iterated on a clone, outside the lock.
type expr struct {
	mu sync.Mutex
	x  *xpath.Expr
	// simple, when the expression has one of its shapes, evaluates it
	// without antchfx/xpath.
	simple *simplePath
}

// idPart is a literal of the id template, or a field reference.
type idPart struct {
	literal string
	field   string
}

// Parse decodes a profile from JSON and checks it. The error lists every
// problem found (errors.Join), each naming where it is.
func Parse(data []byte) (*Profile, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("profile: %d bytes exceeds %d", len(data), MaxSize)
	}
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("profile: decode: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("profile: decode: data after the JSON object")
	}
	return Compile(s)
}

// Compile checks s and compiles it. The error lists every problem found.
func Compile(s Spec) (*Profile, error) {
	p := &Profile{spec: s, byName: map[string]*field{}}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if s.Name == "" {
		bad("name: required")
	} else if len(s.Name) > 128 || strings.ContainsFunc(s.Name, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		bad("name: %q must be 1-128 printable characters without spaces", text.Clip(s.Name, maxQuoted))
	}
	if s.Items == "" {
		bad("items: required")
	} else if x, err := compileExpr(s.Items); err != nil {
		bad("items: %v", err)
	} else {
		p.items = x
	}
	if len(s.Fields) == 0 {
		bad("fields: at least one is required")
	}
	detailFields := 0
	if s.Detail != nil {
		detailFields = len(s.Detail.Fields)
	}
	if n := len(s.Fields) + detailFields; n > MaxFields {
		bad("fields: %d exceeds %d", n, MaxFields)
	}
	p.fields = compileFields("fields", s.Fields, true, p.byName, &errs)

	if s.Next != nil {
		if s.Next.XPath == "" {
			bad("next.xpath: required")
		} else if x, err := compileExpr(s.Next.XPath); err != nil {
			bad("next.xpath: %v", err)
		} else {
			p.next = x
		}
		if s.Next.MaxPages < 1 || s.Next.MaxPages > MaxPages {
			bad("next.maxPages: %d not in 1..%d", s.Next.MaxPages, MaxPages)
		}
	}
	if d := s.Detail; d != nil {
		if d.Link == "" {
			bad("detail.link: required (the name of a url field)")
		} else if f := p.byName[d.Link]; f == nil {
			bad("detail.link: no field named %q", text.Clip(d.Link, maxQuoted))
		} else if f.Type != URL {
			bad("detail.link: field %q is a %s, want a url", d.Link, f.Type)
		}
		if d.Concurrency < 1 || d.Concurrency > MaxConcurrency {
			bad("detail.concurrency: %d not in 1..%d", d.Concurrency, MaxConcurrency)
		}
		if len(d.Fields) == 0 {
			bad("detail.fields: at least one is required")
		}
		p.detail = compileFields("detail.fields", d.Fields, false, p.byName, &errs)
	}
	p.id = parseTemplate(s.ID, p.byName, &errs)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("profile %q: %w", text.Clip(s.Name, maxQuoted), err)
	}
	return p, nil
}

func compileFields(where string, specs []FieldSpec, relative bool, byName map[string]*field, errs *[]error) []field {
	fields := make([]field, len(specs))
	for i, fs := range specs {
		at := fmt.Sprintf("%s[%d]", where, i)
		if fs.Name != "" {
			at += " (" + text.Clip(fs.Name, maxQuoted) + ")"
		}
		bad := func(format string, args ...any) {
			*errs = append(*errs, fmt.Errorf(at+": "+format, args...))
		}
		f := field{FieldSpec: fs}
		switch {
		case fs.Name == "":
			bad("name: required")
		case !validName(fs.Name):
			bad("name: want letters, digits and _ only, starting with a letter")
		case byName[fs.Name] != nil:
			bad("name: declared twice")
		}
		if !slices.Contains(types, fs.Type) {
			bad("type: %q, want one of string, int, float, url, list", text.Clip(string(fs.Type), maxQuoted))
		}
		switch x, err := compileExpr(fs.XPath); {
		case fs.XPath == "":
			bad("xpath: required")
		case err != nil:
			bad("xpath: %v", err)
		case relative && strings.HasPrefix(strings.TrimSpace(fs.XPath), "/"):
			bad("xpath: %q is absolute; an item's fields are relative to the item (start with . or @)", text.Clip(fs.XPath, maxQuoted))
		default:
			f.expr = x
		}
		for _, n := range fs.Normalise {
			switch n {
			case Trim:
				f.trim = true
			case Collapse:
				f.collapse = true
			default:
				bad("normalise: %q, want trim or collapse", text.Clip(n, maxQuoted))
			}
		}
		if fs.Pattern != "" {
			re, err := regexp.Compile(fs.Pattern)
			switch {
			case err != nil:
				bad("pattern: %v", err)
			case re.NumSubexp() != 1:
				bad("pattern: %q has %d groups, want exactly one", text.Clip(fs.Pattern, maxQuoted), re.NumSubexp())
			default:
				f.pattern = re
			}
		}
		fields[i] = f
		if fs.Name != "" && byName[fs.Name] == nil {
			byName[fs.Name] = &fields[i]
		}
	}
	return fields
}

func validName(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case (r >= '0' && r <= '9' || r == '_') && i > 0:
		default:
			return false
		}
	}
	return s != ""
}

// parseTemplate splits an id template into literals and field references.
func parseTemplate(t string, byName map[string]*field, errs *[]error) []idPart {
	var parts []idPart
	rest := t
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			if strings.Contains(rest, "}") {
				*errs = append(*errs, fmt.Errorf("id: unmatched } in %q", text.Clip(t, maxQuoted)))
			}
			parts = append(parts, idPart{literal: rest})
			break
		}
		if strings.Contains(rest[:open], "}") {
			*errs = append(*errs, fmt.Errorf("id: unmatched } in %q", text.Clip(t, maxQuoted)))
		}
		if open > 0 {
			parts = append(parts, idPart{literal: rest[:open]})
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			*errs = append(*errs, fmt.Errorf("id: unclosed { in %q", text.Clip(t, maxQuoted)))
			break
		}
		name := rest[open+1 : open+end]
		switch f := byName[name]; {
		case f == nil:
			*errs = append(*errs, fmt.Errorf("id: no field named %q", text.Clip(name, maxQuoted)))
		case f.Type == List:
			*errs = append(*errs, fmt.Errorf("id: field %q is a list", name))
		}
		parts = append(parts, idPart{field: name})
		rest = rest[open+end+1:]
	}
	return parts
}

func compileExpr(s string) (*expr, error) {
	if s == "" {
		return nil, errors.New("empty expression")
	}
	x, err := xpath.Compile(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %v", text.Clip(s, maxQuoted), err)
	}
	return &expr{x: x, simple: parseSimple(s)}, nil
}

// Name is the profile's name.
func (p *Profile) Name() string { return p.spec.Name }

// Spec returns the profile as it was declared.
func (p *Profile) Spec() Spec { return p.spec }

// MaxPages is the most pages a run follows: next.maxPages, or 1.
func (p *Profile) MaxPages() int {
	if p.spec.Next == nil {
		return 1
	}
	return p.spec.Next.MaxPages
}

// HasDetail reports whether items are completed from a detail page.
func (p *Profile) HasDetail() bool { return p.spec.Detail != nil }

// DetailConcurrency is the most detail pages to fetch at once.
func (p *Profile) DetailConcurrency() int {
	if p.spec.Detail == nil {
		return 0
	}
	return p.spec.Detail.Concurrency
}

// FieldType returns the type of the field called name, declared on the
// items or the detail page, and whether there is one; required tells
// whether an item lacking it is skipped.
func (p *Profile) FieldType(name string) (t Type, required, ok bool) {
	f := p.byName[name]
	if f == nil {
		return "", false, false
	}
	return f.Type, f.Required, true
}

//go:embed profiles/*.json
var builtinFS embed.FS

// Builtins lists the names of the embedded profiles.
func Builtins() []string {
	entries, _ := builtinFS.ReadDir("profiles")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	return names
}

// Default is the name of the default profile, for the sample site
// (contract.DefaultProfile).
const Default = contract.DefaultProfile

// Builtin returns the embedded profile called name.
func Builtin(name string) (*Profile, error) {
	if !validName(strings.ReplaceAll(name, "-", "_")) {
		return nil, fmt.Errorf("profile %q: not a profile name", text.Clip(name, maxQuoted))
	}
	data, err := builtinFS.ReadFile("profiles/" + name + ".json")
	if err != nil {
		return nil, fmt.Errorf("profile %q: no such built-in profile (have %s)", text.Clip(name, maxQuoted), strings.Join(Builtins(), ", "))
	}
	return Parse(data)
}

// maxQuoted is the most bytes of a value from outside that a profile error
// quotes (text.Clip): enough to recognise it, never a whole hostile input.
const maxQuoted = 80
