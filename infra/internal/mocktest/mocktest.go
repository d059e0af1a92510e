// Package mocktest runs Pulumi programs under pulumi.WithMocks and records
// what they register, for the infra tests: a [Recorder] answers every
// resource with the attributes AWS would compute (ARNs, URLs, ids), built
// deterministically from the resource's own inputs so that nothing hangs
// and two runs register identical graphs, and [Snapshot] renders the
// recorded graph as stable JSON for the committed snapshot.
package mocktest

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Placeholders standing in for what only AWS knows.
const (
	Account = "123456789012"
	Region  = "eu-west-2"
	// APIID is the id every HTTP API gets.
	APIID = "a1b2c3d4e5"
	// KeyID is the id every KMS key gets.
	KeyID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	// SubscriptionID ends every SNS subscription's ARN.
	SubscriptionID = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
)

// CursorKeyPlaceholder is the base64 every RandomBytes resolves to: 32
// bytes of 0xAB, obviously not random.
var CursorKeyPlaceholder = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("\xab", 32)))

// Resource is one registered resource.
type Resource struct {
	Type   string
	Name   string
	Parent string // "type::name" of the parent, "" for the stack's children
	Custom bool   // false for components
	ID     string
	Inputs resource.PropertyMap
	// DependsOn are the resources ("type::name") it waits for, those
	// its inputs come from and those named by pulumi.DependsOn, sorted.
	DependsOn []string
	// ARN is the ARN AWS would give it, "" for types without one here.
	ARN string
}

// Recorder is a pulumi.MockResourceMonitor that records resources. It is
// safe for concurrent use (the SDK registers resources from goroutines).
type Recorder struct {
	mu        sync.Mutex
	resources []Resource
}

var _ pulumi.MockResourceMonitor = (*Recorder)(nil)

