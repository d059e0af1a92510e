package events

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

func benchDecode(b *testing.B, k Kind) {
	indented, err := os.ReadFile(goldenPath(k))
	if err != nil {
		b.Fatal(err)
	}
	// The stream carries compact JSON, as Encode writes it.
	var buf bytes.Buffer
	if err := json.Compact(&buf, indented); err != nil {
		b.Fatal(err)
	}
	raw := buf.Bytes()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func benchEncode(b *testing.B, k Kind) {
	e := examples[k]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode/movie.observed.v1 includes the upcast to v2.
func BenchmarkDecode(b *testing.B) {
	b.Run("movie.observed.v2", func(b *testing.B) { benchDecode(b, Kind{TypeMovieObserved, 2}) })
	b.Run("movie.observed.v1", func(b *testing.B) { benchDecode(b, Kind{TypeMovieObserved, 1}) })
}

func BenchmarkEncode(b *testing.B) {
	b.Run("movie.observed.v2", func(b *testing.B) { benchEncode(b, Kind{TypeMovieObserved, 2}) })
	b.Run("movie.observed.v1", func(b *testing.B) { benchEncode(b, Kind{TypeMovieObserved, 1}) })
}
