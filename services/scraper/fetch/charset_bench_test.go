package fetch

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/net/html/charset"
)

// BenchmarkDecodeHTML decodes the sample site's chart page 1 (as the
// fetcher does every page before extraction): as UTF-8, which is checked
// and handed over without a copy, and re-encoded as windows-1252 (declared
// ISO-8859-1), which is transcoded.
func BenchmarkDecodeHTML(b *testing.B) {
	page, err := os.ReadFile(filepath.Join("..", "..", "samplesite", "testdata", "chart-page-1.html"))
	if err != nil {
		b.Fatal(err)
	}
	e, _ := charset.Lookup("windows-1252")
	latin, err := e.NewEncoder().Bytes(page)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name, ctype string
		body        []byte
	}{
		{"utf-8", "text/html; charset=utf-8", page},
		{"iso-8859-1", "text/html; charset=iso-8859-1", latin},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := decodeHTML(tc.body, tc.ctype, DefaultMaxBytes); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
