package ui

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"golang.org/x/net/html"
)

// xss is text from outside (a scraped title, a stream record) that would
// run script if it were ever written as markup.
const xss = `<img src=x onerror=alert(1)>`

var (
	base   = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	source = "https://sample.example/chart"
)

const (
	godfather  = "the-godfather-1972"
	xssMovie   = "xss-film-2026"
	runRunning = "run-20260301-120000-00000001"
	runDone    = "run-20260301-110000-00000002"
	runFailed  = "run-20260301-100000-00000003"
	nMovies    = 120 // more than two pages
	nHistory   = 7   // change points of the godfather
	nErrors    = 30  // more than a page
)

// fakeCursors seal tokens in plain sight, bound to their listing: enough
// to test that the pages hand them around; the query service's HMAC
// signer is tested there.
type fakeCursors struct{}

func (fakeCursors) Seal(listing string, t store.PageToken) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte(listing+"\x00"), t...))
}

func (fakeCursors) Open(listing, cursor string) (store.PageToken, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, err
	}
	tok, ok := bytes.CutPrefix(b, []byte(listing+"\x00"))
	if !ok {
		return nil, errors.New("cursor of another listing")
	}
	return store.PageToken(tok), nil
}

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func newDash(t testing.TB, st Store, cfg Config) *Handler {
	t.Helper()
	h, err := New(st, Options{Config: cfg, Cursors: fakeCursors{}, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// seed writes the fixture through the store's own operations.
func seed(t testing.TB, st store.Store) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range nMovies {
		m := store.Movie{ID: fmt.Sprintf("film-%03d-%d", i, 1950+i%50), Title: fmt.Sprintf("Film %03d", i), Year: 1950 + i%50,
			Rank: nMovies - i, Rating: 7 + float64(i%30)/10, Votes: 1000 * (i + 1), Source: source,
			FirstSeen: base, LastSeen: base, LastRunID: runDone, LastEventID: fmt.Sprintf("evt-%d", i), LastEventTime: base}
		_, err := st.ApplyMovie(ctx, m)
		must(err)
	}
	last := base.Add(nHistory * time.Hour)
	_, err := st.ApplyMovie(ctx, store.Movie{ID: godfather, Title: "The Godfather", Year: 1972, Rank: 2, Rating: 9.2, Votes: 2000000,
		Director: "Francis Ford Coppola", Genres: []string{"Crime", "Drama"}, RuntimeMinutes: 175,
		DetailURL: "https://sample.example/films/the-godfather-1972", Source: source,
		FirstSeen: base, LastSeen: last, LastRunID: runDone, LastEventID: "evt-godfather", LastEventTime: last})
	must(err)
	_, err = st.ApplyMovie(ctx, store.Movie{ID: xssMovie, Title: xss, Year: 2026, Rank: 0, Rating: 1, Director: xss,
		Genres: []string{xss}, DetailURL: "javascript:alert(1)", Source: source, FirstSeen: base, LastSeen: base,
		LastRunID: runDone, LastEventID: "evt-xss", LastEventTime: base})
	must(err)
	for i := range nHistory {
		must(st.RecordObservation(ctx, store.Observation{MovieID: godfather, ObservedAt: base.Add(time.Duration(i) * time.Hour),
			EventID: fmt.Sprintf("evt-h%d", i), RunID: runDone, Rank: 2 + i%3, Rating: 9.0 + float64(i)/10, Votes: 1000 + i}))
	}
	must(st.StartRun(ctx, store.Run{ID: runFailed, Source: source, StartedAt: base.Add(-2 * time.Hour), Trigger: store.TriggerSchedule}))
	must(st.CompleteRun(ctx, store.Run{ID: runFailed, Source: source, StartedAt: base.Add(-2 * time.Hour),
		FinishedAt: base.Add(-2*time.Hour + time.Second), Error: "fetch: 503 " + xss}))
	must(st.StartRun(ctx, store.Run{ID: runDone, Source: source, StartedAt: base.Add(-time.Hour), Trigger: store.TriggerAPI}))
	must(st.CompleteRun(ctx, store.Run{ID: runDone, Source: source, StartedAt: base.Add(-time.Hour),
		FinishedAt: base.Add(-time.Hour + 2*time.Second), Published: 2, Pages: 1, DurationMs: 2000}))
	for _, e := range []string{"e1", "e2"} {
		_, err := st.CountEvent(ctx, runDone, e, store.CounterProcessed, "")
		must(err)
	}
	must(st.StartRun(ctx, store.Run{ID: runRunning, Source: source, StartedAt: base, Trigger: store.TriggerAPI}))
	_, err = st.CountEvent(ctx, runRunning, "e1", store.CounterProcessed, "")
	must(err)
	for i := range nErrors {
		payload := []byte(fmt.Sprintf(`{"n":%d}`, i))
		switch i % 3 {
		case 0:
			payload = []byte(xss)
		case 1:
			payload = append([]byte{0xff, 0x00, 0xfe}, bytes.Repeat([]byte{byte(i)}, 400)...)
		}
		seq := fmt.Sprintf("4959%020d", i)
		at := base.Add(time.Duration(i) * time.Minute)
		must(st.PutError(ctx, store.ErrorItem{ID: store.ErrorID(store.StageDecode, "shardId-000000000000", seq, ""),
			Stage: store.StageDecode, Reason: "malformed " + xss, RunID: runDone, Payload: payload, PayloadSize: len(payload),
			ShardID: "shardId-000000000000", SequenceNumber: seq, PartitionKey: xss, Attempts: 1,
			FirstFailure: at, LastFailure: at, ExpiresAt: time.Now().Add(24 * time.Hour).Truncate(time.Second)}))
	}
}

func seeded(t testing.TB) store.Store {
	st := embedded.NewMemory()
	seed(t, st)
	return st
}

// get sends one GET through h.
func get(h http.Handler, target string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	return w
}

// parse parses an HTML answer.
func parse(t testing.TB, body []byte) *html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// findAll returns the elements of doc that match.
func findAll(doc *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
	}
	return out
}

func tag(name string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == name }
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// textOf is the text content of n.
func textOf(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}

// words is the text of n as a reader would read it: every text node, one
// space between words.
func words(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
			b.WriteByte(' ')
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// failing is a store whose reads fail with err.
type failing struct {
	store.Store
	err error
}

func (f failing) ListRuns(context.Context, store.RunFilter, int, store.PageToken) (store.Page[store.Run], error) {
	return store.Page[store.Run]{}, f.err
}

func (f failing) ListMovies(context.Context, store.MovieFilter, int, store.PageToken) (store.Page[store.Movie], error) {
	return store.Page[store.Movie]{}, f.err
}

func (f failing) ListHistory(context.Context, string, store.HistoryFilter, int, store.PageToken) (store.Page[store.Observation], error) {
	return store.Page[store.Observation]{}, f.err
}
