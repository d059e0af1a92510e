package pipeline

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dynamodb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kinesis"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// KinesisKMSKey is the AWS-managed key that encrypts the stream. With this
// key (unlike a customer-managed one) producers and consumers need no KMS
// permissions: Kinesis's documentation states that the default service key
// "does not require application of custom IAM permissions".
const KinesisKMSKey = "alias/aws/kinesis"

// StreamArgs configures a Stream.
type StreamArgs struct {
	// Name is the deployed stream name.
	Name string
	// Shards and RetentionHours size the stream.
	Shards         int
	RetentionHours int
}

// Stream is the Kinesis stream that carries the events, encrypted with
// the AWS-managed key, in provisioned mode (a workshop needs one shard).
type Stream struct {
	pulumi.ResourceState

	// Stream is the Kinesis stream.
	Stream *kinesis.Stream
}

// NewStream creates the stream.
func NewStream(ctx *pulumi.Context, name string, args *StreamArgs, opts ...pulumi.ResourceOption) (*Stream, error) {
	s := &Stream{}
	if err := ctx.RegisterComponentResource("scrape-pipeline:infra:Stream", name, s, opts...); err != nil {
		return nil, err
	}
	st, err := kinesis.NewStream(ctx, name, &kinesis.StreamArgs{
		Name:            pulumi.String(args.Name),
		ShardCount:      pulumi.Int(args.Shards),
		RetentionPeriod: pulumi.Int(args.RetentionHours),
		EncryptionType:  pulumi.String("KMS"),
		KmsKeyId:        pulumi.String(KinesisKMSKey),
		StreamModeDetails: &kinesis.StreamStreamModeDetailsArgs{
			StreamMode: pulumi.String("PROVISIONED"),
		},
	}, pulumi.Parent(s))
	if err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	s.Stream = st
	if err := ctx.RegisterResourceOutputs(s, pulumi.Map{"name": st.Name, "arn": st.Arn}); err != nil {
		return nil, err
	}
	return s, nil
}

// TablesArgs configures Tables.
type TablesArgs struct {
	// Suffix ends every table name: contract.Name(schema.Base, Suffix).
	Suffix string
	// Schemas are the tables to create (contract.Tables).
	Schemas []contract.Table
}

// Tables are the DynamoDB tables: on demand, point-in-time recovery,
// encrypted with the AWS-managed key, the key schemas, GSIs and TTL
// attributes of libs/contract.
type Tables struct {
	pulumi.ResourceState

	// ByBase maps a schema's Base (contract.MoviesTableBase, …) to its
	// table.
	ByBase map[string]*dynamodb.Table
}

// NewTables creates one table per schema, each named after its Base.
func NewTables(ctx *pulumi.Context, name string, args *TablesArgs, opts ...pulumi.ResourceOption) (*Tables, error) {
	t := &Tables{ByBase: map[string]*dynamodb.Table{}}
	if err := ctx.RegisterComponentResource("scrape-pipeline:infra:Tables", name, t, opts...); err != nil {
		return nil, err
	}
	outs := pulumi.Map{}
	for _, schema := range args.Schemas {
		tbl, err := dynamodb.NewTable(ctx, schema.Base, tableArgs(schema, args.Suffix), pulumi.Parent(t))
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", schema.Base, err)
		}
		t.ByBase[schema.Base] = tbl
		outs[schema.Base] = tbl.Name
	}
	if err := ctx.RegisterResourceOutputs(t, outs); err != nil {
		return nil, err
	}
	return t, nil
}

