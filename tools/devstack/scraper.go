package main

import (
	"net/http"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
)

// scraperHandler builds the scraper service on devstack's backends and
// returns its handler and routes.
func (s *Stack) scraperHandler() (http.Handler, []contract.Route, error) {
	svc, err := scraper.New(scraper.Config{
		URL:          s.scrapeURL,
		Profile:      s.cfg.Profile,
		AllowPrivate: true, // see fetcher: only the sample site unless --allow-private
		Interval:     s.cfg.ScrapeInterval,
	}, scraper.Deps{
		Publisher: s.stream,
		Store:     s.tables,
		Logger:    s.log.With("function", "scraper"),
	})
	if err != nil {
		return nil, nil, err
	}
	return svc.Handler(), scraper.Routes, nil
}
