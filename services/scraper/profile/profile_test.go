package profile_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper/profile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const siteURL = "http://films.example"

// pagesDir holds the sample site's recorded pages: its own golden files,
// which its TestRecordedPages keeps in step with what it serves.
var pagesDir = filepath.Join("..", "..", "samplesite", "testdata")

func movies(t testing.TB) *profile.Profile {
	t.Helper()
	p, err := profile.Builtin(profile.Default)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func parsePage(t testing.TB, name string) *html.Node {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pagesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// chartWant builds, from the sample site's own data, what the movies profile
// must extract from chart page p.
func chartWant(p int) profile.Page {
	var want profile.Page
	for i, f := range samplesite.Films()[(p-1)*samplesite.PageSize : p*samplesite.PageSize] {
		want.Items = append(want.Items, profile.Item{Index: i, Fields: map[string]profile.Value{
			"siteId":    {Type: profile.String, Text: f.ID},
			"rank":      {Type: profile.Int, Text: fmt.Sprint(f.Rank), Int: int64(f.Rank)},
			"title":     {Type: profile.String, Text: f.Title},
			"detailUrl": {Type: profile.URL, Text: siteURL + f.Path()},
			"year":      {Type: profile.Int, Text: fmt.Sprint(f.Year), Int: int64(f.Year)},
			"rating":    {Type: profile.Float, Text: f.RatingText(), Float: f.Rating()},
			"votes":     {Type: profile.Int, Text: fmt.Sprint(f.Votes), Int: int64(f.Votes)},
		}})
	}
	if p < samplesite.Pages {
		want.Next = siteURL + samplesite.ChartPageURL(p+1)
	}
	return want
}

func TestExtractChartPages(t *testing.T) {
	p := movies(t)
	for page := 1; page <= samplesite.Pages; page++ {
		t.Run(fmt.Sprintf("page %d", page), func(t *testing.T) {
			doc := parsePage(t, fmt.Sprintf("chart-page-%d.html", page))
			got := p.Extract(doc, mustURL(t, siteURL+samplesite.ChartPageURL(page)))
			if diff := cmp.Diff(chartWant(page), got); diff != "" {
				t.Errorf("Extract (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExtractMalformed: the broken variant still yields the 30 usable items
// and reports the 20 others as skipped with a reason.
func TestExtractMalformed(t *testing.T) {
	p := movies(t)
	got := p.Extract(parsePage(t, "chart-page-1-malformed.html"), mustURL(t, siteURL+samplesite.ChartPageURL(1)))
	if len(got.Items) != 30 || len(got.Skips) != 20 {
		t.Fatalf("%d items, %d skipped; want 30, 20", len(got.Items), len(got.Skips))
	}
	films := samplesite.Films()
	for _, s := range got.Skips {
		// Ranks (rank-1)%5 == 3 have no rating, == 4 the rating "N/A".
		want := `missing required field "rating"`
		if s.Index%5 == 4 {
			want = `field "rating": "N/A" is not a number`
		}
		if s.Reason != want {
			t.Errorf("skip of item %d (%s): %q, want %q", s.Index, films[s.Index].ID, s.Reason, want)
		}
	}
	for _, it := range got.Items {
		f := films[it.Index]
		if it.Fields["title"].Text != f.Title || it.Fields["year"].Int != int64(f.Year) || it.Fields["rating"].Float != f.Rating() {
			t.Errorf("item %d = %+v, want %s (%d) %s", it.Index, it.Fields, f.Title, f.Year, f.RatingText())
		}
	}
	if want := siteURL + samplesite.ChartPageURL(2) + "&malformed=1"; got.Next != want {
		t.Errorf("Next = %q, want %q", got.Next, want)
	}
}

func TestExtractDetail(t *testing.T) {
	p := movies(t)
	byID := map[string]samplesite.Film{}
	for _, f := range samplesite.Films() {
		byID[f.ID] = f
	}
	for _, id := range []string{"the-godfather-1972", "city-of-god-2002"} {
		t.Run(id, func(t *testing.T) {
			f := byID[id]
			it := profile.Item{Fields: map[string]profile.Value{}}
			if reason := p.ExtractDetail(parsePage(t, "film-"+id+".html"), mustURL(t, siteURL+f.Path()), &it); reason != "" {
				t.Fatalf("ExtractDetail skipped: %s", reason)
			}
			want := map[string]profile.Value{
				"director":       {Type: profile.String, Text: f.Director()},
				"genres":         {Type: profile.List, Text: strings.Join(f.Genres, ", "), List: f.Genres},
				"runtimeMinutes": {Type: profile.Int, Text: fmt.Sprint(f.RuntimeMinutes), Int: int64(f.RuntimeMinutes)},
			}
			if diff := cmp.Diff(want, it.Fields); diff != "" {
				t.Errorf("detail fields (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExtractGolden pins the full extraction of every recorded page.
func TestExtractGolden(t *testing.T) {
	p := movies(t)
	pages, err := filepath.Glob(filepath.Join(pagesDir, "chart-*.html"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no recorded pages: %v", err)
	}
	for _, path := range pages {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			got := p.Extract(parsePage(t, name), mustURL(t, siteURL+samplesite.ChartPath+"?page=1"))
			b, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", strings.TrimSuffix(name, ".html")+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(b)+"\n"); diff != "" {
				t.Errorf("extraction differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

func TestFieldTypesAndNormalisation(t *testing.T) {
	tests := []struct {
		name   string
		field  profile.FieldSpec
		html   string
		want   map[string]profile.Value
		reason string
	}{
		{
			name:  "trim and collapse",
			field: profile.FieldSpec{Name: "v", XPath: ".", Type: profile.String, Normalise: []string{"trim", "collapse"}},
			html:  "  The \n\t Godfather  ",
			want:  map[string]profile.Value{"v": {Type: profile.String, Text: "The Godfather"}},
		},
		{
			name:  "collapse without trim keeps one space at the ends",
			field: profile.FieldSpec{Name: "v", XPath: ".", Type: profile.String, Normalise: []string{"collapse"}},
			html:  "\n a  b \n",
			want:  map[string]profile.Value{"v": {Type: profile.String, Text: " a b "}},
		},
		{
			name:  "int with separators",
			field: profile.FieldSpec{Name: "v", XPath: ".", Type: profile.Int, Normalise: []string{"trim"}},
			html:  " 2,791,067 ",
			want:  map[string]profile.Value{"v": {Type: profile.Int, Text: "2,791,067", Int: 2791067}},
		},
		{
			name:  "int through a pattern",
			field: profile.FieldSpec{Name: "v", XPath: ".", Type: profile.Int, Pattern: `(\d+)\s*min`},
			html:  "2 h 55 min? no: 175 min",
			want:  map[string]profile.Value{"v": {Type: profile.Int, Text: "55", Int: 55}},
		},
		{
			name:   "bad int skips the item",
			field:  profile.FieldSpec{Name: "v", XPath: ".", Type: profile.Int},
			html:   "12a",
			reason: `field "v": "12a" is not an integer`,
		},
		{
			name:  "decimal comma",
			field: profile.FieldSpec{Name: "v", XPath: ".", Type: profile.Float, Normalise: []string{"trim"}},
			html:  "8,7",
			want:  map[string]profile.Value{"v": {Type: profile.Float, Text: "8,7", Float: 8.7}},
		},
		{
			name:   "NaN is not a number",
			field:  profile.FieldSpec{Name: "v", XPath: ".", Type: profile.Float},
			html:   "NaN",
			reason: `field "v": "NaN" is not a number`,
		},
		{
			name:  "relative url resolved",
			field: profile.FieldSpec{Name: "v", XPath: ".//a/@href", Type: profile.URL},
			html:  `<a href="../films/x#top">x</a>`,
			want:  map[string]profile.Value{"v": {Type: profile.URL, Text: siteURL + "/films/x"}},
		},
		{
			name:   "javascript url skips the item",
			field:  profile.FieldSpec{Name: "v", XPath: ".//a/@href", Type: profile.URL},
			html:   `<a href="javascript:alert(1)">x</a>`,
			reason: `field "v": "javascript:alert(1)" is not an http(s) URL`,
		},
		{
			name:  "list drops empty entries",
			field: profile.FieldSpec{Name: "v", XPath: ".//li", Type: profile.List, Normalise: []string{"trim"}},
			html:  "<ul><li> Crime </li><li> </li><li>Drama</li></ul>",
			want:  map[string]profile.Value{"v": {Type: profile.List, Text: "Crime, Drama", List: []string{"Crime", "Drama"}}},
		},
		{
			name:  "computed string",
			field: profile.FieldSpec{Name: "v", XPath: "normalize-space(.//b)", Type: profile.String},
			html:  "<b>  bold   text </b>",
			want:  map[string]profile.Value{"v": {Type: profile.String, Text: "bold text"}},
		},
		{
			name:  "computed number",
			field: profile.FieldSpec{Name: "v", XPath: "count(.//i)", Type: profile.Int},
			html:  "<i></i><i></i>",
			want:  map[string]profile.Value{"v": {Type: profile.Int, Text: "2", Int: 2}},
		},
		{
			name:  "missing optional field is absent",
			field: profile.FieldSpec{Name: "v", XPath: ".//nothing", Type: profile.String},
			html:  "text",
			want:  map[string]profile.Value{},
		},
		{
			name:  "terminal escapes and other controls are removed",
			field: profile.FieldSpec{Name: "v", XPath: ".", Type: profile.String},
			html:  "\x1b[31mRed\x1b[0m\x07 \u0090Film\u009b\x7f&#x1b;",
			want:  map[string]profile.Value{"v": {Type: profile.String, Text: "[31mRed[0m Film"}},
		},
		{
			name:  "bidi overrides, isolates and marks are removed",
			field: profile.FieldSpec{Name: "v", XPath: ".", Type: profile.String},
			html:  "\u202egnp.exe\u202c \u2066a\u2067b\u2068c\u2069 \u202a\u202b\u202dd\u200e\u200f\u061c&#x202E;",
			want:  map[string]profile.Value{"v": {Type: profile.String, Text: "gnp.exe abc d"}},
		},
		{
			name:  "tabs and line breaks are white space even without collapse",
			field: profile.FieldSpec{Name: "v", XPath: ".", Type: profile.String},
			html:  "a\tb\nc\u0085d\u2028e\u2029f\fg\vh",
			want:  map[string]profile.Value{"v": {Type: profile.String, Text: "a b c d e f g h"}},
		},
		{
			name:  "controls go before trim and collapse",
			field: profile.FieldSpec{Name: "v", XPath: ".", Type: profile.String, Normalise: []string{"trim", "collapse"}},
			html:  "\u202e \x1b The\t\u200f\n Godfather \x1b",
			want:  map[string]profile.Value{"v": {Type: profile.String, Text: "The Godfather"}},
		},
		{
			name:  "attributes are cleaned too",
			field: profile.FieldSpec{Name: "v", XPath: ".//span/@title", Type: profile.String},
			html:  `<span title="x&#x202E;y&#x1b;z&#9;w"></span>`,
			want:  map[string]profile.Value{"v": {Type: profile.String, Text: "xyz w"}},
		},
		{
			name:  "list entries are cleaned and a control-only entry is dropped",
			field: profile.FieldSpec{Name: "v", XPath: ".//li", Type: profile.List},
			html:  "<ul><li>Cri\x1bme</li><li>\u202e\x1b</li><li>\u2066Drama\u2069</li></ul>",
			want:  map[string]profile.Value{"v": {Type: profile.List, Text: "Crime, Drama", List: []string{"Crime", "Drama"}}},
		},
		{
			name:   "a required field of controls alone is missing",
			field:  profile.FieldSpec{Name: "v", XPath: ".", Type: profile.String, Required: true},
			html:   "\u202e\x1b\u200f",
			reason: `missing required field "v"`,
		},
		{
			name:  "numbers read through the controls",
			field: profile.FieldSpec{Name: "v", XPath: ".", Type: profile.Int, Normalise: []string{"trim"}},
			html:  "\u202e1\x1b972\u202c",
			want:  map[string]profile.Value{"v": {Type: profile.Int, Text: "1972", Int: 1972}},
		},
		{
			name:   "blank required field skips",
			field:  profile.FieldSpec{Name: "v", XPath: ".", Type: profile.String, Required: true, Normalise: []string{"trim"}},
			html:   "   ",
			reason: `missing required field "v"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := profile.Compile(profile.Spec{Name: "t", Items: "//div[@id='item']", Fields: []profile.FieldSpec{tc.field}})
			if err != nil {
				t.Fatal(err)
			}
			doc, err := html.Parse(strings.NewReader(`<html><body><div id="item">` + tc.html + `</div></body></html>`))
			if err != nil {
				t.Fatal(err)
			}
			got := p.Extract(doc, mustURL(t, siteURL+"/chart/page"))
			want := profile.Page{Items: []profile.Item{{Fields: tc.want}}}
			if tc.reason != "" {
				want = profile.Page{Skips: []profile.Skip{{Reason: tc.reason}}}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Extract (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBaseHref(t *testing.T) {
	p, err := profile.Compile(profile.Spec{Name: "t", Items: "//a", Fields: []profile.FieldSpec{{Name: "u", XPath: "@href", Type: profile.URL}},
		Next: &profile.NextSpec{XPath: "//link[@rel='next']/@href", MaxPages: 2}})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := html.Parse(strings.NewReader(`<html><head><base href="https://cdn.example/x/"><link rel=next href="p2"></head><body><a href="y">y</a></body></html>`))
	got := p.Extract(doc, mustURL(t, siteURL+"/a/b"))
	want := profile.Page{
		Items: []profile.Item{{Fields: map[string]profile.Value{"u": {Type: profile.URL, Text: "https://cdn.example/x/y"}}}},
		Next:  "https://cdn.example/x/p2",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Extract (-want +got):\n%s", diff)
	}
}

func TestIDTemplate(t *testing.T) {
	p, err := profile.Compile(profile.Spec{Name: "t", Items: "//li", ID: "film-{a}-{b}",
		Fields: []profile.FieldSpec{{Name: "a", XPath: "@a", Type: profile.String}, {Name: "b", XPath: "@b", Type: profile.Int}}})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := html.Parse(strings.NewReader(`<ul><li a="x" b="7"></li><li b="8"></li></ul>`))
	page := p.Extract(doc, mustURL(t, siteURL))
	var got []string
	for _, it := range page.Items {
		id, reason := p.ID(it)
		got = append(got, id+"|"+reason)
	}
	if diff := cmp.Diff([]string{"film-x-7|", `|id: missing field "a"`}, got); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
}

// TestParseListsEveryProblem: one bad profile, every problem named.
func TestParseListsEveryProblem(t *testing.T) {
	bad := `{
	  "name": "bad name",
	  "items": "//li[",
	  "id": "{nope}-{tags}",
	  "fields": [
	    {"name": "title", "xpath": "//h1", "type": "string"},
	    {"name": "title", "xpath": ".//h2", "type": "text"},
	    {"name": "", "xpath": "", "type": "int", "normalise": ["upper"], "pattern": "(a)(b)"},
	    {"name": "tags", "xpath": ".//li", "type": "list"},
	    {"name": "link", "xpath": "@href", "type": "string", "pattern": "("}
	  ],
	  "next": {"xpath": "", "maxPages": 0},
	  "detail": {"link": "link", "concurrency": 99, "fields": []}
	}`
	_, err := profile.Parse([]byte(bad))
	if err == nil {
		t.Fatal("Parse accepted a bad profile")
	}
	msg := err.Error()
	for _, want := range []string{
		`name: "bad name" must be`,
		`items: "//li["`,
		`fields[0] (title): xpath: "//h1" is absolute`,
		`fields[1] (title): name: declared twice`,
		`fields[1] (title): type: "text"`,
		`fields[2]: name: required`,
		`fields[2]: xpath: required`,
		`fields[2]: normalise: "upper"`,
		`fields[2]: pattern: "(a)(b)" has 2 groups`,
		`fields[4] (link): pattern: error parsing regexp`,
		`next.xpath: required`,
		`next.maxPages: 0 not in 1..100`,
		`detail.link: field "link" is a string, want a url`,
		`detail.concurrency: 99 not in 1..16`,
		`detail.fields: at least one is required`,
		`id: no field named "nope"`,
		`id: field "tags" is a list`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %q:\n%s", want, msg)
		}
	}
}

func TestParseRejectsBadJSON(t *testing.T) {
	for name, data := range map[string]string{
		"unknown field": `{"name":"x","items":"//li","fields":[{"name":"a","xpath":".","type":"string"}],"colour":"red"}`,
		"trailing data": `{"name":"x","items":"//li","fields":[{"name":"a","xpath":".","type":"string"}]} {}`,
		"not an object": `[]`,
		"too large":     `{"description":"` + strings.Repeat("x", profile.MaxSize) + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := profile.Parse([]byte(data)); err == nil {
				t.Error("accepted")
			}
		})
	}
}

// TestDefaultDetailConcurrency ties the contract's default detail
// concurrency, which infra sizes the sample site's throttle by, to the
// built-in default profile's.
func TestDefaultDetailConcurrency(t *testing.T) {
	p, err := profile.Builtin(profile.Default)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.DetailConcurrency(); got != contract.DefaultDetailConcurrency {
		t.Errorf("the %s profile's detail concurrency is %d, contract.DefaultDetailConcurrency %d", profile.Default, got, contract.DefaultDetailConcurrency)
	}
}

func TestBuiltins(t *testing.T) {
	if diff := cmp.Diff([]string{"movies"}, profile.Builtins()); diff != "" {
		t.Errorf("Builtins (-want +got):\n%s", diff)
	}
	for _, name := range profile.Builtins() {
		if _, err := profile.Builtin(name); err != nil {
			t.Errorf("Builtin(%q): %v", name, err)
		}
	}
	for _, name := range []string{"nope", "../profile", ""} {
		if _, err := profile.Builtin(name); err == nil {
			t.Errorf("Builtin(%q) accepted", name)
		}
	}
}
