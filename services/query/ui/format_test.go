package ui

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNewPreview(t *testing.T) {
	long := strings.Repeat("a", PreviewBytes-1) + "é" // é cut by the limit
	tests := []struct {
		name string
		p    []byte
		size int
		want preview
	}{
		{"short text", []byte(`{"a":1}`), 7, preview{Text: `{"a":1}`, Shown: 7, Size: 7}},
		{"markup stays text", []byte(xss), len(xss), preview{Text: xss, Shown: len(xss), Size: len(xss)}},
		{"controls shown as pictures", []byte("a\x1b[2Jb\x00\tc\n\x7f"), 11, preview{Text: "a\u241b[2Jb\u2400\tc\n\u2421", Shown: 11, Size: 11}},
		{"bidi override replaced", []byte("abc\u202edef"), 9, preview{Text: "abc\ufffddef", Shown: 9, Size: 9}},
		{"cut at the limit", bytes.Repeat([]byte("x"), 600), 600, preview{Text: strings.Repeat("x", PreviewBytes), Shown: PreviewBytes, Size: 600}},
		{"character cut by the limit", []byte(long), len(long), preview{Text: long[:PreviewBytes-1], Shown: PreviewBytes - 1, Size: len(long)}},
		{"store preview shorter than the payload", []byte("ab\xc3"), 10, preview{Text: "ab", Shown: 2, Size: 10}},
		{"truncated character at the real end is binary", []byte("ab\xc3"), 3, preview{Hex: "61 62 c3", Shown: 3, Size: 3}},
		{"binary", []byte{0xff, 0x00, 0xfe}, 3, preview{Hex: "ff 00 fe", Shown: 3, Size: 3}},
		{"long binary", append([]byte{0xff}, bytes.Repeat([]byte{1}, 300)...), 301, preview{Hex: "ff" + strings.Repeat(" 01", hexPreviewBytes-1), Shown: hexPreviewBytes, Size: 301}},
		{"empty", nil, 0, preview{Size: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, newPreview(tt.p, tt.size)); diff != "" {
				t.Errorf("newPreview (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{formatInt(0), "0"}, {formatInt(999), "999"}, {formatInt(1000), "1,000"}, {formatInt(2000000), "2,000,000"}, {formatInt(-1234), "-1,234"},
		{formatDuration(0), "—"}, {formatDuration(850), "850 ms"}, {formatDuration(2400), "2.4 s"}, {formatDuration(185000), "3 min 5 s"},
		{formatRating(9.25), "9.2"}, {formatRating(8), "8.0"},
		{tail("49590000000000000000000000000000000000000000000123", 6), "…000123"}, {tail("12", 6), "12"},
		{plural(1, "film", "films"), "1 film"}, {plural(1000, "film", "films"), "1,000 films"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
