// Command lambda serves the sample site behind API Gateway (HTTP API,
// payload format 2.0). The API maps GET /robots.txt and GET /site/... to
// this function with no stage prefix, so request paths are the site's own.
// The test knobs stay off: the deployed site is polite and predictable.
// SAMPLE_SITE_DRIFT sets how often the chart moves (unset: frozen).
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
)

func main() {
	log := lambdacontext.NewLogger()
	cfg, err := samplesite.LoadConfig(os.Getenv)
	if err != nil {
		log.Error("invalid configuration", slog.Any("error", err))
		os.Exit(1)
	}
	lambda.Start(httpx.LambdaV2(samplesite.New(cfg.Options())))
}
