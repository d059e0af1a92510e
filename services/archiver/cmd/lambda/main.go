// Command lambda is the archive's Firehose record transformation function:
// it turns each Kinesis record of a batch into one archive line (see
// package archiver). It needs no configuration.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/scrape-pipeline/scrape-pipeline/services/archiver"
)

func main() {
	// Lambda's JSON log format and log level, with the request id on every
	// line logged with the invocation's context.
	h := archiver.New(archiver.Options{Logger: lambdacontext.NewLogger()})
	lambda.Start(h.Handle)
}
