// Command lambda serves the sample site behind API Gateway (HTTP API,
// payload format 2.0). The API maps GET /robots.txt and GET /site/... to
// this function with no stage prefix, so request paths are the site's own.
// The test knobs stay off: the deployed site is polite and predictable.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
)

func main() {
	lambda.Start(httpx.LambdaV2(samplesite.New(samplesite.Options{})))
}
