package pipeline

import (
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dynamodb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kinesis"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// This file holds, per function, its environment and the permissions its
// code (and its event source mapping) needs — nothing more. The Kinesis
// stream uses the AWS-managed key and the queues SSE-SQS, so no function
// needs a KMS permission (see KinesisKMSKey).

// arns is a resource list of one or more ARNs.
func arns(a ...pulumi.StringInput) pulumi.StringArray { return pulumi.StringArray(a) }

// tableIndexARN is the ARN of one of a table's GSIs (a contract index name).
func tableIndexARN(t *dynamodb.Table, index string) pulumi.StringInput {
	return pulumi.Sprintf("%s/index/%s", t.Arn, index)
}

// ScrapeAllowHint is how the scraper's 400 for a host outside the
// allow-list tells a stack's user to allow it.
const ScrapeAllowHint = "add it to the stack's allowHosts (pulumi config set --path 'allowHosts[N]' HOST[:PORT], then pulumi up)"

// scraperEnv is the scraper's environment: where to publish, where its
// run, lease and page-state items live, what to fetch by default, which
// hosts a request may name (and how to allow another) and, when set, how
// many detail pages to fetch at once.
func scraperEnv(cfg Config, stream *kinesis.Stream, runs *dynamodb.Table, url, hosts pulumi.StringOutput) pulumi.StringMap {
	env := pulumi.StringMap{
		contract.EnvStreamName:       stream.Name,
		contract.EnvRunsTable:        runs.Name,
		contract.EnvScrapeURL:        url,
		contract.EnvScrapeAllowHosts: hosts,
		contract.EnvScrapeAllowHint:  pulumi.String(ScrapeAllowHint),
	}
	if cfg.Profile != "" {
		env[contract.EnvScrapeProfile] = pulumi.String(cfg.Profile)
	}
	if cfg.ScrapeDetailConcurrency > 0 {
		env[contract.EnvScrapeDetailConcurrency] = pulumi.String(strconv.Itoa(cfg.ScrapeDetailConcurrency))
	}
	return env
}

// scraperGrants: PutRecords of the events; the run item, the per-host
// lease and the page's conditional-GET state in runs.
func scraperGrants(stream *kinesis.Stream, runs *dynamodb.Table) []Grant {
	return []Grant{
		{Sid: "PublishEvents", Actions: []string{"kinesis:PutRecords"}, Resources: arns(stream.Arn)},
		{Sid: "RunsLeasesPages", Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, Resources: arns(runs.Arn)},
	}
}

// processorGrants: what its mapping needs to read the stream and send
// failed batches' metadata to the on-failure queue (Lambda uses the
// function's role for both) — the Lambda developer guide lists
// DescribeStream, DescribeStreamSummary, GetRecords, GetShardIterator and
// ListShards on the stream, and SubscribeToShard for an enhanced fan-out
// consumer, which this mapping is not
// (https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-create.html).
// kinesis:ListStreams, which older versions of the guide and the managed
// AWSLambdaKinesisExecutionRole still grant (on "*"), is left out: the
// mapping names its stream by ARN and never lists the account's streams.
// Then the projection writes of libs/store's
// DynamoDB adapter: ApplyMovie is a conditional UpdateItem (GetItem reads
// the newer item back where ALL_OLD is missing), preceded by a GetItem of
// the event's progress marker in runs when the event has a digest,
// StartRun and CompleteRun UpdateItem the run, CountEvent is a
// TransactWriteItems of a conditional Put and an Update on runs
// (authorised per item action as PutItem and UpdateItem; it needs no
// action of its own; a GetItem reads a conflicting marker's digest where
// the cancellation lacks it), PutError an UpdateItem with a PutItem
// fallback. RecordObservation keeps every observation of a movie in
// history: Query finds its neighbours, a transaction puts it and updates
// its successor's change flag and change point (PutItem, UpdateItem,
// DeleteItem; ConditionCheck is authorised as GetItem).
func processorGrants(stream *kinesis.Stream, onFailure *sqs.Queue, movies, runs, errs, history *dynamodb.Table) []Grant {
	return []Grant{
		{Sid: "MappingReadsStream", Actions: []string{
			"kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
			"kinesis:GetShardIterator", "kinesis:ListShards",
		}, Resources: arns(stream.Arn)},
		{Sid: "MappingOnFailure", Actions: []string{"sqs:SendMessage"}, Resources: arns(onFailure.Arn)},
		{Sid: "ProjectMovies", Actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, Resources: arns(movies.Arn)},
		{Sid: "CountRuns", Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, Resources: arns(runs.Arn)},
		{Sid: "RecordErrors", Actions: []string{"dynamodb:PutItem", "dynamodb:UpdateItem"}, Resources: arns(errs.Arn)},
		{Sid: "RecordHistory", Actions: []string{
			"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
		}, Resources: arns(history.Arn)},
	}
}

// queryEnv is the query service's environment: its tables, the cursor
// signing key (a secret), the CORS origins only when some are configured
// (unset, the service allows none) and, when POST /scrape needs a
// signature, the signed curl line the dashboard shows instead of a
// button.
func queryEnv(cfg Config, movies, runs, errs, history *dynamodb.Table, cursorKey *random.RandomBytes, scrapeCommand pulumi.StringOutput) pulumi.StringMap {
	env := pulumi.StringMap{
		contract.EnvMoviesTable:  movies.Name,
		contract.EnvRunsTable:    runs.Name,
		contract.EnvErrorsTable:  errs.Name,
		contract.EnvHistoryTable: history.Name,
		contract.EnvCursorKey:    pulumi.ToSecret(cursorKey.Base64).(pulumi.StringOutput),
	}
	if len(cfg.CORSOrigins) > 0 {
		env[contract.EnvCORSOrigins] = pulumi.String(strings.Join(cfg.CORSOrigins, ","))
	}
	if cfg.ScrapeAuth != ScrapeAuthNone {
		env[contract.EnvScrapeCommand] = scrapeCommand
	}
	return env
}

// queryGrants: reads only — a movie by id (GetItem), all movies (Scan of
// the table) or one year's (Query of byYear); a movie's history (Query of
// its change points); a run by id, runs newest first (Query of byStart);
// an error item by id with its payload (GetItem), errors newest first
// (Query of byTime, which projects no payloads).
func queryGrants(movies, runs, errs, history *dynamodb.Table) []Grant {
	return []Grant{
		{Sid: "ReadMovies", Actions: []string{"dynamodb:GetItem", "dynamodb:Scan"}, Resources: arns(movies.Arn)},
		{Sid: "ListMoviesByYear", Actions: []string{"dynamodb:Query"}, Resources: arns(tableIndexARN(movies, contract.MoviesByYearIndex))},
		{Sid: "ListHistory", Actions: []string{"dynamodb:Query"}, Resources: arns(history.Arn)},
		{Sid: "ReadRuns", Actions: []string{"dynamodb:GetItem"}, Resources: arns(runs.Arn)},
		{Sid: "ListRuns", Actions: []string{"dynamodb:Query"}, Resources: arns(tableIndexARN(runs, contract.RunsByStartIndex))},
		{Sid: "ReadErrors", Actions: []string{"dynamodb:GetItem"}, Resources: arns(errs.Arn)},
		{Sid: "ListErrors", Actions: []string{"dynamodb:Query"}, Resources: arns(tableIndexARN(errs, contract.ErrorsByTimeIndex))},
	}
}

// errorsinkGrants: its mapping consumes the on-failure queue (the three
// actions Lambda's SQS poller needs); the function reads the failed
// records back from the stream each message names (GetShardIterator,
// GetRecords by stream ARN), stores them in errors (PutError) and counts
// them as failed events of their run (CountEvent). Messages it keeps
// failing are moved to the dead-letter queue by SQS's redrive policy, not
// by the function, so it needs nothing on that queue.
func errorsinkGrants(stream *kinesis.Stream, onFailure *sqs.Queue, runs, errs *dynamodb.Table) []Grant {
	return []Grant{
		{Sid: "MappingConsumesQueue", Actions: []string{"sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"}, Resources: arns(onFailure.Arn)},
		{Sid: "RereadRecords", Actions: []string{"kinesis:GetRecords", "kinesis:GetShardIterator"}, Resources: arns(stream.Arn)},
		{Sid: "CountFailedEvents", Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, Resources: arns(runs.Arn)},
		{Sid: "RecordErrors", Actions: []string{"dynamodb:PutItem", "dynamodb:UpdateItem"}, Resources: arns(errs.Arn)},
	}
}
