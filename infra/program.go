package main

import (
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/scrape-pipeline/scrape-pipeline/infra/pipeline"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// moviesPath is the query API's listing of movies, the moviesUrl output
// (a test checks that contract.QueryRoutes serves it).
const moviesPath = "/movies"

// scheduleInput is the event a schedule (stack config schedule) invokes
// the scraper with: the scraper's own, scraping its configured URL.
func scheduleInput() string { return contract.ScheduledScrape("").JSON() }

// profileDetailConcurrency is how many detail pages the scraper's profile
// (stack config profile: a built-in name, inline JSON, or empty for the
// default) fetches at once: contract.DefaultDetailConcurrency for the
// default profile, else 0, unknown here. The program does not link the
// scraper to load a profile; with 0 the sample site's throttle assumes the
// most the scraper ever fetches (the stack's scrapeDetailConcurrency, when
// set, says exactly).
func profileDetailConcurrency(spec string) int {
	switch strings.TrimSpace(spec) {
	case "", contract.DefaultProfile:
		return contract.DefaultDetailConcurrency
	}
	return 0
}

// serviceRoutes are the routes the HTTP-facing services register: the
// API's routes are built from exactly these.
func serviceRoutes() pipeline.Routes {
	return pipeline.Routes{
		Scraper:    contract.ScraperRoutes(),
		Query:      contract.QueryRoutes(),
		SampleSite: contract.SampleSiteRoutes(),
	}
}

// program declares the stack: the configuration read through get (one
// error listing every problem), the pipeline, and its outputs exported.
func program(ctx *pulumi.Context, get func(string) string, arts pipeline.Artifacts) (*pipeline.Pipeline, error) {
	cfg, err := pipeline.LoadConfig(get, ctx.Stack())
	if err != nil {
		return nil, err
	}
	p, err := pipeline.NewPipeline(ctx, ctx.Project(), &pipeline.PipelineArgs{
		Config:                   cfg,
		Routes:                   serviceRoutes(),
		Artifacts:                arts,
		SampleSitePage:           contract.SampleSiteChartPath,
		MoviesPath:               moviesPath,
		ProfileDetailConcurrency: profileDetailConcurrency(cfg.Profile),
		ScheduleInput:            scheduleInput(),
	})
	if err != nil {
		return nil, err
	}
	for name, out := range p.Outputs {
		ctx.Export(name, out)
	}
	return p, nil
}
