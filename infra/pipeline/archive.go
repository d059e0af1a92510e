package pipeline

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kinesis"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/scrape-pipeline/scrape-pipeline/infra/iampolicy"
	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/services/archiver"
)

// Names of the archive's resources: the delivery stream is
// contract.Name(ArchiveBase, suffix), its role FirehoseRoleBase's, the
// bucket BucketName's.
const (
	ArchiveBase      = "archive"
	FirehoseRoleBase = "archive-firehose"
	// FirehoseLogStream is the delivery stream's log stream for delivery
	// errors, the name the Firehose console gives it.
	FirehoseLogStream = "DestinationDelivery"
)

// The delivery stream's settings.
const (
	// ArchiveBufferSizeMB and ArchiveBufferIntervalSeconds are the S3
	// buffering hints: an object is written when 5 MB of (transformed,
	// uncompressed) lines are waiting, archive.DefaultMaxBytes as devstack
	// buffers them, or 60 s after the first; a scrape's events land in one
	// or two objects a minute or two after it.
	ArchiveBufferSizeMB          = archive.DefaultMaxBytes >> 20
	ArchiveBufferIntervalSeconds = 60
	// ArchiveCompression is Firehose's CompressionFormat: the archive's
	// objects are gzip (archive.ObjectExt).
	ArchiveCompression = "GZIP"
	// ArchiveProcessorRetries is the processor's NumberOfRetries: how often
	// Firehose retries invoking the archiver (throttled, timed out) before
	// it writes the batch under the error prefix. A shared workshop account
	// throttles Lambda more than most, and a retry costs nothing but time.
	ArchiveProcessorRetries = 5
	// ArchiverMaxTimeout caps the archiver's timeout, in seconds: Firehose
	// waits at most 5 minutes for a transformation.
	ArchiverMaxTimeout = 300
	// AbortUploadDays is when the bucket's lifecycle aborts an unfinished
	// multipart upload, whose parts would otherwise be stored (and billed)
	// unseen.
	AbortUploadDays = 1
	// ArchiveSSE is the bucket's default encryption: SSE-S3 (see NewArchive).
	ArchiveSSE = "AES256"
)

// BucketName is the archive bucket's name for an account and a stack
// suffix: scrape-archive-<account>-<suffix in lower case>. S3 bucket names
// are global across all AWS accounts and lower case; the account id keeps
// them apart (the IAM roles, also global per account, already forbid the
// same suffix twice in one account), and the name still ends with the
// suffix. At most 15 + 12 + 1 + 32 = 60 characters, within S3's 63.
func BucketName(account, suffix string) string {
	return contract.ArchiveBucketBase + "-" + account + "-" + strings.ToLower(suffix)
}

// ArchiveArgs configures an Archive.
type ArchiveArgs struct {
	// Suffix ends every name.
	Suffix string
	// Account is the stack's AWS account id.
	Account pulumi.StringInput
	// Stream is the Kinesis stream to archive.
	Stream *kinesis.Stream
	// Archiver is the record transformation function
	// (services/archiver).
	Archiver *Function
	// ExpireDays is how long an object is kept; 0 keeps it forever.
	ExpireDays int
	// ForceDestroy lets the bucket be deleted with its objects.
	ForceDestroy bool
	// LogRetentionDays is the delivery stream's log group's retention.
	LogRetentionDays int
}