// tableArgs translates a contract schema into the table's arguments.
// Encryption uses the AWS-managed key aws/dynamodb (KMS, visible in
// CloudTrail) rather than the AWS-owned default; its key policy allows use
// through DynamoDB to every principal of the account that may use
// DynamoDB (kms:ViaService), so no function needs a KMS permission.
func tableArgs(s contract.Table, suffix string) *dynamodb.TableArgs {
	var attrs dynamodb.TableAttributeArray
	seen := map[string]bool{}
	declare := func(a *contract.Attr) {
		if a == nil || seen[a.Name] {
			return
		}
		seen[a.Name] = true
		attrs = append(attrs, dynamodb.TableAttributeArgs{Name: pulumi.String(a.Name), Type: pulumi.String(string(a.Type))})
	}
	declare(&s.Hash)
	declare(s.Range)
	var gsis dynamodb.TableGlobalSecondaryIndexArray
	for _, ix := range s.Indexes {
		declare(&ix.Hash)
		declare(ix.Range)
		gsi := dynamodb.TableGlobalSecondaryIndexArgs{
			Name:           pulumi.String(ix.Name),
			HashKey:        pulumi.String(ix.Hash.Name),
			ProjectionType: pulumi.String(ix.Projects),
		}
		if ix.Range != nil {
			gsi.RangeKey = pulumi.String(ix.Range.Name)
		}
		if len(ix.NonKeyAttributes) > 0 {
			gsi.NonKeyAttributes = pulumi.ToStringArray(ix.NonKeyAttributes)
		}
		gsis = append(gsis, gsi)
	}
	a := &dynamodb.TableArgs{
		Name:                 pulumi.String(contract.Name(s.Base, suffix)),
		BillingMode:          pulumi.String("PAY_PER_REQUEST"),
		HashKey:              pulumi.String(s.Hash.Name),
		Attributes:           attrs,
		PointInTimeRecovery:  &dynamodb.TablePointInTimeRecoveryArgs{Enabled: pulumi.Bool(true)},
		ServerSideEncryption: &dynamodb.TableServerSideEncryptionArgs{Enabled: pulumi.Bool(true)},
	}
	if s.Range != nil {
		a.RangeKey = pulumi.String(s.Range.Name)
	}
	if len(gsis) > 0 {
		a.GlobalSecondaryIndexes = gsis
	}
	if s.TTLAttribute != "" {
		a.Ttl = &dynamodb.TableTtlArgs{AttributeName: pulumi.String(s.TTLAttribute), Enabled: pulumi.Bool(true)}
	}
	return a
}

// QueuesArgs configures Queues.
type QueuesArgs struct {
	// Suffix ends both queue names.
	Suffix string
	// VisibilityTimeout (seconds) of the on-failure queue; Lambda requires
	// at least the consuming function's timeout and recommends six times.
	VisibilityTimeout int
	// MaxReceiveCount is how often the errorsink may fail a message before
	// SQS moves it to the dead-letter queue.
	MaxReceiveCount int
}

// Queues are the processor mapping's on-failure destination and the
// errorsink's dead-letter queue, both encrypted with SQS-managed keys
// (SSE-SQS, so no KMS grant is needed) and keeping messages for
// contract.OnFailureQueueRetention.
type Queues struct {
	pulumi.ResourceState

	// OnFailure receives the processor mapping's failed batches; the
	// errorsink consumes it.
	OnFailure *sqs.Queue
	// DLQ receives on-failure messages the errorsink kept failing.
	DLQ *sqs.Queue
}

// redrivePolicy is SQS's RedrivePolicy attribute.
type redrivePolicy struct {
	DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	MaxReceiveCount     int    `json:"maxReceiveCount"`
}

// NewQueues creates both queues.
func NewQueues(ctx *pulumi.Context, name string, args *QueuesArgs, opts ...pulumi.ResourceOption) (*Queues, error) {
	q := &Queues{}
	if err := ctx.RegisterComponentResource("scrape-pipeline:infra:Queues", name, q, opts...); err != nil {
		return nil, err
	}
	retention := int(contract.OnFailureQueueRetention.Seconds())
	dlq, err := sqs.NewQueue(ctx, contract.ErrorsinkDLQBase, &sqs.QueueArgs{
		Name:                    pulumi.String(contract.Name(contract.ErrorsinkDLQBase, args.Suffix)),
		MessageRetentionSeconds: pulumi.Int(retention),
		SqsManagedSseEnabled:    pulumi.Bool(true),
	}, pulumi.Parent(q))
	if err != nil {
		return nil, fmt.Errorf("dead-letter queue: %w", err)
	}
	redrive := dlq.Arn.ApplyT(func(arn string) (string, error) {
		b, err := json.Marshal(redrivePolicy{DeadLetterTargetArn: arn, MaxReceiveCount: args.MaxReceiveCount})
		return string(b), err
	}).(pulumi.StringOutput)
	onFailure, err := sqs.NewQueue(ctx, contract.OnFailureQueue, &sqs.QueueArgs{
		Name:                     pulumi.String(contract.Name(contract.OnFailureQueue, args.Suffix)),
		MessageRetentionSeconds:  pulumi.Int(retention),
		VisibilityTimeoutSeconds: pulumi.Int(args.VisibilityTimeout),
		SqsManagedSseEnabled:     pulumi.Bool(true),
		RedrivePolicy:            redrive,
	}, pulumi.Parent(q))
	if err != nil {
		return nil, fmt.Errorf("on-failure queue: %w", err)
	}
	q.OnFailure, q.DLQ = onFailure, dlq
	if err := ctx.RegisterResourceOutputs(q, pulumi.Map{
		"onFailureArn": onFailure.Arn,
		"dlqArn":       dlq.Arn,
	}); err != nil {
		return nil, err
	}
	return q, nil
}
