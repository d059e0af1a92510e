package events

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// class sorts a data decoding outcome the way Decode does: success, a
// syntax error (malformed event) or a type error (invalid event).
func class(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var dte *dataTypeError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &se), errors.Is(err, errDataSyntax):
		return "syntax"
	case errors.As(err, &te), errors.As(err, &dte):
		return "type"
	}
	return "other: " + err.Error()
}

var movieV2Seeds = []string{
	`{"title":"The Godfather","year":1972,"rank":2,"rating":{"value":9.2,"votes":2031554},"director":"Francis Ford Coppola","genres":["Crime","Drama"],"runtimeMinutes":175,"detailUrl":"https://films.example.org/site/films/the-godfather-1972"}`,
	` { "title" : "Amélie" , "year" : 2001 , "rating" : { "value" : 8.3 } } `,
	`{"title":"a\u00e9\"b\\\/","year":2001,"rating":{"value":1}}`,
	`{"TITLE":"x","Year":1999,"RATING":{"VALUE":5,"Votes":3}}`,
	`{"title":null,"year":null,"rating":null,"genres":null}`,
	`{"genres":[],"rating":{"value":1,"votes":5},"rating":{"value":2}}`,
	`{"genres":["a",null,"b"],"year":1e3}`,
	`{"year":1.0}`, `{"year":-0}`, `{"year":99999999999999999999}`, `{"rating":{"value":1e400}}`,
	`{"title":["x"]}`, `{"genres":"Drama"}`, `{"rating":[1]}`, `{"extra":{"deep":[1,{"a":null}]},"title":"t"}`,
	`{"title":"x",}`, `{"title":"x" "year":1}`, `{"title":"unterminated}`, `{"year":01}`, `{"year":-}`,
	`{"title":"tab	inside"}`, "{\"title\":\"\xff\xfe\"}", `{"title":"x"} trailing`, `{}`,
	`{"rating":{"value":true}}`, `{"genres":[1,2]}`, `{"runtimeMinutes":"96"}`,
	// A repeated genres: null clears it; an array decodes into the
	// earlier one's backing array, where a null element keeps what was
	// there (encoding/json's reuse), and [] starts afresh.
	`{"genres":["a"],"genres":null}`, `{"genres":["x","y"],"genres":["a",null]}`,
	`{"genres":["x","y"],"genres":["a"],"genres":["b",null]}`, `{"genres":["x","y"],"genres":[],"genres":["a",null]}`,
	`{"genres":["x"],"genres":["a",null,null]}`, `{"genres":[null]}`,
}

func TestDecodeMovieV2MatchesEncodingJSON(t *testing.T) {
	for _, s := range movieV2Seeds {
		t.Run(s, func(t *testing.T) { checkAgainstEncodingJSON(t, s) })
	}
}

// FuzzMovieV2Data holds the hand-written movie.observed v2 decoder to
// encoding/json: the same struct for every object encoding/json accepts,
// the same class of error (syntax or type) for everything else.
func FuzzMovieV2Data(f *testing.F) {
	for _, s := range movieV2Seeds {
		f.Add(s)
	}
	f.Fuzz(checkAgainstEncodingJSON)
}

func checkAgainstEncodingJSON(t *testing.T, data string) {
	t.Helper()
	if !strings.HasPrefix(strings.TrimLeft(data, " \t\r\n"), "{") {
		return // Decode hands the decoder objects only
	}
	var want MovieObservedV2
	wantErr := json.Unmarshal([]byte(data), &want)
	got, gotErr := decodeMovieV2(data)
	if wc, gc := class(wantErr), class(gotErr); wc != gc {
		t.Fatalf("%q: encoding/json %s (%v), decodeMovieV2 %s (%v)", data, wc, wantErr, gc, gotErr)
	}
	if wantErr != nil {
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("%q (-encoding/json +decodeMovieV2):\n%s", data, diff)
	}
}
