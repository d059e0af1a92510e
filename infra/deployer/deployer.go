// Package deployer builds the least-privilege IAM policy a workshop
// organiser attaches to each attendee's IAM user, so that the attendee can
// run `pulumi up -s courseX` and `pulumi destroy -s courseX` for their own
// stack, and sign `POST /scrape` to its API, and do nothing to another
// attendee's stack in the same account.
//
// The policy is generated, not written: a table maps each resource type
// the Pulumi program declares to the statements that creating, reading,
// updating, deleting (and reading the tags of) that type takes, as the
// Pulumi AWS provider calls AWS for it. A test in package main runs the
// program under mocks with every optional feature on and fails when it
// registers a type the table does not cover, or a resource whose ARN no
// statement of its type matches.
//
// Every statement names the attendee's suffix in its resources (the
// stack names everything <base>-<suffix>) or in its condition, except the
// few that AWS offers no way to scope by name, each listed in Exceptions
// with the reason: the HTTP API's management (API ids are random), the
// log delivery API Gateway sets up for access logs (no resource-level
// permissions), listing log groups and reading event source mappings
// (read-only), and invoking POST /scrape before the API's id is known.
//
// The table follows the Terraform AWS provider's calls behind the Pulumi
// AWS provider v6 and the Service Authorization Reference; it has not been
// exercised against AWS from here. Try it on one attendee's user (up,
// scrape, destroy) before the workshop: an AccessDenied names the
// missing action.
package deployer

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/scrape-pipeline/scrape-pipeline/infra/iampolicy"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// Options say whose policy to build.
type Options struct {
	// Suffix is the attendee's stack suffix (stack config suffix,
	// default the stack name), required.
	Suffix string
	// Region and Account narrow every ARN; empty means any ("*").
	Region  string
	Account string
	// APIID narrows POST /scrape to the attendee's API once it is
	// deployed (pulumi stack output apiUrl holds it); empty means any API
	// of the account.
	APIID string
}

var (
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	apiIDRE   = regexp.MustCompile(`^[a-z0-9]{10}$`)
)

// Validate reports every problem of o at once.
func (o Options) Validate() error {
	var errs []error
	if err := contract.ValidSuffix(o.Suffix); err != nil {
		errs = append(errs, err)
	}
	if o.Region != "" && !regionRE.MatchString(o.Region) {
		errs = append(errs, fmt.Errorf("region %q is not an AWS region name such as eu-west-2", o.Region))
	}
	if o.Account != "" && !accountRE.MatchString(o.Account) {
		errs = append(errs, fmt.Errorf("account %q is not a 12-digit AWS account id", o.Account))
	}
	if o.APIID != "" && !apiIDRE.MatchString(o.APIID) {
		errs = append(errs, fmt.Errorf("API id %q is not an API Gateway id (10 lower-case letters and digits)", o.APIID))
	}
	return errors.Join(errs...)
}

// rule is one statement of the policy and the resource types it serves.
type rule struct {
	sid string
	// types are the Pulumi resource types the statement serves.
	types   []string
	actions []string
	// resources are ARN templates: {region}, {account}, {suffix}, {lsuffix}
	// (the suffix in lower case, for S3) and {api} are filled in.
	resources []string
	// condition, when set, is the statement's Condition (its values are
	// templates too).
	condition iampolicy.Condition
}

// Exception is a statement whose resources do not name the suffix.
type Exception struct {
	// ReadOnly is true when every action only reads.
	ReadOnly bool
	// Reason says why AWS allows no narrower resource.
	Reason string
}

