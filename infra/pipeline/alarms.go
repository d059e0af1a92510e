package pipeline

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
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
}

// Alarms are CloudWatch alarms on what needs a human: the processor
// lagging behind the stream, a batch sent to the on-failure queue,
// messages waiting in the dead-letter queue, and function errors. They have no actions; subscribe a topic to
// them in the console, or watch them in the CloudWatch alarms page.
type Alarms struct {
	pulumi.ResourceState
}

// NewAlarms creates the alarms; map arguments are walked in sorted order
// so the program is deterministic.
func NewAlarms(ctx *pulumi.Context, name string, args *AlarmsArgs, opts ...pulumi.ResourceOption) (*Alarms, error) {
	a := &Alarms{}
	if err := ctx.RegisterComponentResource("scrape-pipeline:infra:Alarms", name, a, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(a)
	newAlarm := func(base, description, namespace, metric, statistic string, threshold float64, op string, dims pulumi.StringMap) error {
		_, err := cloudwatch.NewMetricAlarm(ctx, base, &cloudwatch.MetricAlarmArgs{
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
		}, parent)
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