// Archive is the permanent event log on AWS: an Amazon Data Firehose
// delivery stream that reads the Kinesis stream, has each batch turned into
// archive lines by the archiver function and writes them, gzip-compressed,
// under libs/archive's hour prefixes into a bucket of the stack.
//
// The bucket blocks all public access, leaves ACLs off (the bucket owner
// owns every object), refuses any request not made over TLS, and encrypts
// every object with SSE-S3: free, no key to manage, and neither Firehose
// nor tools/replay needs a KMS permission; SSE-KMS with a key of the stack
// would cost $1 a month per key plus $0.03 per 10,000 requests (each
// Firehose PUT, each replay GET) and buy an audit trail in CloudTrail this
// workshop does not need. Versioning is off: every object is written once
// under a unique key and never overwritten, so versions would only keep
// what the lifecycle expires (and make forceDestroy delete versions too);
// a production archive that must survive a deleting mistake would add
// versioning with Object Lock.
type Archive struct {
	pulumi.ResourceState

	// Bucket holds the archive.
	Bucket *s3.BucketV2
	// Delivery is the Firehose delivery stream.
	Delivery *kinesis.FirehoseDeliveryStream
	// Role is the role Firehose assumes, Policy its one policy.
	Role   *iam.Role
	Policy *iam.RolePolicy
	// LogGroup receives Firehose's delivery errors.
	LogGroup *cloudwatch.LogGroup
}

