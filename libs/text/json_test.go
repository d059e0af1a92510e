package text_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

// encodingJSON is s as encoding/json writes it, with or without HTML
// escaping.
func encodingJSON(t *testing.T, s string, escapeHTML bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func checkJSON(t *testing.T, s string) {
	t.Helper()
	for _, html := range []bool{false, true} {
		want := encodingJSON(t, s, html)
		got := text.AppendJSON([]byte("prefix"), s, html)
		if !bytes.Equal(got[:6], []byte("prefix")) || !bytes.Equal(got[6:], want) {
			t.Errorf("AppendJSON(%q, escapeHTML %v) = %q, encoding/json writes %q", s, html, got[6:], want)
		}
		if n := text.JSONLen(s, html); n != len(want) {
			t.Errorf("JSONLen(%q, escapeHTML %v) = %d, the string is %d bytes", s, html, n, len(want))
		}
	}
}

func TestAppendJSON(t *testing.T) {
	for _, s := range []string{
		"",
		"plain ascii text",
		`quote " and backslash \`,
		"\n\r\t\b\f\x00\x01\x1f\x7f",
		"<script>a && b</script>",
		"line\u2028and paragraph\u2029separators",
		"é€😀 and 日本語",
		"bad \xff\xfe utf-8 \xe2\x82 cut",
		"\xed\xa0\x80 a surrogate half",
	} {
		checkJSON(t, s)
	}
}

// FuzzAppendJSON holds AppendJSON and JSONLen to encoding/json, byte for
// byte, for any string.
func FuzzAppendJSON(f *testing.F) {
	f.Add("a\"<\u2028\xff")
	f.Add("\x00\x7f\b\f&>")
	f.Fuzz(func(t *testing.T, s string) { checkJSON(t, s) })
}
