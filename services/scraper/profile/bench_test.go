package profile_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
)

// BenchmarkExtractChart parses and extracts the sample site's five chart
// pages (250 items) per iteration: MB/s of HTML and items/s.
func BenchmarkExtractChart(b *testing.B) {
	var pages [][]byte
	total := 0
	for p := 1; p <= samplesite.Pages; p++ {
		data, err := os.ReadFile(filepath.Join(pagesDir, fmt.Sprintf("chart-page-%d.html", p)))
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
	page, err := os.ReadFile(filepath.Join(pagesDir, "chart-page-1.html"))
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

// BenchmarkParseOnly is x/net/html's parse of chart page 1 alone, for
// reference: the floor under every extraction figure.
func BenchmarkParseOnly(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(pagesDir, "chart-page-1.html"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := html.Parse(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu0, len(data))
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds MB per CPU-second: on a machine shared with other work,
// wall-clock MB/s understates what the code does with the CPU it gets.
func reportCPU(b *testing.B, cpu0 time.Duration, bytesPerOp int) {
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(bytesPerOp)*float64(b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
	}
}

func benchExtract(b *testing.B, pages [][]byte, total int) {
	p := movies(b)
	u := mustURL(b, siteURL+samplesite.ChartPageURL(1))
	b.SetBytes(int64(total))
	b.ReportAllocs()
	items := 0
	cpu0 := cpuTime()
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
	reportCPU(b, cpu0, total)
}