// NewArchive creates the bucket, its settings, the delivery stream's log
// group and role, and the delivery stream.
func NewArchive(ctx *pulumi.Context, name string, args *ArchiveArgs, opts ...pulumi.ResourceOption) (*Archive, error) {
	a := &Archive{}
	if err := ctx.RegisterComponentResource("scrape-pipeline:infra:Archive", name, a, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(a)
	deliveryName := contract.Name(ArchiveBase, args.Suffix)

	bucketName := args.Account.ToStringOutput().ApplyT(func(acct string) string {
		return BucketName(acct, args.Suffix)
	}).(pulumi.StringOutput)
	bucket, err := s3.NewBucketV2(ctx, ArchiveBase, &s3.BucketV2Args{
		Bucket:       bucketName,
		ForceDestroy: pulumi.Bool(args.ForceDestroy),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("archive bucket: %w", err)
	}
	// S3 applies one bucket-level configuration change at a time and
	// answers a concurrent one OperationAborted: each setting waits for the
	// one before.
	var prev pulumi.Resource = bucket
	after := func() pulumi.ResourceOption { return pulumi.DependsOn([]pulumi.Resource{prev}) }

	if prev, err = s3.NewBucketPublicAccessBlock(ctx, ArchiveBase+"-public-access", &s3.BucketPublicAccessBlockArgs{
		Bucket:                bucket.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, parent, after()); err != nil {
		return nil, fmt.Errorf("archive public access block: %w", err)
	}
	if prev, err = s3.NewBucketOwnershipControls(ctx, ArchiveBase+"-ownership", &s3.BucketOwnershipControlsArgs{
		Bucket: bucket.ID(),
		Rule:   &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, parent, after()); err != nil {
		return nil, fmt.Errorf("archive ownership controls: %w", err)
	}
	if prev, err = s3.NewBucketServerSideEncryptionConfigurationV2(ctx, ArchiveBase+"-encryption", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
				SseAlgorithm: pulumi.String(ArchiveSSE),
			},
		}},
	}, parent, after()); err != nil {
		return nil, fmt.Errorf("archive encryption: %w", err)
	}
	if prev, err = s3.NewBucketPolicy(ctx, ArchiveBase+"-tls-only", &s3.BucketPolicyArgs{
		Bucket: bucket.ID(),
		Policy: bucket.Arn.ApplyT(tlsOnlyPolicy).(pulumi.StringOutput),
	}, parent, after()); err != nil {
		return nil, fmt.Errorf("archive bucket policy: %w", err)
	}
	if prev, err = s3.NewBucketLifecycleConfigurationV2(ctx, ArchiveBase+"-lifecycle", &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules:  lifecycleRules(args.ExpireDays),
	}, parent, after()); err != nil {
		return nil, fmt.Errorf("archive lifecycle: %w", err)
	}
	settled := prev

	logGroup, err := cloudwatch.NewLogGroup(ctx, ArchiveBase+"-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(FirehoseLogGroupName(deliveryName)),
		RetentionInDays: pulumi.Int(args.LogRetentionDays),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("archive log group: %w", err)
	}
	logStream, err := cloudwatch.NewLogStream(ctx, ArchiveBase+"-delivery-errors", &cloudwatch.LogStreamArgs{
		Name:         pulumi.String(FirehoseLogStream),
		LogGroupName: logGroup.Name,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("archive log stream: %w", err)
	}

	fn := args.Archiver.Lambda
	// The processor names the function with its $LATEST qualifier, as
	// Firehose's own console does; IAM matches the qualified and the
	// unqualified ARN separately, so both are granted: one function.
	processorARN := pulumi.Sprintf("%s:$LATEST", fn.Arn)
	role, policy, err := newServiceRole(ctx, ArchiveBase+"-firehose", &serviceRoleArgs{
		Name:        contract.Name(FirehoseRoleBase, args.Suffix),
		Description: "Role Firehose assumes to archive stream " + contract.Name(contract.StreamBase, args.Suffix),
		// Firehose's documented condition: it assumes the role only for
		// this account.
		Trust:  accountTrustPolicy("FirehoseAssumeRole", "firehose.amazonaws.com", "sts:ExternalId", args.Account),
		Grants: firehoseGrants(args.Stream, fn.Arn, processorARN, bucket.Arn, logGroup.Arn),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}

	delivery, err := kinesis.NewFirehoseDeliveryStream(ctx, ArchiveBase, &kinesis.FirehoseDeliveryStreamArgs{
		Name:        pulumi.String(deliveryName),
		Destination: pulumi.String("extended_s3"),
		KinesisSourceConfiguration: &kinesis.FirehoseDeliveryStreamKinesisSourceConfigurationArgs{
			KinesisStreamArn: args.Stream.Arn,
			RoleArn:          role.Arn,
		},
		ExtendedS3Configuration: &kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationArgs{
			RoleArn:           role.Arn,
			BucketArn:         bucket.Arn,
			Prefix:            pulumi.String(archive.FirehosePrefix),
			ErrorOutputPrefix: pulumi.String(archive.FirehoseErrorPrefix),
			CompressionFormat: pulumi.String(ArchiveCompression),
			BufferingSize:     pulumi.Int(ArchiveBufferSizeMB),
			BufferingInterval: pulumi.Int(ArchiveBufferIntervalSeconds),
			CloudwatchLoggingOptions: &kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationCloudwatchLoggingOptionsArgs{
				Enabled:       pulumi.Bool(true),
				LogGroupName:  logGroup.Name,
				LogStreamName: logStream.Name,
			},
			ProcessingConfiguration: &kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationArgs{
				Enabled: pulumi.Bool(true),
				Processors: kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessorArray{
					&kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessorArgs{
						Type:       pulumi.String("Lambda"),
						Parameters: processorParameters(processorARN),
					},
				},
			},
		},
	}, parent,
		// Firehose checks on creation that it can assume the role, read the
		// stream and invoke the function, and writes at once: the policy,
		// the function and the bucket's settings first.
		pulumi.DependsOn([]pulumi.Resource{policy, args.Archiver, settled}))
	if err != nil {
		return nil, fmt.Errorf("archive delivery stream: %w", err)
	}

	a.Bucket, a.Delivery, a.Role, a.Policy, a.LogGroup = bucket, delivery, role, policy, logGroup
	if err := ctx.RegisterResourceOutputs(a, pulumi.Map{
		"bucket":   bucket.Bucket,
		"delivery": delivery.Name,
	}); err != nil {
		return nil, err
	}
	return a, nil
}

// FirehoseLogGroupName is the log group of a delivery stream, where the
// Firehose console puts it.
func FirehoseLogGroupName(delivery string) string { return "/aws/kinesisfirehose/" + delivery }

// processorParameters are the Lambda processor's parameters: the
// function, and the batch Firehose hands it (services/archiver's sizes,
// with which a batch's response stays within Lambda's 6 MB).
func processorParameters(lambdaARN pulumi.StringInput) kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessorParameterArray {
	param := func(name string, value pulumi.StringInput) *kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessorParameterArgs {
		return &kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessorParameterArgs{
			ParameterName: pulumi.String(name), ParameterValue: value,
		}
	}
	itoa := func(n int) pulumi.StringInput { return pulumi.String(strconv.Itoa(n)) }
	return kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessorParameterArray{
		param("LambdaArn", lambdaARN),
		param("BufferSizeInMBs", itoa(archiver.BufferSizeMB)),
		param("BufferIntervalInSeconds", itoa(archiver.BufferIntervalSeconds)),
		param("NumberOfRetries", itoa(ArchiveProcessorRetries)),
	}
}

// lifecycleRules abort unfinished multipart uploads after AbortUploadDays
// and, unless days is 0, expire every object days after it was written.
func lifecycleRules(days int) s3.BucketLifecycleConfigurationV2RuleArray {
	everything := &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")}
	rules := s3.BucketLifecycleConfigurationV2RuleArray{&s3.BucketLifecycleConfigurationV2RuleArgs{
		Id:     pulumi.String("abort-incomplete-uploads"),
		Status: pulumi.String("Enabled"),
		Filter: everything,
		AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
			DaysAfterInitiation: pulumi.Int(AbortUploadDays),
		},
	}}
	if days > 0 {
		rules = append(rules, &s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:         pulumi.String(fmt.Sprintf("expire-after-%d-days", days)),
			Status:     pulumi.String("Enabled"),
			Filter:     everything,
			Expiration: &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(days)},
		})
	}
	return rules
}

