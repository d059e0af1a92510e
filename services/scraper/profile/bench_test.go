package profile_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/net/html"

	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
)

// BenchmarkExtractChart parses and extracts the sample site's five chart
// pages (250 items) per iteration: MB/s of HTML and items/s.
func BenchmarkExtractChart(b *testing.B) {
	var pages [][]byte
	total := 0
	for p := 1; p <= samplesite.Pages; p++ {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "pages", fmt.Sprintf("chart-page-%d.html", p)))
		if err != nil {
			b.Fatal(err)
		}
		pages = append(pages, data)
		total += len(data)
	}
	benchExtract(b, pages, total)
}

// BenchmarkExtractLargePage parses and extracts one chart page of 10,000
// items (page 1's items repeated): MB/s of HTML and items/s.
func BenchmarkExtractLargePage(b *testing.B) {
	page, err := os.ReadFile(filepath.Join("..", "testdata", "pages", "chart-page-1.html"))
	if err != nil {
		b.Fatal(err)
	}
	start := bytes.Index(page, []byte(`<li class="chart-item"`))
	end := bytes.LastIndex(page, []byte("</li>\n  </ol>"))
	if start < 0 || end < 0 {
		b.Fatal("chart markup not found")
	}
	end += len("</li>")
	items := page[start:end]
	var big bytes.Buffer
	big.Write(page[:start])
	for range 10_000 / samplesite.PageSize {
		big.Write(items)
	}
	big.Write(page[end:])
	benchExtract(b, [][]byte{big.Bytes()}, big.Len())
}

func benchExtract(b *testing.B, pages [][]byte, total int) {
	p := movies(b)
	u := mustURL(b, siteURL+samplesite.ChartPageURL(1))
	b.SetBytes(int64(total))
	b.ReportAllocs()
	items := 0
	for b.Loop() {
		for _, data := range pages {
			doc, err := html.Parse(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			res := p.Extract(doc, u)
			if len(res.Skips) != 0 {
				b.Fatalf("skipped %d items: %v", len(res.Skips), res.Skips[0])
			}
			items += len(res.Items)
		}
	}
	b.ReportMetric(float64(items)/b.Elapsed().Seconds(), "items/s")
}
