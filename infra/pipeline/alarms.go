package pipeline

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kinesis"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/scrape-pipeline/scrape-pipeline/infra/iampolicy"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// Alarm thresholds.
const (
	// AlarmPeriod is the evaluation period of every alarm, in seconds.
	AlarmPeriod = 300
	// IteratorAgeThresholdMs alarms when the processor falls ten minutes
	// behind the stream (records are dropped to the on-failure queue at
	// contract.ProcessorMapping.MaximumRecordAgeInSeconds).
	IteratorAgeThresholdMs = 10 * 60 * 1000
	// ArchiveFreshnessThresholdS alarms when the oldest record not yet in
	// the archive is 30 minutes old: Firehose holds a record for at most
	// the processor's and the S3 buffer's intervals (two minutes) unless
	// delivery is failing, and Kinesis keeps it only retentionHours.
	ArchiveFreshnessThresholdS = 30 * 60
	// AlarmTopicBase names the alarms' SNS topic: contract.Name(AlarmTopicBase, suffix).
	AlarmTopicBase = "alarms"
	// AlarmKeyDeletionDays is the alarm topic key's deletion window, the
	// shortest KMS allows: pulumi destroy schedules the key's deletion, and
	// KMS deletes it that many days later.
	AlarmKeyDeletionDays = 7
)

// AlarmsArgs configures Alarms.
type AlarmsArgs struct {
	// Suffix ends every alarm name.
	Suffix string
	// Processor is the function whose iterator age is watched.
	Processor *Function
	// Functions are watched for errors, by service name.
	Functions map[string]*Function
	// OnFailure is the processor mapping's on-failure queue. The
	// errorsink's mapping receives its messages at once, so they are in
	// flight rather than visible: it is watched for messages sent to it.
	OnFailure *sqs.Queue
	// DLQ is the errorsink's dead-letter queue. Nothing reads it, so it is
	// watched for visible messages (SQS does not count a message moved
	// there by the redrive policy in NumberOfMessagesSent).
	DLQ *sqs.Queue
	// Archive is the archive's delivery stream, watched for records that
	// do not reach the bucket.
	Archive *kinesis.FirehoseDeliveryStream
	// Email, when set, is subscribed to a topic that every alarm notifies
	// (see Alarms).
	Email string
	// Account is the stack's AWS account id (the topic key's policy).
	Account pulumi.StringInput
}

// Alarms are CloudWatch alarms on what needs a human: the processor
// lagging behind the stream, a batch sent to the on-failure queue,
// messages waiting in the dead-letter queue, records not reaching the
// archive, and function errors. With an Email, every alarm notifies an SNS
// topic, on alarm and on its return to OK, to which that address is
// subscribed (AWS mails a confirmation first). The topic is encrypted with
// a KMS key of the stack: CloudWatch can publish to a topic encrypted with
// a customer managed key whose policy lets it, not with the AWS-managed
// aws/sns key, whose policy no one can change. Without an Email the
// alarms only show in the CloudWatch console.
type Alarms struct {
	pulumi.ResourceState

	// Topic is the alarms' topic, nil without an Email.
	Topic *sns.Topic
}