// Exceptions lists, by Sid, the statements whose resources cannot name
// the suffix, and why.
var Exceptions = map[string]Exception{
	"ListLogGroups": {true, "logs:DescribeLogGroups lists by prefix; IAM authorises it on the account's log groups, not on a name."},
	"ReadEventSourceMappings": {true, "Event source mappings are named by random UUIDs; reading one has no condition key " +
		"for its function (creating, updating and deleting do: EventSourceMappingsOfOwnFunctions)."},
	"ManageHTTPAPIs": {false, "HTTP APIs, their routes, integrations and stages are named by random ids " +
		"(/apis/<id>/…): IAM cannot tell one attendee's API from another's. Every attendee may change any HTTP API " +
		"of the account in this region; give each attendee an account of their own where that matters."},
	"DeliverAPIAccessLogs": {false, "API Gateway sets up the access log through CloudWatch Logs' log delivery API " +
		"(CreateLogDelivery, PutResourcePolicy, …), which has no resource-level permissions."},
	"InvokeScrape": {false, "The API's id is known only after the first deployment: without --api-id any API of " +
		"the account may be signed for, on POST /scrape only; rerun with --api-id to narrow it."},
}

// Resource type tokens of the program.
const (
	typeStream        = "aws:kinesis/stream:Stream"
	typeTable         = "aws:dynamodb/table:Table"
	typeQueue         = "aws:sqs/queue:Queue"
	typeFunction      = "aws:lambda/function:Function"
	typePermission    = "aws:lambda/permission:Permission"
	typeMapping       = "aws:lambda/eventSourceMapping:EventSourceMapping"
	typeRole          = "aws:iam/role:Role"
	typeRolePolicy    = "aws:iam/rolePolicy:RolePolicy"
	typeLogGroup      = "aws:cloudwatch/logGroup:LogGroup"
	typeLogStream     = "aws:cloudwatch/logStream:LogStream"
	typeAlarm         = "aws:cloudwatch/metricAlarm:MetricAlarm"
	typeAPI           = "aws:apigatewayv2/api:Api"
	typeRoute         = "aws:apigatewayv2/route:Route"
	typeIntegration   = "aws:apigatewayv2/integration:Integration"
	typeStage         = "aws:apigatewayv2/stage:Stage"
	typeBucket        = "aws:s3/bucketV2:BucketV2"
	typePublicAccess  = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
	typeOwnership     = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
	typeEncryption    = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
	typeBucketPolicy  = "aws:s3/bucketPolicy:BucketPolicy"
	typeLifecycle     = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
	typeFirehose      = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
	typeSchedule      = "aws:scheduler/schedule:Schedule"
	typeTopic         = "aws:sns/topic:Topic"
	typeSubscription  = "aws:sns/topicSubscription:TopicSubscription"
	typeKey           = "aws:kms/key:Key"
	typeRandomBytes   = "random:index/randomBytes:RandomBytes"
	bucketTypesPrefix = "aws:s3/"
)

// local are resource types that call no AWS API: the random provider
// computes on the deployer's machine.
var local = []string{typeRandomBytes}

// named is "<any base>-<suffix>", the end of every name of the stack.
const named = "*-{suffix}"

