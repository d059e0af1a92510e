package pipeline

import (
	"fmt"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/scrape-pipeline/scrape-pipeline/infra/internal/mocktest"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// Resource type tokens the tests look at.
const (
	typeStream     = "aws:kinesis/stream:Stream"
	typeTable      = "aws:dynamodb/table:Table"
	typeQueue      = "aws:sqs/queue:Queue"
	typeFunction   = "aws:lambda/function:Function"
	typeRole       = "aws:iam/role:Role"
	typePolicy     = "aws:iam/rolePolicy:RolePolicy"
	typeLogGroup   = "aws:cloudwatch/logGroup:LogGroup"
	typeMapping    = "aws:lambda/eventSourceMapping:EventSourceMapping"
	typeAPI        = "aws:apigatewayv2/api:Api"
	typeRoute      = "aws:apigatewayv2/route:Route"
	typeInteg      = "aws:apigatewayv2/integration:Integration"
	typeStage      = "aws:apigatewayv2/stage:Stage"
	typePermission = "aws:lambda/permission:Permission"
	typeAlarm      = "aws:cloudwatch/metricAlarm:MetricAlarm"
	typeRandom     = "random:index/randomBytes:RandomBytes"
	typeBucket     = "aws:s3/bucketV2:BucketV2"
	typePAB        = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
	typeOwnership  = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
	typeSSE        = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
	typeBucketPol  = "aws:s3/bucketPolicy:BucketPolicy"
	typeLifecycle  = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
	typeFirehose   = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
	typeLogStream  = "aws:cloudwatch/logStream:LogStream"
	typeSchedule   = "aws:scheduler/schedule:Schedule"
	typeTopic      = "aws:sns/topic:Topic"
	typeSubscr     = "aws:sns/topicSubscription:TopicSubscription"
	typeKey        = "aws:kms/key:Key"
)

// testDetailConcurrency stands in for the scraper profile's detail
// concurrency (package main compares the real one).
const testDetailConcurrency = 8

// testScheduleInput stands in for the scraper's schedule input.
const testScheduleInput = `{"trigger":"schedule"}`

const testStack = "courseX"

// fakeArtifacts returns fixed paths and hashes: the mock tests build
// nothing.
type fakeArtifacts struct{}

func (fakeArtifacts) Zip(name string) (string, string, error) {
	return "dist/lambda/" + name + ".zip", "sha256-of-" + name, nil
}

// testRoutes stand in for the services' exported routes (the infra
// program's own test compares the real ones).
var testRoutes = Routes{
	Scraper: []contract.Route{{Method: "POST", Path: "/scrape"}},
	Query: []contract.Route{
		{Method: "GET", Path: "/movies"},
		{Method: "GET", Path: "/movies/{id}"},
		{Method: "GET", Path: "/runs/{id}"},
		{Method: "GET", Path: "/errors"},
	},
	SampleSite: []contract.Route{
		{Method: "GET", Path: "/robots.txt"},
		{Method: "GET", Path: "/site"},
		{Method: "GET", Path: "/site/chart"},
		{Method: "GET", Path: "/site/films/{id}"},
		{Method: "GET", Path: "/site/static/style.css"},
	},
}

// testConfig is a valid configuration scraping a third-party URL.
func testConfig() Config {
	c := DefaultConfig(testStack)
	c.URL = "https://films.example.org/chart"
	return c
}

// result is what one mocked program run produced.
type result struct {
	rec     *mocktest.Recorder
	outputs map[string]string
}

// runPipeline runs NewPipeline under mocks and resolves its outputs.
func runPipeline(t testing.TB, cfg Config, routes Routes) (result, error) {
	t.Helper()
	rec := &mocktest.Recorder{}
	var mu sync.Mutex
	outputs := map[string]string{}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		p, err := NewPipeline(ctx, "scrape-pipeline", &PipelineArgs{
			Config:                   cfg,
			Routes:                   routes,
			Artifacts:                fakeArtifacts{},
			SampleSitePage:           "/site/chart",
			MoviesPath:               "/movies",
			ProfileDetailConcurrency: testDetailConcurrency,
			ScheduleInput:            testScheduleInput,
		})
		if err != nil {
			return err
		}
		for k, o := range p.Outputs {
			o.ApplyT(func(v string) string {
				mu.Lock()
				outputs[k] = v
				mu.Unlock()
				return v
			})
		}
		return nil
	}, pulumi.WithMocks("scrape-pipeline", testStack, rec))
	return result{rec: rec, outputs: outputs}, err
}

// mustRun is runPipeline failing the test on error.
func mustRun(t testing.TB, cfg Config) result {
	t.Helper()
	r, err := runPipeline(t, cfg, testRoutes)
	if err != nil {
		t.Fatalf("run pipeline: %v", err)
	}
	return r
}

// one returns the only resource of a type and logical name.
func (r result) one(t testing.TB, typ, name string) resource.PropertyMap {
	t.Helper()
	res, ok := r.rec.Get(typ, name)
	if !ok {
		t.Fatalf("no %s named %q", typ, name)
	}
	return res.Inputs
}

// plain returns the inputs of a resource as plain values.
func (r result) plain(t testing.TB, typ, name string) map[string]any {
	t.Helper()
	return mocktest.Plain(r.one(t, typ, name))
}

// Mock ARNs, as the Recorder computes them from contract names.
func streamARN() string {
	return fmt.Sprintf("arn:aws:kinesis:%s:%s:stream/%s", mocktest.Region, mocktest.Account, contract.Name(contract.StreamBase, testStack))
}

func tableARN(base string) string {
	return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", mocktest.Region, mocktest.Account, contract.Name(base, testStack))
}

func indexARN(base, index string) string { return tableARN(base) + "/index/" + index }

func queueARN(base string) string {
	return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", mocktest.Region, mocktest.Account, contract.Name(base, testStack))
}

func logStreamsARN(service string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:/aws/lambda/%s:*", mocktest.Region, mocktest.Account, contract.Name(service, testStack))
}

func functionARN(service string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", mocktest.Region, mocktest.Account, contract.Name(service, testStack))
}

func logGroupARN(name string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", mocktest.Region, mocktest.Account, name)
}

// testBucket is the archive bucket's name in the mock account.
func testBucket() string { return BucketName(mocktest.Account, testStack) }

func bucketARN() string { return "arn:aws:s3:::" + testBucket() }

func apiEndpoint() string {
	return fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com", mocktest.APIID, mocktest.Region)
}
