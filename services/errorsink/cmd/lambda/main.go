// Command lambda is the errorsink function: it reads the records of the
// batches named by on-failure messages back from Kinesis into the errors
// table (see errorsink.Config).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream/kinesis"
	"github.com/scrape-pipeline/scrape-pipeline/services/errorsink"
	"github.com/scrape-pipeline/scrape-pipeline/services/errorsink/lambdaadapter"
)

func main() {
	// Lambda's JSON log format and application log level, with the
	// request id of the invocation on every line logged with its context.
	log := lambdacontext.NewLogger()
	cfg, err := errorsink.LoadConfig(os.Getenv)
	if err != nil {
		fail(log, "bad configuration", err)
	}
	aws, err := config.LoadDefaultConfig(context.Background(), config.WithHTTPClient(awshttp.NewBuildableClient()))
	if err != nil {
		fail(log, "AWS configuration", err)
	}
	reader, err := kinesis.New(awskinesis.NewFromConfig(aws), kinesis.Options{})
	if err != nil {
		fail(log, "kinesis reader", err)
	}
	st := dynamo.New(dynamodb.NewFromConfig(aws), dynamo.Tables{Movies: cfg.MoviesTable, Runs: cfg.RunsTable, Errors: cfg.ErrorsTable})
	lambda.Start(lambdaadapter.Handler(errorsink.New(reader, st, errorsink.Options{Logger: log})))
}

func fail(log *slog.Logger, what string, err error) {
	log.Error(what, slog.String("error", err.Error()))
	os.Exit(1)
}
