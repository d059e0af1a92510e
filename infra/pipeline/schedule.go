package pipeline

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/scheduler"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// ScheduleBase names the schedule and its role: contract.Name(ScheduleBase,
// suffix).
const ScheduleBase = "scrape-schedule"

// The schedule's retry policy: a scrape is worth retrying when Lambda
// throttled the invocation (a shared account's concurrency runs out), but
// only a little and soon — the scraper's lease refuses a second scrape of
// the host within a minute anyway, and the next scheduled scrape comes.
const (
	ScheduleRetries      = 2
	ScheduleMaxEventAgeS = 300
)

// ScheduleArgs configures a Schedule.
type ScheduleArgs struct {
	// Suffix ends the names.
	Suffix string
	// Expression is the EventBridge Scheduler expression (CheckSchedule
	// accepts it).
	Expression string
	// Target is the function invoked, with Input as its event.
	Target *Function
	Input  string
	// Account is the stack's AWS account id.
	Account pulumi.StringInput
}

// Schedule is an EventBridge Scheduler schedule that invokes a function
// directly (no rule, no event bus) on a recurring expression, in UTC, with
// its own role that may invoke that function only.
type Schedule struct {
	pulumi.ResourceState

	// Schedule is the schedule; Role what it assumes, Policy its policy.
	Schedule *scheduler.Schedule
	Role     *iam.Role
	Policy   *iam.RolePolicy
}

// NewSchedule creates the role and the schedule.
func NewSchedule(ctx *pulumi.Context, name string, args *ScheduleArgs, opts ...pulumi.ResourceOption) (*Schedule, error) {
	if err := CheckSchedule(args.Expression); err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	s := &Schedule{}
	if err := ctx.RegisterComponentResource("scrape-pipeline:infra:Schedule", name, s, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(s)
	schedName := contract.Name(ScheduleBase, args.Suffix)
	role, policy, err := newServiceRole(ctx, name, &serviceRoleArgs{
		Name:        schedName,
		Description: "Role EventBridge Scheduler assumes to run schedule " + schedName,
		// Scheduler's documented condition: it assumes the role only for
		// schedules of this account.
		Trust: accountTrustPolicy("SchedulerAssumeRole", "scheduler.amazonaws.com", "aws:SourceAccount", args.Account),
		// The target function, unqualified as the target names it.
		Grants: []Grant{{Sid: "InvokeTarget", Actions: []string{"lambda:InvokeFunction"}, Resources: arns(args.Target.Lambda.Arn)}},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	sched, err := scheduler.NewSchedule(ctx, name, &scheduler.ScheduleArgs{
		Name:               pulumi.String(schedName),
		Description:        pulumi.String("Scrapes the stack's default page on " + args.Expression),
		ScheduleExpression: pulumi.String(args.Expression),
		// Exactly on time: a scrape is one invocation, nothing to spread.
		FlexibleTimeWindow: &scheduler.ScheduleFlexibleTimeWindowArgs{Mode: pulumi.String("OFF")},
		Target: &scheduler.ScheduleTargetArgs{
			Arn:     args.Target.Lambda.Arn,
			RoleArn: role.Arn,
			Input:   pulumi.String(args.Input),
			RetryPolicy: &scheduler.ScheduleTargetRetryPolicyArgs{
				MaximumRetryAttempts:     pulumi.Int(ScheduleRetries),
				MaximumEventAgeInSeconds: pulumi.Int(ScheduleMaxEventAgeS),
			},
		},
	}, parent, pulumi.DependsOn([]pulumi.Resource{policy}))
	if err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	s.Schedule, s.Role, s.Policy = sched, role, policy
	if err := ctx.RegisterResourceOutputs(s, pulumi.Map{"arn": sched.Arn}); err != nil {
		return nil, err
	}
	return s, nil
}
