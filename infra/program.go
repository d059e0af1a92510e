package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/scrape-pipeline/scrape-pipeline/infra/pipeline"
	"github.com/scrape-pipeline/scrape-pipeline/services/query"
	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
)

// moviesPath is the query API's listing of movies, the moviesUrl output
// (a test checks that query.Routes serves it).
const moviesPath = "/movies"

// serviceRoutes are the routes the HTTP-facing services export: the API's
// routes are built from exactly these.
func serviceRoutes() pipeline.Routes {
	return pipeline.Routes{
		Scraper:    scraper.Routes,
		Query:      query.Routes,
		SampleSite: samplesite.Routes,
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
		Config:         cfg,
		Routes:         serviceRoutes(),
		Artifacts:      arts,
		SampleSitePage: samplesite.ChartPath,
		MoviesPath:     moviesPath,
	})
	if err != nil {
		return nil, err
	}
	for name, out := range p.Outputs {
		ctx.Export(name, out)
	}
	return p, nil
}
