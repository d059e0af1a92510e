// Command lambda is the errorsink function: it reads the records of the
// batches named by on-failure messages back from Kinesis into the errors
// table (see errorsink.Config).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream/kinesis"
	"github.com/scrape-pipeline/scrape-pipeline/services/errorsink"
)

func main() {
	cfg, err := errorsink.LoadConfig(os.Getenv)
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
	reader, err := kinesis.New(awskinesis.NewFromConfig(aws), kinesis.Options{})
	if err != nil {
		log.Error("kinesis reader", "error", err)
		os.Exit(1)
	}
	st := dynamo.New(dynamodb.NewFromConfig(aws), dynamo.Tables{Movies: cfg.MoviesTable, Runs: cfg.RunsTable, Errors: cfg.ErrorsTable})
	lambda.Start(errorsink.New(reader, st, errorsink.Options{Logger: log}).Handle)
}
