// Command lambda is the query function: API Gateway HTTP API (payload 2.0)
// events in, the query handler's answers out, over the DynamoDB tables.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
	"github.com/scrape-pipeline/scrape-pipeline/services/query"
)

func main() {
	log := lambdacontext.NewLogger()
	cfg := query.LoadConfig(os.Getenv)
	opts, err := cfg.Options(log)
	if err != nil {
		fail(log, "invalid configuration", err)
	}
	if cfg.CursorKey == "" {
		// Instances behind one API must sign cursors with one key, or a
		// cursor from one is refused by the next.
		fail(log, "invalid configuration", fmt.Errorf("%s: required in Lambda", contract.EnvCursorKey))
	}
	aws, err := config.LoadDefaultConfig(context.Background(), config.WithHTTPClient(awshttp.NewBuildableClient()))
	if err != nil {
		fail(log, "load AWS configuration", err)
	}
	tables := dynamo.Tables{Movies: cfg.MoviesTable, Runs: cfg.RunsTable, Errors: cfg.ErrorsTable, History: cfg.HistoryTable}
	h, err := query.New(dynamo.New(dynamodb.NewFromConfig(aws), tables), opts)
	if err != nil {
		fail(log, "build handler", err)
	}
	lambda.Start(httpx.LambdaV2(h))
}

func fail(log *slog.Logger, msg string, err error) {
	log.Error(msg, slog.Any("error", err))
	os.Exit(1)
}
