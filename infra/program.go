package main

import (
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/scrape-pipeline/scrape-pipeline/infra/pipeline"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper/profile"
)

// moviesPath is the query API's listing of movies, the moviesUrl output
// (a test checks that contract.QueryRoutes serves it).
const moviesPath = "/movies"

// scheduleInput is the event a schedule (stack config schedule) invokes
// the scraper with: the scraper's own, scraping its configured URL.
func scheduleInput() string {
	in, err := scraper.NewScheduleInput("")
	if err != nil { // only a URL can be wrong, and there is none
		panic(err)
	}
	return in.JSON()
}

// profileDetailConcurrency is how many detail pages the scraper's profile
// (stack config profile: a built-in name, inline JSON, or empty for the
// default) fetches at once, 0 when the profile does not load here (the
// scraper then refuses to start, and the sample site's throttle assumes
// the most the scraper ever fetches).
func profileDetailConcurrency(spec string) int {
	var (
		p   *profile.Profile
		err error
	)
	switch spec = strings.TrimSpace(spec); {
	case spec == "":
		p, err = profile.Builtin(profile.Default)
	case strings.HasPrefix(spec, "{"):
		p, err = profile.Parse([]byte(spec))
	default:
		p, err = profile.Builtin(spec)
	}
	if err != nil {
		return 0
	}
	return p.DetailConcurrency()
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
		SampleSitePage:           samplesite.ChartPath,
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
