package query

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPreviewPayload(t *testing.T) {
	long := strings.Repeat("a", PreviewBytes-1) + "é" + "tail" // é straddles the cut
	binary := append([]byte{0xff, 0xfe}, bytes.Repeat([]byte("x"), 300)...)
	badAtCut := []byte(strings.Repeat("a", PreviewBytes-1) + "\xff" + "rest") // invalid byte, not a cut character
	type result struct {
		Preview, Encoding string
		N                 int
	}
	tests := []struct {
		name string
		in   []byte
		want result
	}{
		{"empty", nil, result{"", encodingUTF8, 0}},
		{"short text", []byte(`{"a":1}`), result{`{"a":1}`, encodingUTF8, 7}},
		{"exactly the limit", bytes.Repeat([]byte("b"), PreviewBytes), result{strings.Repeat("b", PreviewBytes), encodingUTF8, PreviewBytes}},
		{"long text", []byte(strings.Repeat("c", 1000)), result{strings.Repeat("c", PreviewBytes), encodingUTF8, PreviewBytes}},
		{"character cut by the limit", []byte(long), result{strings.Repeat("a", PreviewBytes-1), encodingUTF8, PreviewBytes - 1}},
		{"binary", binary, result{base64.StdEncoding.EncodeToString(binary[:PreviewBytes]), encodingBase64, PreviewBytes}},
		{"short binary", []byte{0, 0xc3}, result{"AMM=", encodingBase64, 2}},
		{"invalid byte at the cut", badAtCut, result{base64.StdEncoding.EncodeToString(badAtCut[:PreviewBytes]), encodingBase64, PreviewBytes}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got result
			got.Preview, got.Encoding, got.N = previewPayload(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("previewPayload (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzPreviewPayload(f *testing.F) {
	f.Add([]byte("hello"))
	f.Add([]byte(strings.Repeat("a", PreviewBytes-1) + "€"))
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, p []byte) {
		preview, enc, n := previewPayload(p)
		var got []byte
		switch enc {
		case encodingUTF8:
			got = []byte(preview)
		case encodingBase64:
			var err error
			if got, err = base64.StdEncoding.DecodeString(preview); err != nil {
				t.Fatalf("base64 preview %q: %v", preview, err)
			}
		default:
			t.Fatalf("encoding %q", enc)
		}
		if n != len(got) || n > PreviewBytes || !bytes.HasPrefix(p, got) {
			t.Fatalf("preview of %q = %q (%d bytes), not a prefix of at most %d bytes", p, got, n, PreviewBytes)
		}
		if len(p) <= PreviewBytes && n != len(p) {
			t.Fatalf("payload of %d bytes previewed as %d", len(p), n)
		}
	})
}