// Resources returns the recorded resources sorted by type, then name.
func (r *Recorder) Resources() []Resource {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.resources)
	slices.SortFunc(out, func(a, b Resource) int {
		if c := strings.Compare(a.Type, b.Type); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// OfType returns the recorded resources of one type token, sorted by name.
func (r *Recorder) OfType(typ string) []Resource {
	var out []Resource
	for _, res := range r.Resources() {
		if res.Type == typ {
			out = append(out, res)
		}
	}
	return out
}

// Get returns the resource of a type and logical name, or false.
func (r *Recorder) Get(typ, name string) (Resource, bool) {
	for _, res := range r.Resources() {
		if res.Type == typ && res.Name == name {
			return res, true
		}
	}
	return Resource{}, false
}

// NewResource records the resource and returns its id and state: the
// inputs plus the attributes AWS would compute.
func (r *Recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	parent := ""
	if args.RegisterRPC != nil && args.RegisterRPC.GetParent() != "" {
		u := resource.URN(args.RegisterRPC.GetParent())
		if u.Type() != resource.RootStackType {
			parent = string(u.Type()) + "::" + u.Name()
		}
	}
	state := args.Inputs.Copy()
	name := ""
	if v, ok := args.Inputs["name"]; ok && v.IsString() {
		name = v.StringValue()
	}
	id := name
	if id == "" {
		id = args.Name + "-id"
	}
	set := func(k, v string) { state[resource.PropertyKey(k)] = resource.NewProperty(v) }
	switch args.TypeToken {
	case "aws:kinesis/stream:Stream":
		arn := fmt.Sprintf("arn:aws:kinesis:%s:%s:stream/%s", Region, Account, name)
		set("arn", arn)
		id = arn
	case "aws:dynamodb/table:Table":
		set("arn", fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", Region, Account, name))
	case "aws:sqs/queue:Queue":
		url := fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", Region, Account, name)
		set("arn", fmt.Sprintf("arn:aws:sqs:%s:%s:%s", Region, Account, name))
		set("url", url)
		id = url
	case "aws:iam/role:Role":
		set("arn", fmt.Sprintf("arn:aws:iam::%s:role/%s", Account, name))
	case "aws:cloudwatch/logGroup:LogGroup":
		set("arn", fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", Region, Account, name))
	case "aws:lambda/function:Function":
		arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", Region, Account, name)
		set("arn", arn)
		set("invokeArn", fmt.Sprintf("arn:aws:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations", Region, arn))
	case "aws:apigatewayv2/api:Api":
		id = APIID
		set("arn", fmt.Sprintf("arn:aws:apigateway:%s::/apis/%s", Region, APIID))
		set("apiEndpoint", fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com", APIID, Region))
		set("executionArn", fmt.Sprintf("arn:aws:execute-api:%s:%s:%s", Region, Account, APIID))
	case "aws:lambda/eventSourceMapping:EventSourceMapping":
		set("uuid", args.Name+"-uuid")
	case "aws:s3/bucketV2:BucketV2":
		bucket := ""
		if v, ok := args.Inputs["bucket"]; ok && v.IsString() {
			bucket = v.StringValue()
		}
		set("bucket", bucket)
		set("arn", "arn:aws:s3:::"+bucket)
		id = bucket
	case "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream":
		arn := fmt.Sprintf("arn:aws:firehose:%s:%s:deliverystream/%s", Region, Account, name)
		set("arn", arn)
		id = arn
	case "aws:cloudwatch/logStream:LogStream":
		group := ""
		if v, ok := args.Inputs["logGroupName"]; ok && v.IsString() {
			group = v.StringValue()
		}
		set("arn", fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:log-stream:%s", Region, Account, group, name))
	case "aws:scheduler/schedule:Schedule":
		set("arn", fmt.Sprintf("arn:aws:scheduler:%s:%s:schedule/default/%s", Region, Account, name))
		id = "default/" + name
	case "aws:sns/topic:Topic":
		arn := fmt.Sprintf("arn:aws:sns:%s:%s:%s", Region, Account, name)
		set("arn", arn)
		id = arn
	case "aws:sns/topicSubscription:TopicSubscription":
		topic := ""
		if v, ok := args.Inputs["topic"]; ok && v.IsString() {
			topic = v.StringValue()
		}
		arn := topic + ":" + SubscriptionID
		set("arn", arn)
		id = arn
	case "aws:cloudwatch/metricAlarm:MetricAlarm":
		set("arn", fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", Region, Account, name))
	case "aws:kms/key:Key":
		set("arn", fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", Region, Account, KeyID))
		set("keyId", KeyID)
		id = KeyID
	case "random:index/randomBytes:RandomBytes":
		set("base64", CursorKeyPlaceholder)
		set("hex", strings.Repeat("ab", 32))
	}
	var deps []string
	if args.RegisterRPC != nil {
		for _, d := range args.RegisterRPC.GetDependencies() {
			u := resource.URN(d)
			deps = append(deps, string(u.Type())+"::"+u.Name())
		}
		slices.Sort(deps)
		deps = slices.Compact(deps)
	}
	arn := ""
	if v, ok := state["arn"]; ok && v.IsString() {
		arn = v.StringValue()
	}
	r.mu.Lock()
	r.resources = append(r.resources, Resource{
		Type: args.TypeToken, Name: args.Name, Parent: parent, Custom: args.Custom, ID: id, Inputs: args.Inputs,
		DependsOn: deps, ARN: arn,
	})
	r.mu.Unlock()
	return id, state, nil
}

// Call answers the invokes the program makes: aws.GetRegion and
// aws.GetCallerIdentity.
func (r *Recorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	switch args.Token {
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return resource.NewPropertyMapFromMap(map[string]any{
			"accountId": Account,
			"arn":       "arn:aws:iam::" + Account + ":user/deployer",
			"id":        Account,
			"userId":    "AIDAEXAMPLEDEPLOYER",
		}), nil
	case "aws:index/getRegion:getRegion":
		return resource.NewPropertyMapFromMap(map[string]any{
			"name":        Region,
			"id":          Region,
			"description": "Europe (London)",
			"endpoint":    "ec2." + Region + ".amazonaws.com",
		}), nil
	}
	return nil, fmt.Errorf("mocktest: unexpected invoke %s", args.Token)
}