// rules are the policy's statements, in order.
var rules = []rule{
	{sid: "KinesisStream", types: []string{typeStream}, actions: []string{
		"kinesis:CreateStream", "kinesis:DecreaseStreamRetentionPeriod", "kinesis:DeleteStream", "kinesis:DescribeStream",
		"kinesis:DescribeStreamSummary", "kinesis:IncreaseStreamRetentionPeriod", "kinesis:ListTagsForStream",
		"kinesis:StartStreamEncryption", "kinesis:UpdateShardCount",
	}, resources: []string{"arn:aws:kinesis:{region}:{account}:stream/" + named}},

	{sid: "DynamoDBTables", types: []string{typeTable}, actions: []string{
		"dynamodb:CreateTable", "dynamodb:DeleteTable", "dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTable",
		"dynamodb:DescribeTimeToLive", "dynamodb:ListTagsOfResource", "dynamodb:UpdateContinuousBackups",
		"dynamodb:UpdateTable", "dynamodb:UpdateTimeToLive",
	}, resources: []string{"arn:aws:dynamodb:{region}:{account}:table/" + named}},

	{sid: "SQSQueues", types: []string{typeQueue}, actions: []string{
		"sqs:CreateQueue", "sqs:DeleteQueue", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags",
		"sqs:SetQueueAttributes",
	}, resources: []string{"arn:aws:sqs:{region}:{account}:" + named}},

	{sid: "LambdaFunctions", types: []string{typeFunction, typePermission}, actions: []string{
		"lambda:AddPermission", "lambda:CreateFunction", "lambda:DeleteFunction", "lambda:DeleteFunctionConcurrency",
		"lambda:GetFunction", "lambda:GetFunctionCodeSigningConfig", "lambda:GetFunctionConfiguration", "lambda:GetPolicy",
		"lambda:ListTags", "lambda:ListVersionsByFunction", "lambda:PutFunctionConcurrency", "lambda:RemovePermission",
		"lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration",
	}, resources: []string{"arn:aws:lambda:{region}:{account}:function:" + named}},

	// Creating a mapping is authorised on "*", updating and deleting on
	// the mapping's random UUID; all three take the function's ARN as a
	// condition key.
	{sid: "EventSourceMappingsOfOwnFunctions", types: []string{typeMapping}, actions: []string{
		"lambda:CreateEventSourceMapping", "lambda:DeleteEventSourceMapping", "lambda:UpdateEventSourceMapping",
	}, resources: []string{"*"}, condition: iampolicy.Condition{
		"ArnLike": {"lambda:FunctionArn": {"arn:aws:lambda:{region}:{account}:function:" + named}},
	}},
	{sid: "ReadEventSourceMappings", types: []string{typeMapping}, actions: []string{
		"lambda:GetEventSourceMapping", "lambda:ListTags",
	}, resources: []string{"arn:aws:lambda:{region}:{account}:event-source-mapping:*"}},

	{sid: "IAMRoles", types: []string{typeRole, typeRolePolicy}, actions: []string{
		"iam:CreateRole", "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:GetRole", "iam:GetRolePolicy",
		"iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:ListRolePolicies", "iam:ListRoleTags",
		"iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole",
	}, resources: []string{"arn:aws:iam::{account}:role/" + named}},
	// The roles go to the services that assume them, and nowhere else.
	{sid: "PassOwnRoles", types: []string{typeFunction, typeFirehose, typeSchedule}, actions: []string{"iam:PassRole"},
		resources: []string{"arn:aws:iam::{account}:role/" + named}, condition: iampolicy.Condition{
			"StringEquals": {"iam:PassedToService": {"firehose.amazonaws.com", "lambda.amazonaws.com", "scheduler.amazonaws.com"}},
		}},

	// The functions' (/aws/lambda/…), Firehose's (/aws/kinesisfirehose/…)
	// and the API's (/aws/vendedlogs/apigateway/…/access) log groups, and
	// the one log stream the stack creates (Firehose's). IAM writes a log
	// group as log-group:NAME and its streams under log-group:NAME:*.
	{sid: "LogGroups", types: []string{typeLogGroup, typeLogStream}, actions: []string{
		"logs:CreateLogGroup", "logs:CreateLogStream", "logs:DeleteLogGroup", "logs:DeleteLogStream",
		"logs:DeleteRetentionPolicy", "logs:DescribeLogStreams", "logs:ListTagsForResource", "logs:ListTagsLogGroup",
		"logs:PutRetentionPolicy",
	}, resources: []string{
		"arn:aws:logs:{region}:{account}:log-group:/aws/" + named,
		"arn:aws:logs:{region}:{account}:log-group:/aws/" + named + ":*",
		"arn:aws:logs:{region}:{account}:log-group:/aws/" + named + "/access",
		"arn:aws:logs:{region}:{account}:log-group:/aws/" + named + "/access:*",
	}},
	{sid: "ListLogGroups", types: []string{typeLogGroup}, actions: []string{"logs:DescribeLogGroups"},
		resources: []string{"arn:aws:logs:{region}:{account}:log-group:*"}},

	{sid: "ManageHTTPAPIs", types: []string{typeAPI, typeRoute, typeIntegration, typeStage}, actions: []string{
		"apigateway:DELETE", "apigateway:GET", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT",
	}, resources: []string{"arn:aws:apigateway:{region}::/apis", "arn:aws:apigateway:{region}::/apis/*"}},
	{sid: "DeliverAPIAccessLogs", types: []string{typeStage}, actions: []string{
		"logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeResourcePolicies", "logs:GetLogDelivery",
		"logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery",
	}, resources: []string{"*"}},

	{sid: "Alarms", types: []string{typeAlarm}, actions: []string{
		"cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource", "cloudwatch:PutMetricAlarm",
	}, resources: []string{"arn:aws:cloudwatch:{region}:{account}:alarm:" + named}},

	// The archive bucket (S3 names are lower case), every call the
	// provider makes to read a bucket's configuration, the settings the
	// stack writes, and emptying it at destroy (forceDestroy).
	{sid: "ArchiveBucket", types: []string{typeBucket, typePublicAccess, typeOwnership, typeEncryption, typeBucketPolicy, typeLifecycle},
		actions: []string{
			"s3:CreateBucket", "s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:GetAccelerateConfiguration", "s3:GetBucketAcl",
			"s3:GetBucketCORS", "s3:GetBucketLocation", "s3:GetBucketLogging", "s3:GetBucketObjectLockConfiguration",
			"s3:GetBucketOwnershipControls", "s3:GetBucketPolicy", "s3:GetBucketPublicAccessBlock", "s3:GetBucketRequestPayment",
			"s3:GetBucketTagging", "s3:GetBucketVersioning", "s3:GetBucketWebsite", "s3:GetEncryptionConfiguration",
			"s3:GetLifecycleConfiguration", "s3:GetReplicationConfiguration", "s3:ListBucket", "s3:ListBucketVersions",
			"s3:PutBucketOwnershipControls", "s3:PutBucketPolicy", "s3:PutBucketPublicAccessBlock",
			"s3:PutEncryptionConfiguration", "s3:PutLifecycleConfiguration",
		}, resources: []string{"arn:aws:s3:::" + contract.ArchiveBucketBase + "-{account}-{lsuffix}"}},
	// tools/replay reads the archive with the attendee's keys.
	{sid: "ArchiveObjects", types: []string{typeBucket}, actions: []string{
		"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObject",
	}, resources: []string{"arn:aws:s3:::" + contract.ArchiveBucketBase + "-{account}-{lsuffix}/*"}},

	{sid: "ArchiveDeliveryStream", types: []string{typeFirehose}, actions: []string{
		"firehose:CreateDeliveryStream", "firehose:DeleteDeliveryStream", "firehose:DescribeDeliveryStream",
		"firehose:ListTagsForDeliveryStream", "firehose:UpdateDestination",
	}, resources: []string{"arn:aws:firehose:{region}:{account}:deliverystream/" + named}},

	{sid: "ScrapeSchedule", types: []string{typeSchedule}, actions: []string{
		"scheduler:CreateSchedule", "scheduler:DeleteSchedule", "scheduler:GetSchedule", "scheduler:UpdateSchedule",
	}, resources: []string{"arn:aws:scheduler:{region}:{account}:schedule/default/" + named}},

	{sid: "AlarmTopic", types: []string{typeTopic, typeSubscription}, actions: []string{
		"sns:CreateTopic", "sns:DeleteTopic", "sns:GetSubscriptionAttributes", "sns:GetTopicAttributes",
		"sns:ListTagsForResource", "sns:SetSubscriptionAttributes", "sns:SetTopicAttributes", "sns:Subscribe",
		"sns:Unsubscribe",
	}, resources: []string{"arn:aws:sns:{region}:{account}:" + named, "arn:aws:sns:{region}:{account}:" + named + ":*"}},

	// KMS keys are named by random ids: the stack tags its key with its
	// suffix (contract.StackTagKey), and the attendee may create a key
	// only with that tag, and touch only keys that carry it.
	{sid: "CreateAlarmKeyTagged", types: []string{typeKey}, actions: []string{"kms:CreateKey", "kms:TagResource"},
		resources: []string{"*"}, condition: iampolicy.Condition{
			"StringEquals":              {"aws:RequestTag/" + contract.StackTagKey: {"{suffix}"}},
			"ForAllValues:StringEquals": {"aws:TagKeys": {contract.StackTagKey}},
		}},
	{sid: "AlarmKeyTagged", types: []string{typeKey}, actions: []string{
		"kms:DescribeKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus",
		"kms:ListResourceTags", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion",
	}, resources: []string{"arn:aws:kms:{region}:{account}:key/*"}, condition: iampolicy.Condition{
		"StringEquals": {"aws:ResourceTag/" + contract.StackTagKey: {"{suffix}"}},
	}},

	// The signed POST /scrape (scrapeAuth iam).
	{sid: "InvokeScrape", types: nil, actions: []string{"execute-api:Invoke"},
		resources: []string{"arn:aws:execute-api:{region}:{account}:{api}/$default/" + contract.ScrapeRoute.Method + contract.ScrapeRoute.Path}},
}

