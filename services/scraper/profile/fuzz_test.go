package profile_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"

	"github.com/scrape-pipeline/scrape-pipeline/services/scraper/profile"
)

// FuzzExtract feeds random and mutated HTML to the movies profile, chart and
// detail fields alike: extraction must neither panic nor hang, and every
// item selected must come out as an item or a skip with a reason.
func FuzzExtract(f *testing.F) {
	pages, err := filepath.Glob(filepath.Join(pagesDir, "*.html"))
	if err != nil || len(pages) == 0 {
		f.Fatalf("no recorded pages to seed from: %v", err)
	}
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<ol class="chart-list"><li class="chart-item" data-film-id="x" data-rank="1e400"><a class="film-link" href="//[::1">t</a><span class="year">-0</span><span class="rating-value">0x1p3</span></li></ol>`))
	f.Add([]byte(`<base href="javascript:x"><link rel=next href="ftp://x"><ol class=chart-list><li class=chart-item data-film-id=""></li></ol>`))
	f.Add([]byte("<ol class=chart-list>" + string(bytes.Repeat([]byte("<li class=chart-item><div>"), 2000))))
	f.Add([]byte("<ol class=chart-list><li class=chart-item data-film-id=\"a\x1b\" data-rank=1><a class=film-link href=/f>\u202e\x1b[31mT\title</a><span class=year>1972</span><span class=rating-value>9.2</span></li></ol><dd class=director>F\u202eord\u0085</dd>"))
	p, err := profile.Builtin(profile.Default)
	if err != nil {
		f.Fatal(err)
	}
	u := mustURL(f, siteURL+"/site/chart?page=1")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			return // larger than a fuzz input needs to be
		}
		watchdog := time.AfterFunc(30*time.Second, func() { panic("extraction of one input took over 30s") })
		defer watchdog.Stop()
		doc, err := html.Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		page := p.Extract(doc, u)
		for _, s := range page.Skips {
			if s.Reason == "" {
				t.Errorf("skip %d without a reason", s.Index)
			}
		}
		for _, it := range page.Items {
			checkText(t, it)
			for _, name := range []string{"siteId", "title", "year", "rating"} {
				if _, ok := it.Fields[name]; !ok {
					t.Errorf("item %d lacks required field %s", it.Index, name)
				}
			}
			if id, reason := p.ID(it); id == "" && reason == "" {
				t.Errorf("item %d: empty id without a reason", it.Index)
			}
		}
		it := profile.Item{Fields: map[string]profile.Value{}}
		_ = p.ExtractDetail(doc, u, &it)
		checkText(t, it)
	})
}

// checkText fails t if a field of it holds text that is not valid UTF-8 or
// has a control or bidirectional formatting character.
func checkText(t *testing.T, it profile.Item) {
	t.Helper()
	for name, v := range it.Fields {
		for _, s := range append([]string{v.Text}, v.List...) {
			if !utf8.ValidString(s) {
				t.Errorf("item %d, field %s: %q is not valid UTF-8", it.Index, name, s)
			}
			for _, r := range s {
				if unicode.IsControl(r) || strings.ContainsRune("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c", r) {
					t.Errorf("item %d, field %s: %q holds %U", it.Index, name, s, r)
				}
			}
		}
	}
}

// FuzzProfile feeds random JSON to Parse: no panic, and a profile it
// accepts must extract from a real page without panicking.
func FuzzProfile(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("profiles", "movies.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"name":"x","items":"//li","id":"{a}{","fields":[{"name":"a","xpath":"count(.)","type":"float","pattern":"(.*)"}]}`))
	f.Add([]byte(`{"name":"x","items":"//li","fields":[{"name":"a","xpath":"@h","type":"url"}],"detail":{"link":"a","concurrency":1,"fields":[{"name":"b","xpath":"//b","type":"list"}]},"next":{"xpath":"//a/@href","maxPages":3}}`))
	f.Add([]byte(`{"name":"x","items":"//li[","fields":null}`))
	page := parsePage(f, "chart-page-1-malformed.html")
	u := mustURL(f, siteURL+"/site/chart?page=1")
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := profile.Parse(data)
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error message")
			}
			return
		}
		res := p.Extract(page, u)
		for _, it := range res.Items {
			p.ID(it)
			if p.HasDetail() {
				it := it
				p.ExtractDetail(page, u, &it)
			}
		}
	})
}
