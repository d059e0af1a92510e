package pipeline

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dynamodb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kinesis"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// This file holds, per function, its environment and the permissions its
// code (and its event source mapping) needs — nothing more. The Kinesis
// stream uses the AWS-managed key and the queues SSE-SQS, so no function
// needs a KMS permission (see KinesisKMSKey).

// arns is a resource list of one or more ARNs.
func arns(a ...pulumi.StringInput) pulumi.StringArray { return pulumi.StringArray(a) }

// indexARNs are the ARNs of a table's GSIs, from the contract schema.
func indexARNs(t *dynamodb.Table, schema contract.Table) pulumi.StringArray {
	var out pulumi.StringArray
	for _, ix := range schema.Indexes {
		out = append(out, pulumi.Sprintf("%s/index/%s", t.Arn, ix.Name))
	}
	return out
}

// scraperEnv is the scraper's environment: where to publish, where its
// run, lease and page-state items live, what to fetch by default and which
// hosts a request may name.
func scraperEnv(cfg Config, stream *kinesis.Stream, runs *dynamodb.Table, url, hosts pulumi.StringOutput) pulumi.StringMap {
	env := pulumi.StringMap{
		contract.EnvStreamName:       stream.Name,
		contract.EnvRunsTable:        runs.Name,
		contract.EnvScrapeURL:        url,
		contract.EnvScrapeAllowHosts: hosts,
	}
	if cfg.Profile != "" {
		env[contract.EnvScrapeProfile] = pulumi.String(cfg.Profile)
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
// function's role for both), and the projection writes. TransactWriteItems
// is authorised per item action (Put, Update, ConditionCheck), so it
// needs no action of its own.
func processorGrants(stream *kinesis.Stream, onFailure *sqs.Queue, movies, runs, errs *dynamodb.Table) []Grant {
	return []Grant{
		{Sid: "MappingReadsStream", Actions: []string{
			"kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
			"kinesis:GetShardIterator", "kinesis:ListShards",
		}, Resources: arns(stream.Arn)},
		{Sid: "MappingOnFailure", Actions: []string{"sqs:SendMessage"}, Resources: arns(onFailure.Arn)},
		{Sid: "ProjectMovies", Actions: []string{"dynamodb:UpdateItem"}, Resources: arns(movies.Arn)},
		{Sid: "CountRuns", Actions: []string{"dynamodb:ConditionCheckItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, Resources: arns(runs.Arn)},
		{Sid: "RecordErrors", Actions: []string{"dynamodb:PutItem", "dynamodb:UpdateItem"}, Resources: arns(errs.Arn)},
	}
}

// queryGrants: reads only — movies by id, by year (GSI) or all; a run by
// id; errors by id and newest first (GSI).
func queryGrants(movies, runs, errs *dynamodb.Table) []Grant {
	return []Grant{
		{Sid: "ReadMovies", Actions: []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"}, Resources: arns(movies.Arn)},
		{Sid: "ReadMovieIndexes", Actions: []string{"dynamodb:Query", "dynamodb:Scan"}, Resources: indexARNs(movies, contract.MoviesTable)},
		{Sid: "ReadRuns", Actions: []string{"dynamodb:GetItem"}, Resources: arns(runs.Arn)},
		{Sid: "ReadErrors", Actions: []string{"dynamodb:GetItem"}, Resources: arns(errs.Arn)},
		{Sid: "ListErrors", Actions: []string{"dynamodb:Query"}, Resources: indexARNs(errs, contract.ErrorsTable)},
	}
}

// errorsinkGrants: its mapping consumes the on-failure queue (the three
// actions Lambda's SQS poller needs); the function reads the failed
// records back from the stream by shard and sequence number and stores
// them in errors. Messages it keeps failing are moved to the dead-letter
// queue by SQS's redrive policy, not by the function, so it needs nothing
// on that queue.
func errorsinkGrants(stream *kinesis.Stream, onFailure *sqs.Queue, errs *dynamodb.Table) []Grant {
	return []Grant{
		{Sid: "MappingConsumesQueue", Actions: []string{"sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"}, Resources: arns(onFailure.Arn)},
		{Sid: "RereadRecords", Actions: []string{"kinesis:GetRecords", "kinesis:GetShardIterator"}, Resources: arns(stream.Arn)},
		{Sid: "RecordErrors", Actions: []string{"dynamodb:PutItem", "dynamodb:UpdateItem"}, Resources: arns(errs.Arn)},
	}
}