// fill replaces the templates of s.
func (o Options) fill(s string) string {
	orAll := func(v string) string {
		if v == "" {
			return "*"
		}
		return v
	}
	return strings.NewReplacer(
		"{region}", orAll(o.Region), "{account}", orAll(o.Account), "{api}", orAll(o.APIID),
		"{suffix}", o.Suffix, "{lsuffix}", strings.ToLower(o.Suffix),
	).Replace(s)
}

// MaxPolicySize is the most characters, white space not counted, that an
// IAM customer managed policy may hold.
const MaxPolicySize = 6144

// Policies returns the deployer policy for o split, statements in order,
// into as few documents as keep each within MaxPolicySize: an IAM user may
// have up to ten managed policies attached, and the whole policy is more
// than one may hold. Attach them all.
func Policies(o Options) ([]iampolicy.Document, error) {
	whole, err := Policy(o)
	if err != nil {
		return nil, err
	}
	var docs []iampolicy.Document
	cur := iampolicy.Document{Version: whole.Version}
	for _, s := range whole.Statement {
		next := cur
		next.Statement = append(slices.Clone(cur.Statement), s)
		size, err := Size(next)
		if err != nil {
			return nil, err
		}
		switch {
		case size <= MaxPolicySize:
			cur = next
		case len(cur.Statement) == 0:
			return nil, fmt.Errorf("deployer policy: statement %s alone is over %d characters", s.Sid, MaxPolicySize)
		default:
			docs = append(docs, cur)
			cur = iampolicy.Document{Version: whole.Version, Statement: []iampolicy.Statement{s}}
		}
	}
	return append(docs, cur), nil
}