// NewAlarms creates the alarms; map arguments are walked in sorted order
// so the program is deterministic.
func NewAlarms(ctx *pulumi.Context, name string, args *AlarmsArgs, opts ...pulumi.ResourceOption) (*Alarms, error) {
	a := &Alarms{}
	if err := ctx.RegisterComponentResource("scrape-pipeline:infra:Alarms", name, a, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(a)
	var actions pulumi.ArrayInput // nil: no actions at all (not an empty list)
	if args.Email != "" {
		topic, err := newAlarmTopic(ctx, args, parent)
		if err != nil {
			return nil, err
		}
		a.Topic = topic
		actions = pulumi.Array{topic.Arn}
	}
	newAlarm := func(base, description, namespace, metric, statistic string, threshold float64, op string, dims pulumi.StringMap) error {
		alarm := &cloudwatch.MetricAlarmArgs{
			Name:               pulumi.String(contract.Name(base, args.Suffix)),
			AlarmDescription:   pulumi.String(description),
			Namespace:          pulumi.String(namespace),
			MetricName:         pulumi.String(metric),
			Statistic:          pulumi.String(statistic),
			Dimensions:         dims,
			Period:             pulumi.Int(AlarmPeriod),
			EvaluationPeriods:  pulumi.Int(1),
			Threshold:          pulumi.Float64(threshold),
			ComparisonOperator: pulumi.String(op),
			TreatMissingData:   pulumi.String("notBreaching"),
		}
		if actions != nil {
			alarm.AlarmActions, alarm.OkActions = actions, actions
		}
		_, err := cloudwatch.NewMetricAlarm(ctx, base, alarm, parent)
		if err != nil {
			return fmt.Errorf("alarm %s: %w", base, err)
		}
		return nil
	}

	if err := newAlarm("processor-iterator-age",
		"The processor is more than ten minutes behind the stream.",
		"AWS/Lambda", "IteratorAge", "Maximum", IteratorAgeThresholdMs, "GreaterThanThreshold",
		pulumi.StringMap{"FunctionName": args.Processor.Lambda.Name}); err != nil {
		return nil, err
	}
	// A batch the processor gave up on is one message sent to the
	// on-failure queue.
	if err := newAlarm(contract.OnFailureQueue+"-not-empty",
		"The processor gave up on at least one batch: after its retries Lambda sent the batch's "+
			"description to "+contract.OnFailureQueue+"; the errorsink copies those records to the errors table.",
		"AWS/SQS", "NumberOfMessagesSent", "Sum", 1, "GreaterThanOrEqualToThreshold",
		pulumi.StringMap{"QueueName": args.OnFailure.Name}); err != nil {
		return nil, err
	}
	if err := newAlarm(contract.ErrorsinkDLQBase+"-not-empty",
		fmt.Sprintf("Messages wait in %s: on-failure messages the errorsink failed %d times, "+
			"whose records are in no errors table yet.", contract.ErrorsinkDLQBase, MaxReceiveCount),
		"AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", 1, "GreaterThanOrEqualToThreshold",
		pulumi.StringMap{"QueueName": args.DLQ.Name}); err != nil {
		return nil, err
	}
	if err := newAlarm(ArchiveBase+"-freshness",
		fmt.Sprintf("Records wait more than %d minutes to reach the archive bucket: Firehose is failing to "+
			"transform or deliver them (see its log group); Kinesis drops them after the stream's retention.", ArchiveFreshnessThresholdS/60),
		"AWS/Firehose", "DeliveryToS3.DataFreshness", "Maximum", ArchiveFreshnessThresholdS, "GreaterThanThreshold",
		pulumi.StringMap{"DeliveryStreamName": args.Archive.Name}); err != nil {
		return nil, err
	}
	for _, svc := range sortedKeys(args.Functions) {
		if err := newAlarm(svc+"-errors",
			"The "+svc+" function failed (an error or a timeout).",
			"AWS/Lambda", "Errors", "Sum", 1, "GreaterThanOrEqualToThreshold",
			pulumi.StringMap{"FunctionName": args.Functions[svc].Lambda.Name}); err != nil {
			return nil, err
		}
	}
	if err := ctx.RegisterResourceOutputs(a, pulumi.Map{}); err != nil {
		return nil, err
	}
	return a, nil
}

// newAlarmTopic creates the alarms' topic, its KMS key and the e-mail
// subscription.
func newAlarmTopic(ctx *pulumi.Context, args *AlarmsArgs, parent pulumi.ResourceOption) (*sns.Topic, error) {
	name := contract.Name(AlarmTopicBase, args.Suffix)
	key, err := kms.NewKey(ctx, AlarmTopicBase+"-key", &kms.KeyArgs{
		Description:          pulumi.String("Encrypts SNS topic " + name),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(AlarmKeyDeletionDays),
		Policy:               args.Account.ToStringOutput().ApplyT(alarmKeyPolicy).(pulumi.StringOutput),
		Tags:                 pulumi.StringMap{contract.StackTagKey: pulumi.String(args.Suffix)},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("alarm topic key: %w", err)
	}
	topic, err := sns.NewTopic(ctx, AlarmTopicBase, &sns.TopicArgs{
		Name:           pulumi.String(name),
		KmsMasterKeyId: key.Arn,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("alarm topic: %w", err)
	}
	if _, err := sns.NewTopicSubscription(ctx, AlarmTopicBase+"-email", &sns.TopicSubscriptionArgs{
		Topic:    topic.Arn,
		Protocol: pulumi.String("email"),
		Endpoint: pulumi.String(args.Email),
	}, parent); err != nil {
		return nil, fmt.Errorf("alarm subscription: %w", err)
	}
	return topic, nil
}

// alarmKeyPolicy is the key policy of the alarm topic's key: the account
// manages the key through IAM (the policy every KMS key needs, or no one
// could change it again), and CloudWatch may use it to publish encrypted
// alarm messages to the topic (the two actions an SNS publisher needs on
// the topic's key: GenerateDataKey and Decrypt).
func alarmKeyPolicy(account string) (string, error) {
	return iampolicy.Marshal(iampolicy.Document{
		Version: iampolicy.Version,
		Statement: []iampolicy.Statement{
			{
				Sid:       "AccountManagesKeyThroughIAM",
				Effect:    iampolicy.Allow,
				Principal: &iampolicy.Principal{AWS: []string{"arn:aws:iam::" + account + ":root"}},
				Action:    []string{"kms:*"},
				Resource:  []string{"*"},
			},
			{
				Sid:       "CloudWatchPublishesAlarms",
				Effect:    iampolicy.Allow,
				Principal: &iampolicy.Principal{Service: []string{"cloudwatch.amazonaws.com"}},
				Action:    []string{"kms:Decrypt", "kms:GenerateDataKey"},
				Resource:  []string{"*"},
			},
		},
	})
}
