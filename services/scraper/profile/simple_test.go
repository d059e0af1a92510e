package profile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/antchfx/htmlquery"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"
)

// differential lists expressions of the simple shapes, evaluated by both
// engines; the movies profile's are added at run time.
var differential = []string{
	".", "@class", "@nope", "span", "./span", "*", "div/span", ".//span", ".//*",
	".//span[@class='year']", ".//a/@href", ".//li/a/@href", "//li", "//li[@class=\"chart-item\"]/div",
	"/html/body", "//a[@rel='next']/@href", "//*[@id='content']//li", "//dd[@class='director']/span",
	"//span/text()", "count(.//li)", "normalize-space(.//h2)", "..//li", "//li[2]", "li[@class='x'][@id='y']",
}

// notSimple must go to antchfx/xpath.
var notSimple = []string{
	"//span/text()", "count(.//li)", "normalize-space(.//h2)", "..//li", "//li[2]", "li[@class='x'][@id='y']",
	"//*[@id='content']//li", "child::li", "//x:li", "//li[@class=concat('a','b')]", "//li[@class!='a']",
}

func TestParseSimple(t *testing.T) {
	for _, s := range notSimple {
		if p := parseSimple(s); p != nil {
			t.Errorf("parseSimple(%q) = %+v, want nil", s, p)
		}
	}
	want := &simplePath{deep: true, steps: []step{{name: "a", pred: true, predAttr: "class", predEq: "film-link"}}, attr: "href"}
	if diff := cmp.Diff(want, parseSimple(".//a[@class='film-link']/@href"), cmp.AllowUnexported(simplePath{}, step{})); diff != "" {
		t.Errorf("parseSimple (-want +got):\n%s", diff)
	}
}

// xpathTexts evaluates s with antchfx/xpath only.
func xpathTexts(t testing.TB, s string, n *html.Node) []string {
	t.Helper()
	e, err := compileExpr(s)
	if err != nil {
		t.Fatal(err)
	}
	e.simple = nil
	return e.texts(n)
}

func simpleTexts(t testing.TB, s string, n *html.Node) []string {
	t.Helper()
	e, err := compileExpr(s)
	if err != nil {
		t.Fatal(err)
	}
	if e.simple == nil {
		return nil
	}
	return e.texts(n)
}

func contexts(doc *html.Node) []*html.Node {
	return append([]*html.Node{doc}, htmlquery.Find(doc, "//li | //article | //dd")...)
}

func allExpressions(t testing.TB) []string {
	exprs := append([]string(nil), differential...)
	p, err := Builtin(Default)
	if err != nil {
		t.Fatal(err)
	}
	s := p.Spec()
	exprs = append(exprs, s.Items, s.Next.XPath)
	for _, f := range append(s.Fields, s.Detail.Fields...) {
		exprs = append(exprs, f.XPath)
	}
	return exprs
}

// TestSimpleMatchesXPath: on every recorded page, from the document and
// from every item, both engines select the same texts in the same order.
func TestSimpleMatchesXPath(t *testing.T) {
	pages, err := filepath.Glob(filepath.Join("..", "..", "samplesite", "testdata", "*.html")) // the sample site's recorded pages
	if err != nil || len(pages) == 0 {
		t.Fatalf("no recorded pages: %v", err)
	}
	exprs := allExpressions(t)
	for _, path := range pages {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := html.Parse(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range exprs {
			if parseSimple(s) == nil {
				continue
			}
			for i, n := range contexts(doc) {
				if diff := cmp.Diff(xpathTexts(t, s, n), simpleTexts(t, s, n)); diff != "" {
					t.Fatalf("%s: %q from context %d: engines differ (-xpath +simple):\n%s", filepath.Base(path), s, i, diff)
				}
			}
		}
	}
}

// FuzzSimpleMatchesXPath holds the two engines to the same answers on any
// HTML.
func FuzzSimpleMatchesXPath(f *testing.F) {
	f.Add([]byte(`<ol class="chart-list"><li class="chart-item" data-film-id="x"><li class=chart-item><a class="film-link" href="/a">A<!-- c -->B</a></li></ol>`))
	f.Add([]byte(`<li class="chart-item"><ol class="chart-list"><li class="chart-item"><span class=year>1</span></li></ol></li>`))
	f.Add([]byte(`<dd class=director><span class=person>a</span>, <span class=person>b</span></dd><link rel=next href=x>`))
	exprs := allExpressions(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return // larger than a fuzz input needs to be
		}
		doc, err := html.Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		ctxs := contexts(doc)
		if len(ctxs) > 50 {
			ctxs = ctxs[:50]
		}
		for _, s := range exprs {
			if parseSimple(s) == nil {
				continue
			}
			for i, n := range ctxs {
				if diff := cmp.Diff(xpathTexts(t, s, n), simpleTexts(t, s, n)); diff != "" {
					t.Fatalf("%q from context %d: engines differ (-xpath +simple):\n%s", s, i, diff)
				}
			}
		}
	})
}
