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
)

func main() {
	cfg, err := processor.LoadConfig(os.Getenv)
	if err != nil {
		slog.Error("bad configuration", "error", err)
		os.Exit(1)
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	aws, err := config.LoadDefaultConfig(context.Background(), config.WithHTTPClient(awshttp.NewBuildableClient()))
	if err != nil {
		log.Error("load AWS configuration", "error", err)
		os.Exit(1)
	}
	st := dynamo.New(dynamodb.NewFromConfig(aws), dynamo.Tables{Movies: cfg.MoviesTable, Runs: cfg.RunsTable, Errors: cfg.ErrorsTable})
	h := processor.New(st, processor.Options{Logger: log, Metrics: os.Stdout, FunctionName: lambdacontext.FunctionName})
	lambda.Start(h.Handle)
}