// Size is a policy's size as IAM counts it: its JSON without white space
// (outside strings, where encoding/json writes none).
func Size(doc iampolicy.Document) (int, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return 0, fmt.Errorf("marshal policy: %w", err)
	}
	return len(b) - strings.Count(string(b), " "), nil
}

// Policy returns the whole deployer policy for o: one Allow statement per
// rule, actions sorted. See Policies for the documents to attach.
func Policy(o Options) (iampolicy.Document, error) {
	if err := o.Validate(); err != nil {
		return iampolicy.Document{}, fmt.Errorf("deployer policy: %w", err)
	}
	doc := iampolicy.Document{Version: iampolicy.Version}
	for _, r := range rules {
		s := iampolicy.Statement{Sid: r.sid, Effect: iampolicy.Allow, Action: slices.Sorted(slices.Values(r.actions))}
		for _, res := range r.resources {
			s.Resource = append(s.Resource, o.fill(res))
		}
		if r.condition != nil {
			s.Condition = iampolicy.Condition{}
			for op, keys := range r.condition {
				s.Condition[op] = map[string][]string{}
				for k, vals := range keys {
					for _, v := range vals {
						s.Condition[op][k] = append(s.Condition[op][k], o.fill(v))
					}
				}
			}
		}
		doc.Statement = append(doc.Statement, s)
	}
	return doc, nil
}

// Covers reports whether the policy covers deploying resources of a
// Pulumi resource type, and which statements serve it (none for a type
// that calls no AWS API).
func Covers(resourceType string) (sids []string, ok bool) {
	if slices.Contains(local, resourceType) {
		return nil, true
	}
	for _, r := range rules {
		if slices.Contains(r.types, resourceType) {
			sids = append(sids, r.sid)
		}
	}
	return sids, len(sids) > 0
}
