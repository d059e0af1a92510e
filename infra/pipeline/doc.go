// Package pipeline builds the scrape pipeline's AWS resources with Pulumi:
// a Kinesis stream, the DynamoDB tables, the SQS on-failure queue and its
// dead-letter queue, one Lambda function per service, the event source
// mappings, an HTTP API, the archive (a Firehose delivery stream into an
// S3 bucket), an optional scrape schedule and the alarms.
//
// Every name, key schema, environment variable and mapping setting comes
// from libs/contract, so the services, devstack and the deployed stack
// cannot drift apart; the tests compare the resources that the program
// registers (under pulumi.WithMocks) against those declarations.
//
// The package has one component per shape — [Stream], [Tables], [Queues],
// [Function], [API], [Archive], [Schedule], [Alarms] — and [Pipeline],
// which wires them together.
// Each component follows the pulumi/examples style: it embeds
// pulumi.ResourceState, is created by NewX(ctx, name, args, opts...), parents
// its children and registers its outputs.
//
// IAM is least privilege and typed: each function's role gets one inline
// policy built from [iampolicy.Document] values (never a hand-written JSON
// string) that allows only the actions its code calls on only its own
// resources, and writing only to its own log group; so do the roles
// Firehose and EventBridge Scheduler assume, whose trust policies are
// conditioned on the stack's account.
package pipeline
