package scraper_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
)

// countingPublisher accepts every record.
type countingPublisher struct{ n int }

func (p *countingPublisher) Publish(_ context.Context, recs []stream.Record) (stream.Result, error) {
	p.n += len(recs)
	return stream.Result{Published: len(recs)}, nil
}

// Example wires the service the way devstack does: embedded store, an
// in-process stream, the sample site on loopback (hence AllowPrivate), and
// the handler mounted on a mux.
func Example() {
	site := httptest.NewServer(samplesite.New(samplesite.Options{}))
	defer site.Close()

	pub := &countingPublisher{}
	svc, err := scraper.New(scraper.Config{
		URL:          site.URL + samplesite.ChartPath,
		AllowPrivate: true, // the sample site listens on 127.0.0.1
	}, scraper.Deps{Publisher: pub, Store: embedded.NewMemory()})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	for _, r := range contract.ScraperRoutes() {
		mux.Handle(r.Pattern(), svc.Handler())
	}
	api := httptest.NewServer(mux)
	defer api.Close()

	resp, err := http.Post(api.URL+"/scrape", "application/json", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var sum scraper.Summary
	_ = json.NewDecoder(resp.Body).Decode(&sum)
	fmt.Println(resp.StatusCode, sum.Published, sum.Skipped, sum.Pages, pub.n)
	// Output: 202 250 0 5 252
}