// tlsOnlyPolicy is the bucket policy that denies every request not made
// over TLS, to the bucket and its objects, whoever makes it.
func tlsOnlyPolicy(bucketARN string) (string, error) {
	return iampolicy.Marshal(iampolicy.Document{
		Version: iampolicy.Version,
		Statement: []iampolicy.Statement{{
			Sid:       "DenyInsecureTransport",
			Effect:    iampolicy.Deny,
			Principal: &iampolicy.Principal{AWS: []string{"*"}},
			Action:    []string{"s3:*"},
			Resource:  []string{bucketARN, bucketARN + "/*"},
			Condition: iampolicy.Condition{"Bool": {"aws:SecureTransport": {"false"}}},
		}},
	})
}

// firehoseGrants: what Firehose does with its role, from the Firehose
// developer guide's "Grant Firehose access to an Amazon S3 destination"
// (https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#using-iam-s3),
// narrowed to this stack's resources: read the one stream (its Kinesis
// source), invoke the archiver (and read its configuration, which Firehose
// checks), write the archive's objects — the s3:PutObject of the archive
// port's Put (libs/archive/s3 Accesses), and the multipart and bucket
// actions Firehose documents — and its delivery errors to its one log
// stream. The guide's list also has s3:GetObject, which an S3 destination
// never needs (Firehose writes, it does not read back), so it is left out.
// The stream uses the AWS-managed key (KinesisKMSKey) and the bucket
// SSE-S3: no KMS permission.
func firehoseGrants(stream *kinesis.Stream, fnARN, processorARN, bucketARN, logGroupARN pulumi.StringInput) []Grant {
	return []Grant{
		{Sid: "ReadSourceStream", Actions: []string{
			"kinesis:DescribeStream", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards",
		}, Resources: arns(stream.Arn)},
		{Sid: "InvokeArchiver", Actions: []string{"lambda:GetFunctionConfiguration", "lambda:InvokeFunction"},
			Resources: arns(fnARN, processorARN)},
		{Sid: "LocateArchiveBucket", Actions: []string{
			"s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads",
		}, Resources: arns(bucketARN)},
		// Only under the archive's two prefixes.
		{Sid: "WriteArchiveObjects", Actions: []string{"s3:AbortMultipartUpload", "s3:PutObject"}, Resources: arns(
			pulumi.Sprintf("%s/%s*", bucketARN, archive.EventsPrefix),
			pulumi.Sprintf("%s/%s*", bucketARN, archive.ErrorsPrefix),
		)},
		{Sid: "LogDeliveryErrors", Actions: []string{"logs:PutLogEvents"},
			Resources: arns(pulumi.Sprintf("%s:log-stream:%s", logGroupARN, FirehoseLogStream))},
	}
}
