package query

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

func TestEncodePayload(t *testing.T) {
	long := strings.Repeat("a", PreviewBytes-1) + "é" + "tail" // é straddles the cut
	binary := append([]byte{0xff, 0xfe}, bytes.Repeat([]byte("x"), 300)...)
	badAtCut := []byte(strings.Repeat("a", PreviewBytes-1) + "\xff" + "rest") // invalid byte, not a cut character
	euro := []byte("x€")                                                      // € is 3 bytes
	type result struct {
		Text, Encoding string
		N              int
	}
	tests := []struct {
		name        string
		in          []byte
		limit, size int // size 0: len(in)
		want        result
	}{
		{"empty", nil, PreviewBytes, 0, result{"", encodingUTF8, 0}},
		{"short text", []byte(`{"a":1}`), PreviewBytes, 0, result{`{"a":1}`, encodingUTF8, 7}},
		{"exactly the limit", bytes.Repeat([]byte("b"), PreviewBytes), PreviewBytes, 0, result{strings.Repeat("b", PreviewBytes), encodingUTF8, PreviewBytes}},
		{"long text", []byte(strings.Repeat("c", 1000)), PreviewBytes, 0, result{strings.Repeat("c", PreviewBytes), encodingUTF8, PreviewBytes}},
		{"character cut by the limit", []byte(long), PreviewBytes, 0, result{strings.Repeat("a", PreviewBytes-1), encodingUTF8, PreviewBytes - 1}},
		{"binary", binary, PreviewBytes, 0, result{base64.StdEncoding.EncodeToString(binary[:PreviewBytes]), encodingBase64, PreviewBytes}},
		{"short binary", []byte{0, 0xc3}, PreviewBytes, 0, result{"AMM=", encodingBase64, 2}},
		{"invalid byte at the cut", badAtCut, PreviewBytes, 0, result{base64.StdEncoding.EncodeToString(badAtCut[:PreviewBytes]), encodingBase64, PreviewBytes}},
		// The whole stored payload (GetError): the store cut the record
		// at store.MaxPayload, maybe inside a character.
		{"whole text", []byte(long), len(long), 0, result{long, encodingUTF8, len(long)}},
		{"stored payload cut inside a character", euro[:3], 3, 1000, result{"x", encodingUTF8, 1}},
		{"stored payload cut after one byte of a character", euro[:2], 2, 1000, result{"x", encodingUTF8, 1}},
		{"whole record ending inside a character", euro[:3], 3, 3, result{"eOKC", encodingBase64, 3}},
		{"stored payload cut after an invalid byte", []byte("x\xff"), 2, 1000, result{"eP8=", encodingBase64, 2}},
		{"stored payload cut after a lone continuation byte", []byte("x\x82"), 2, 1000, result{"eII=", encodingBase64, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := tt.size
			if size == 0 {
				size = len(tt.in)
			}
			var got result
			got.Text, got.Encoding, got.N = encodePayload(tt.in, tt.limit, size)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("encodePayload (-want +got):\n%s", diff)
			}
		})
	}
}

// TestErrorDetail checks the payload of GET /errors/{id} and that its
// preview and encoding agree with the listing's, or follow the payload.
func TestErrorDetail(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	item := func(p []byte, size int) store.ErrorItem {
		return store.ErrorItem{ID: "e", Stage: store.StageDecode, Payload: p, PayloadSize: size, FirstFailure: at, LastFailure: at}
	}
	text := []byte(strings.Repeat("t", 300))
	mixed := append(bytes.Repeat([]byte("t"), 300), 0xff)
	cutText := append(bytes.Repeat([]byte("t"), 300), "€"[:2]...)
	type view struct {
		Preview, Encoding, Payload string
		Truncated                  bool
		Resolved                   timestamp
	}
	tests := []struct {
		name string
		e    store.ErrorItem
		want view
	}{
		{"text", item(text, len(text)), view{string(text[:PreviewBytes]), encodingUTF8, string(text), true, ""}},
		{"text cut by the store inside a character", item(cutText, 1<<20), view{string(text[:PreviewBytes]), encodingUTF8, string(text), true, ""}},
		{"text, then binary: the preview follows the payload", item(mixed, len(mixed)),
			view{base64.StdEncoding.EncodeToString(mixed[:PreviewBytes]), encodingBase64, base64.StdEncoding.EncodeToString(mixed), true, ""}},
		{"short binary", item([]byte{0xff, 0}, 2), view{"/wA=", encodingBase64, "/wA=", false, ""}},
		{"empty", item(nil, 0), view{"", encodingUTF8, "", false, ""}},
		{"resolved", func() store.ErrorItem { e := item(text[:3], 3); e.Resolved = at.Add(time.Hour); return e }(),
			view{"ttt", encodingUTF8, "ttt", false, "2026-03-01T13:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := toErrorDetail(tt.e)
			got := view{d.PayloadPreview, d.PayloadEncoding, d.Payload, d.PayloadTruncated, d.Resolved}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("toErrorDetail (-want +got):\n%s", diff)
			}
			// Read from the listing's preview, the item is the same
			// unless the payload's encoding overrides the preview's.
			listed := tt.e
			listed.Payload = store.Preview(tt.e.Payload)
			if li := toErrorItem(listed); li.PayloadEncoding == d.PayloadEncoding && li != d.errorItem {
				t.Errorf("listing item %+v, detail %+v", li, d.errorItem)
			}
		})
	}
}

func FuzzEncodePayload(f *testing.F) {
	f.Add([]byte("hello"), uint16(PreviewBytes), uint32(0))
	f.Add([]byte(strings.Repeat("a", PreviewBytes-1)+"€"), uint16(PreviewBytes), uint32(0))
	f.Add([]byte{0xff}, uint16(PreviewBytes), uint32(0))
	f.Add([]byte("x€"[:3]), uint16(3), uint32(1000))
	f.Fuzz(func(t *testing.T, p []byte, limit uint16, extra uint32) {
		size := len(p) + int(extra) // the record's size: p is its first bytes
		text, enc, n := encodePayload(p, int(limit), size)
		var got []byte
		switch enc {
		case encodingUTF8:
			got = []byte(text)
		case encodingBase64:
			var err error
			if got, err = base64.StdEncoding.DecodeString(text); err != nil {
				t.Fatalf("base64 %q: %v", text, err)
			}
		default:
			t.Fatalf("encoding %q", enc)
		}
		head := min(len(p), int(limit))
		if n != len(got) || n > head || !bytes.HasPrefix(p, got) {
			t.Fatalf("encoding of %q (limit %d) = %q (%d bytes), not a prefix of at most %d bytes", p, limit, got, n, head)
		}
		// Text drops at most a split character; base64 drops nothing.
		if n < head && (enc != encodingUTF8 || head-n >= 4) {
			t.Fatalf("encoding of %q (limit %d) holds %d of %d bytes as %s", p, limit, n, head, enc)
		}
		if n < head && len(p) == size && head == len(p) {
			t.Fatalf("the whole record %q encoded as %d of its bytes", p, n)
		}
	})
}
