package main

import (
	"net/http"
	"net/netip"
	"net/url"
	"slices"

	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
)

// scraperHandler builds the scraper service on devstack's backends, keeps
// it for the schedule and returns its handler.
func (s *Stack) scraperHandler() (http.Handler, error) {
	// The scraper's guard refuses loopback and private addresses; devstack
	// lets through exactly its own sample site, and everything private
	// only with --allow-private.
	site, err := netip.ParseAddrPort(s.siteLn.Addr().String())
	if err != nil {
		return nil, err
	}
	svc, err := scraper.New(scraper.Config{
		URL:          s.scrapeURL,
		Profile:      s.cfg.Profile,
		AllowHosts:   allowHosts(s.scrapeURL, s.siteLn.Addr().String(), s.cfg.AllowHosts),
		AllowPrivate: s.cfg.AllowPrivate,
		AllowAddrs:   []netip.AddrPort{site},
		AllowHint:    allowHint,
		Interval:     s.cfg.ScrapeInterval,
		// 0 is the profile's own.
		DetailConcurrency: s.cfg.DetailConcurrency,
	}, scraper.Deps{
		Publisher: s.stream,
		Store:     s.tables,
		Logger:    s.log.With("function", "scraper"),
	})
	if err != nil {
		return nil, err
	}
	s.scraper = svc
	return svc.Handler(), nil
}

// allowHint ends the 400 for a host outside the allow-list: how to allow
// it here.
const allowHint = "restart devstack with --allow-host HOST[:PORT]"

// allowHosts is the scraper's allow-list of hosts a POST /scrape body may
// name: the configured URL's host, as on AWS (the stack allows its url's
// host), the sample site's address, and the --allow-host values. A host
// is given with its port when the URL names one, so that only that port
// is allowed.
func allowHosts(scrapeURL, site string, extra []string) []string {
	var hosts []string
	if u, err := url.Parse(scrapeURL); err == nil && u.Hostname() != "" {
		h := u.Hostname()
		if u.Port() != "" {
			h = u.Host
		}
		hosts = append(hosts, h)
	}
	for _, h := range append([]string{site}, extra...) {
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts
}
