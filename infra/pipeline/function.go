package pipeline

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Artifacts gives the deployment package of a function.
type Artifacts interface {
	// Zip returns the path of the zip holding the function's bootstrap and
	// the standard base64 encoding of the zip's SHA-256 (Lambda's
	// CodeSha256). name is the service name (scraper, processor, …). It is
	// called once per function while the program runs; an error fails
	// the deployment.
	Zip(name string) (path, sha256 string, err error)
}

// Lambda settings shared by every function.
const (
	// Runtime is the OS-only runtime that executes the bootstrap binary.
	Runtime = "provided.al2023"
	// Architecture is Graviton: the zips are built with GOARCH=arm64.
	Architecture = "arm64"
	// Handler is ignored by provided.al2023 but names the binary.
	Handler = "bootstrap"
	// LogFormat makes Lambda wrap platform lines as JSON, like slog's.
	LogFormat = "JSON"
)

// FunctionArgs configures a Function.
type FunctionArgs struct {
	// Name is the deployed function name (ends with the stack's suffix).
	Name string
	// Zip and SHA256 are the deployment package (see Artifacts).
	Zip    string
	SHA256 string
	// Memory (MB) and Timeout (seconds).
	Memory  int
	Timeout int
	// Env is the function's environment; nil or empty sets none.
	Env pulumi.StringMap
	// Grants are the function's own permissions, besides writing to its
	// log group (and X-Ray, when Tracing is on), which Function adds.
	Grants []Grant
	// Tracing turns on X-Ray active tracing.
	Tracing bool
	// LogRetentionDays is the log group's retention.
	LogRetentionDays int
	// LogLevel is the application log level (Lambda's
	// ApplicationLogLevel, AWS_LAMBDA_LOG_LEVEL in the function); empty
	// leaves Lambda's default, INFO.
	LogLevel string
	// ReservedConcurrency reserves that many concurrent executions for
	// the function (and caps it there); 0 leaves it unreserved, drawing on
	// the account's shared pool.
	ReservedConcurrency int
}

// Function is one Lambda function with its execution role, the role's
// inline policy and its log group, created explicitly so that its
// retention is set and the function needs no logs:CreateLogGroup.
type Function struct {
	pulumi.ResourceState

	// Lambda is the function itself.
	Lambda *lambda.Function
	// Role is its execution role, Policy the role's only policy.
	Role   *iam.Role
	Policy *iam.RolePolicy
	// LogGroup receives the function's JSON logs.
	LogGroup *cloudwatch.LogGroup
}

// NewFunction creates the function name (also the prefix of its
// children's names).
func NewFunction(ctx *pulumi.Context, name string, args *FunctionArgs, opts ...pulumi.ResourceOption) (*Function, error) {
	f := &Function{}
	if err := ctx.RegisterComponentResource("scrape-pipeline:infra:Function", name, f, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(f)

	logGroup, err := cloudwatch.NewLogGroup(ctx, name+"-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("/aws/lambda/" + args.Name),
		RetentionInDays: pulumi.Int(args.LogRetentionDays),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("function %s: log group: %w", name, err)
	}

	trust, err := assumeRolePolicy()
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", name, err)
	}
	grants := append([]Grant{{
		Sid:     "WriteOwnLogGroup",
		Actions: []string{"logs:CreateLogStream", "logs:PutLogEvents"},
		// The log streams of this function's group only.
		Resources: pulumi.StringArray{pulumi.Sprintf("%s:*", logGroup.Arn)},
	}}, args.Grants...)
	if args.Tracing {
		grants = append(grants, Grant{
			Sid:     "XRayWriteAnyResource",
			Actions: []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords"},
			// xray:PutTraceSegments and xray:PutTelemetryRecords support no
			// resource-level permissions: AWS accepts only "*" for them.
			Resources: pulumi.StringArray{pulumi.String("*")},
		})
	}
	role, policy, err := newServiceRole(ctx, name, &serviceRoleArgs{
		Name:        args.Name,
		Description: "Execution role of the " + args.Name + " function",
		Trust:       pulumi.String(trust),
		Grants:      grants,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", name, err)
	}

	logging := &lambda.FunctionLoggingConfigArgs{
		LogFormat: pulumi.String(LogFormat),
		LogGroup:  logGroup.Name,
	}
	if args.LogLevel != "" {
		logging.ApplicationLogLevel = pulumi.String(args.LogLevel)
	}
	fnArgs := &lambda.FunctionArgs{
		Name:           pulumi.String(args.Name),
		Runtime:        pulumi.String(Runtime),
		Architectures:  pulumi.StringArray{pulumi.String(Architecture)},
		Handler:        pulumi.String(Handler),
		Code:           pulumi.NewFileArchive(args.Zip),
		SourceCodeHash: pulumi.String(args.SHA256),
		MemorySize:     pulumi.Int(args.Memory),
		Timeout:        pulumi.Int(args.Timeout),
		Role:           role.Arn,
		LoggingConfig:  logging,
	}
	if len(args.Env) > 0 {
		fnArgs.Environment = &lambda.FunctionEnvironmentArgs{Variables: args.Env}
	}
	if args.Tracing {
		fnArgs.TracingConfig = &lambda.FunctionTracingConfigArgs{Mode: pulumi.String("Active")}
	}
	if args.ReservedConcurrency > 0 {
		fnArgs.ReservedConcurrentExecutions = pulumi.Int(args.ReservedConcurrency)
	}
	// The policy before the function: the first invocation already has
	// its permissions (and, for a mapping, Lambda checks them on creation).
	fn, err := lambda.NewFunction(ctx, name, fnArgs, parent, pulumi.DependsOn([]pulumi.Resource{policy}))
	if err != nil {
		return nil, fmt.Errorf("function %s: lambda: %w", name, err)
	}

	f.Lambda, f.Role, f.Policy, f.LogGroup = fn, role, policy, logGroup
	if err := ctx.RegisterResourceOutputs(f, pulumi.Map{
		"name":     fn.Name,
		"arn":      fn.Arn,
		"roleArn":  role.Arn,
		"logGroup": logGroup.Name,
	}); err != nil {
		return nil, err
	}
	return f, nil
}

// serviceRoleArgs configures a role that an AWS service assumes.
type serviceRoleArgs struct {
	// Name is the role's and its policy's deployed name.
	Name        string
	Description string
	// Trust is the trust policy (see trustPolicy).
	Trust pulumi.StringInput
	// Grants are the role's permissions, its one inline policy.
	Grants []Grant
}

// newServiceRole creates a role and its one inline policy, named
// name+"-role" and name+"-policy" in the program. The role has no managed
// policies: everything it may do is in Grants.
func newServiceRole(ctx *pulumi.Context, name string, args *serviceRoleArgs, opts ...pulumi.ResourceOption) (*iam.Role, *iam.RolePolicy, error) {
	role, err := iam.NewRole(ctx, name+"-role", &iam.RoleArgs{
		Name:             pulumi.String(args.Name),
		Description:      pulumi.String(args.Description),
		AssumeRolePolicy: args.Trust,
	}, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("role: %w", err)
	}
	policy, err := iam.NewRolePolicy(ctx, name+"-policy", &iam.RolePolicyArgs{
		Name:   pulumi.String(args.Name),
		Role:   role.ID(),
		Policy: policyJSON(args.Grants),
	}, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("policy: %w", err)
	}
	return role, policy, nil
}
