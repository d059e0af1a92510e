package archive

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var jsonSeeds = []string{
	`{"a":[1,-2.5e+3,true,false,null,"x\u00e9\n"],"b":{}}`, `[]`, ` [ 1 , 2 ] `, `0`, `-0`, `01`, `1.`, `.5`, `1e`, `1E+`,
	`"\ud800"`, `"\x"`, "\"\x01\"", "\"\xff\"", `{"a" 1}`, `{"a":1,}`, `[1,]`, `{,}`, `tru`, `nul`, `"abc`, `{"a":1}}`, ``, ` `,
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001), strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
}

func TestValidJSONMatchesEncodingJSON(t *testing.T) {
	for _, s := range jsonSeeds {
		if got, want := validJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("validJSON(%.40q) = %v, json.Valid = %v", s, got, want)
		}
	}
}

// FuzzValidJSON holds validJSON to encoding/json's Valid.
func FuzzValidJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid = %v", b, got, want)
		}
	})
}

// FuzzScanLine holds the fast line reader to encoding/json: whenever it
// reads a line, json.Unmarshal reads the same fields.
func FuzzScanLine(f *testing.F) {
	for _, s := range []string{
		`{"shardId":"s","sequenceNumber":"1","subsequenceNumber":12,"partitionKey":"k","arrivalTime":"2026-01-01T00:00:00Z","data":{"a":[1, 2]}}`,
		`{"shardId":"s","sequenceNumber":"1","partitionKey":"k","arrivalTime":"t","dataBase64":"AAE="}` + "\r\n",
		`{"shardId":"s","shardId":"t"}`, `{"data":null,"dataBase64":""}`, `{"subsequenceNumber":0}`, `{"subsequenceNumber":01}`,
		`{"subsequenceNumber":1e3}`, `{"subsequenceNumber":123456789012345678}`, `{"subsequenceNumber":1234567890123456789}`,
		`{"partitionKey":"\u00e9"}`, "{\"partitionKey\":\"\xff\"}", `{"Data":1}`, `{"data":1 }`, `{"data":1}x`, `{}`, `{"x":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		fast, ok := scanLine(line, nil)
		if interned, iok := scanLine(line, &interner{}); iok != ok || !cmp.Equal(fast, interned) {
			t.Fatalf("scanLine(%q) with an interner = %+v, %v; without %+v, %v", line, interned, iok, fast, ok)
		}
		if !ok {
			return
		}
		var slow wireLine
		if err := json.Unmarshal(line, &slow); err != nil {
			t.Fatalf("scanLine read %q, json.Unmarshal refuses it: %v", line, err)
		}
		if diff := cmp.Diff(slow, fast, cmp.Comparer(func(a, b json.RawMessage) bool {
			return (a == nil) == (b == nil) && bytes.Equal(a, b)
		})); diff != "" {
			t.Fatalf("scanLine(%q) (-json.Unmarshal +scanLine):\n%s", line, diff)
		}
	})
}
