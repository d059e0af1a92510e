// Command lambda is the processor function: it projects Kinesis batches
// into the DynamoDB tables named by its environment (see processor.Config).
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

	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
	"github.com/scrape-pipeline/scrape-pipeline/services/processor"
	"github.com/scrape-pipeline/scrape-pipeline/services/processor/lambdaadapter"
)

func main() {
	// Lambda's JSON log format and application log level, with the
	// request id of the invocation on every line logged with its context.
	log := lambdacontext.NewLogger()
	cfg, err := processor.LoadConfig(os.Getenv)
	if err != nil {
		fail(log, "bad configuration", err)
	}
	aws, err := config.LoadDefaultConfig(context.Background(), config.WithHTTPClient(awshttp.NewBuildableClient()))
	if err != nil {
		fail(log, "AWS configuration", err)
	}
	st := dynamo.New(dynamodb.NewFromConfig(aws), dynamo.Tables{
		Movies: cfg.MoviesTable, Runs: cfg.RunsTable, Errors: cfg.ErrorsTable, History: cfg.HistoryTable,
	})
	h := processor.New(st, processor.Options{Logger: log, Metrics: os.Stdout, FunctionName: lambdacontext.FunctionName,
		MaxClockSkew: cfg.MaxClockSkew})
	lambda.Start(lambdaadapter.Handler(h))
}

func fail(log *slog.Logger, what string, err error) {
	log.Error(what, slog.String("error", err.Error()))
	os.Exit(1)
}
