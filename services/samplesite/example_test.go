package samplesite_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

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
