package main

import (
	"net/http"
	"net/netip"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
)

// scraperHandler builds the scraper service on devstack's backends and
// returns its handler and routes.
func (s *Stack) scraperHandler() (http.Handler, []contract.Route, error) {
	// The scraper's guard refuses loopback and private addresses; devstack
	// lets through exactly its own sample site, and everything private
	// only with --allow-private.
	site, err := netip.ParseAddrPort(s.siteLn.Addr().String())
	if err != nil {
		return nil, nil, err
	}
	svc, err := scraper.New(scraper.Config{
		URL:          s.scrapeURL,
		Profile:      s.cfg.Profile,
		AllowPrivate: s.cfg.AllowPrivate,
		AllowAddrs:   []netip.AddrPort{site},
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
