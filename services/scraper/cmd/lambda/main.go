// Command lambda is the scraper's AWS Lambda function: POST /scrape behind
// API Gateway (HTTP API, payload 2.0), and the stack's schedule
// (EventBridge Scheduler) with a scraper.ScheduleInput. It only wires
// configuration and adapters; package lambdaadapter tells the two events
// apart, the logic is package scraper.
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
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
	kinesisadapter "github.com/scrape-pipeline/scrape-pipeline/libs/stream/kinesis"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper/lambdaadapter"
)

func main() {
	log := lambdacontext.NewLogger()
	cfg, err := scraper.LoadConfig(os.Getenv)
	if err != nil {
		fail(log, "bad configuration", err)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithHTTPClient(awshttp.NewBuildableClient()))
	if err != nil {
		fail(log, "AWS configuration", err)
	}
	stream, err := kinesisadapter.New(kinesis.NewFromConfig(awsCfg), kinesisadapter.Options{StreamName: cfg.StreamName})
	if err != nil {
		fail(log, "kinesis adapter", err)
	}
	svc, err := scraper.New(cfg, scraper.Deps{
		Publisher: stream,
		Store:     dynamo.New(dynamodb.NewFromConfig(awsCfg), dynamo.Tables{Runs: cfg.RunsTable}),
		Logger:    log,
	})
	if err != nil {
		fail(log, "scraper", err)
	}
	lambda.Start(lambdaadapter.New(svc, log))
}

func fail(log *slog.Logger, what string, err error) {
	log.Error(what, slog.String("error", err.Error()))
	os.Exit(1)
}
