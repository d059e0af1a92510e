// Command lambda serves the sample site behind API Gateway (HTTP API,
// payload format 2.0). The API maps GET /robots.txt and GET /site/... to
// this function with no stage prefix, so request paths are the site's own.
// The test knobs stay off: the deployed site is polite and predictable.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
)

func main() {
	adapter := httpadapter.NewV2(samplesite.New(samplesite.Options{}))
	lambda.Start(adapter.ProxyWithContext)
}
