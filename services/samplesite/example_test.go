package samplesite_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
)

// Serve the site with httptest, as the scraper's tests do, and make a
// conditional request with the ETag of the first answer.
func ExampleNew() {
	srv := httptest.NewServer(samplesite.New(samplesite.Options{Knobs: true}))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/site/chart?page=5")
	if err != nil {
		panic(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))

	req, _ := http.NewRequest("GET", srv.URL+"/site/chart?page=5", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	again, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	again.Body.Close()
	fmt.Println(again.StatusCode)

	failing, err := http.Get(srv.URL + "/site/chart?status=429&retryAfter=30")
	if err != nil {
		panic(err)
	}
	failing.Body.Close()
	fmt.Println(failing.StatusCode, failing.Header.Get("Retry-After"))

	films := samplesite.Films()
	fmt.Println(len(films), films[1].Title, films[1].Path())
	// Output:
	// 200 text/html; charset=utf-8
	// 304
	// 429 30
	// 250 The Godfather /site/films/the-godfather-1972
}

// Predict what a site drifting every hour serves at a given time: the
// period, when it starts and ends, and the top of its chart.
func ExampleChartAt() {
	at := time.Date(2026, time.May, 4, 12, 34, 56, 0, time.UTC)
	for _, f := range samplesite.ChartAt(at, time.Hour, 0)[:3] {
		fmt.Println(f.Rank, f.Title, f.RatingText(), f.Votes)
	}
	d := samplesite.Drift{Every: time.Hour}
	n := d.Period(at)
	fmt.Println(n, d.Start(n).Format(time.TimeOnly), d.Start(n+1).Format(time.TimeOnly))
	// Output:
	// 1 The Dark Knight 9.4 2887417
	// 2 The Godfather 9.4 3722497
	// 3 The Lord of the Rings: The Two Towers 9.3 3780424
	// 493860 12:00:00 13:00:00
}

// A drifting site with a clock the test drives: within a period a
// conditional request gets 304; in the next period the page has changed.
func ExampleNew_drift() {
	now := time.Date(2026, time.May, 4, 12, 0, 0, 0, time.UTC)
	h := samplesite.New(samplesite.Options{Drift: time.Minute, Now: func() time.Time { return now }})
	get := func(etag string) *http.Response {
		req := httptest.NewRequest("GET", samplesite.ChartPageURL(1), nil)
		req.Header.Set("If-None-Match", etag)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}
	first := get("")
	fmt.Println(first.StatusCode, first.Header.Get("Last-Modified"))
	now = now.Add(59 * time.Second)
	fmt.Println(get(first.Header.Get("ETag")).StatusCode)
	now = now.Add(time.Second)
	next := get(first.Header.Get("ETag"))
	fmt.Println(next.StatusCode, next.Header.Get("Last-Modified"))
	// Output:
	// 200 Mon, 04 May 2026 12:00:00 GMT
	// 304
	// 200 Mon, 04 May 2026 12:01:00 GMT
}
