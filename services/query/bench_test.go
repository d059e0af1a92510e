package query

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
)

// discard is a ResponseWriter that keeps nothing, so the benchmarks measure
// the handler, not httptest's buffers.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// loop runs h on r b.N times and reports, besides the wall time, the
// process CPU time per request (cpu-ns/op), which includes the garbage
// collector's share.
func loop(b *testing.B, h http.Handler, r *http.Request) {
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	cpu0, ok := processCPU()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
	if cpu1, _ := processCPU(); ok {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
}

func benchHandler(b *testing.B) (*Handler, store.Store) {
	st := embedded.NewMemory()
	seed(b, st)
	h, err := New(st, Options{CursorKey: testKey, Logger: quietLog})
	if err != nil {
		b.Fatal(err)
	}
	return h, st
}

// BenchmarkHandler is the cost of one request through the whole handler
// (routing, parameters, cursor, store, JSON, ETag) on the in-memory store.
// The store-only benchmarks below give the part that is the store's.
func BenchmarkHandler(b *testing.B) {
	h, _ := benchHandler(b)
	nextOf := func(target string) string {
		rec := serve(h, "GET", target)
		var body struct{ NextCursor string }
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		return body.NextCursor
	}
	cases := []struct{ name, target string }{
		{"movies page of 20", "/movies"},
		{"movies page of 20 with cursor", "/movies?cursor=" + nextOf("/movies?limit=5")},
		{"movies by year page of 20", "/movies?year=1994"},
		{"movie", "/movies/" + godfather},
		{"run", "/runs/" + runDone},
		{"errors page of 12", "/errors"},
		{"error with its payload", "/errors/" + errorItemAt(10).ID},
		{"runs page of 14", "/runs"},
		{"runs of a status", "/runs?status=completed"},
		{"history page of 4", "/movies/" + godfather + "/history"},
		{"bad limit", "/movies?limit=0"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			loop(b, h, httptest.NewRequest("GET", c.target, nil))
		})
	}
	b.Run("movies page of 20 not modified", func(b *testing.B) {
		tag := serve(h, "GET", "/movies").Header().Get("ETag")
		r := httptest.NewRequest("GET", "/movies", nil)
		r.Header.Set("If-None-Match", tag)
		loop(b, h, r)
	})
}

// fixedPage is a store that answers every listing with the same page, to
// measure the handler without any store cost.
type fixedPage struct {
	store.Store
	movies store.Page[store.Movie]
}

func (f fixedPage) ListMovies(context.Context, store.MovieFilter, int, store.PageToken) (store.Page[store.Movie], error) {
	return f.movies, nil
}

// BenchmarkOverhead is the handler alone on a page of 20 movies (with a
// nextCursor): the store returns a page it already holds.
func BenchmarkOverhead(b *testing.B) {
	_, st := benchHandler(b)
	page, err := st.ListMovies(context.Background(), store.MovieFilter{}, 20, nil)
	if err != nil || len(page.Items) != 20 || page.Next == nil {
		b.Fatalf("page: %d items, next %q, %v", len(page.Items), page.Next, err)
	}
	h, err := New(fixedPage{st, page}, Options{CursorKey: testKey, Logger: quietLog})
	if err != nil {
		b.Fatal(err)
	}
	loop(b, h, httptest.NewRequest("GET", "/movies", nil))
}

// BenchmarkStore is the in-memory store's share of the requests above.
func BenchmarkStore(b *testing.B) {
	_, st := benchHandler(b)
	ctx := context.Background()
	b.Run("ListMovies 20", func(b *testing.B) {
		b.ReportAllocs()
		cpu0, ok := processCPU()
		defer reportCPU(b, cpu0, ok)
		for b.Loop() {
			if _, err := st.ListMovies(ctx, store.MovieFilter{}, 20, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GetMovie", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := st.GetMovie(ctx, godfather); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// historyPoints is how many change points BenchmarkHistory's movie has.
const historyPoints = 120

// BenchmarkHistory is GET /movies/{id}/history?limit=50 on the in-memory
// store: a page of 50 of a movie's 120 change points, without and with a
// cursor, and (Store) the store's share of it.
func BenchmarkHistory(b *testing.B) {
	h, st := benchHandler(b)
	ctx := context.Background()
	for i := range historyPoints {
		o := store.Observation{MovieID: godfather, ObservedAt: base.Add(time.Duration(i) * time.Hour),
			EventID: fmt.Sprintf("evt-bench-%03d", i), RunID: fmt.Sprintf("run-bench-%03d", i),
			Rank: 1 + i%3, Rating: 9.2, Votes: 2000000 + i}
		if err := st.RecordObservation(ctx, o); err != nil {
			b.Fatal(err)
		}
	}
	target := "/movies/" + godfather + "/history?limit=50"
	rec := serve(h, "GET", target)
	var page struct {
		Items      []json.RawMessage
		NextCursor string
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || len(page.Items) != 50 || page.NextCursor == "" {
		b.Fatalf("%s: %d items, cursor %q, %v: %s", target, len(page.Items), page.NextCursor, err, rec.Body)
	}
	b.Run("page of 50", func(b *testing.B) {
		loop(b, h, httptest.NewRequest("GET", target, nil))
	})
	b.Run("page of 50 with cursor", func(b *testing.B) {
		loop(b, h, httptest.NewRequest("GET", target+"&cursor="+page.NextCursor, nil))
	})
	b.Run("Store", func(b *testing.B) {
		b.ReportAllocs()
		cpu0, ok := processCPU()
		defer reportCPU(b, cpu0, ok)
		for b.Loop() {
			if _, err := st.ListHistory(ctx, godfather, store.HistoryFilter{}, 50, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLambda adds the api-proxy adapter: an API Gateway v2 event in,
// a proxy response out.
func BenchmarkLambda(b *testing.B) {
	h, _ := benchHandler(b)
	adapter := httpadapter.NewV2(h)
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "GET /movies", RawPath: "/movies", RawQueryString: "limit=20",
		Headers: map[string]string{"accept": "application/json", "host": "abcdef1234.execute-api.eu-west-1.amazonaws.com"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: "abcdef1234.execute-api.eu-west-1.amazonaws.com",
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/movies"},
		},
	}
	ctx := context.Background()
	b.ReportAllocs()
	cpu0, ok := processCPU()
	defer reportCPU(b, cpu0, ok)
	for b.Loop() {
		if _, err := adapter.ProxyWithContext(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

func reportCPU(b *testing.B, cpu0 time.Duration, ok bool) {
	if cpu1, _ := processCPU(); ok {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
}
