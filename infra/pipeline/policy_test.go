package pipeline

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/scrape-pipeline/scrape-pipeline/infra/iampolicy"
	"github.com/scrape-pipeline/scrape-pipeline/infra/internal/mocktest"
	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	archives3 "github.com/scrape-pipeline/scrape-pipeline/libs/archive/s3"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	kinesisadapter "github.com/scrape-pipeline/scrape-pipeline/libs/stream/kinesis"
	"github.com/scrape-pipeline/scrape-pipeline/services/errorsink"
	"github.com/scrape-pipeline/scrape-pipeline/services/processor"
	"github.com/scrape-pipeline/scrape-pipeline/services/query"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
)

// access is one allowed (action, resource) pair.
type access struct {
	Action   string
	Resource string
}

// grant expands actions × resources.
func grant(resources []string, actions ...string) []access {
	var out []access
	for _, a := range actions {
		for _, r := range resources {
			out = append(out, access{a, r})
		}
	}
	return out
}

func list(s ...string) []string { return s }

// wantAccess is what each function may do, on its own resources only:
// what its event source mapping needs (from AWS's documentation), and the
// data-plane actions its code calls, derived from the service's own ports
// (the Store, Publisher and RangeReader interfaces it declares) through the
// adapters' Accesses tables, which the adapters' tests check against the
// calls they really make. A new method on a port, or a new call in an
// adapter, changes the expected policy. Every function may also write to
// its own log group (added below).
var wantAccess = map[string][]access{
	Scraper: slices.Concat(
		codeAccess(reflect.TypeFor[scraper.Store](), reflect.TypeFor[scraper.Publisher]()),
	),
	Processor: slices.Concat(
		// The mapping reads the stream with the function's role.
		grant(list(streamARN()), "kinesis:DescribeStream", "kinesis:DescribeStreamSummary",
			"kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"),
		// The mapping's on-failure destination.
		grant(list(queueARN(contract.OnFailureQueue)), "sqs:SendMessage"),
		codeAccess(reflect.TypeFor[processor.Store]()),
	),
	Query: codeAccess(reflect.TypeFor[query.Store]()),
	Errorsink: slices.Concat(
		// The mapping consumes the on-failure queue.
		grant(list(queueARN(contract.OnFailureQueue)), "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"),
		codeAccess(reflect.TypeFor[errorsink.Store](), reflect.TypeFor[stream.RangeReader]()),
	),
	SampleSite: nil, // logs only
	// Firehose hands the archiver its records and takes its answer.
	Archiver: nil, // logs only
}

// codeAccess is what the code behind ports calls: for each method of each
// port, the DynamoDB adapter's or the Kinesis adapter's Accesses entry
// (every method must have one), on the stack's tables, indexes and stream.
func codeAccess(ports ...reflect.Type) []access {
	seen := map[access]bool{}
	var out []access
	add := func(a access) {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, port := range ports {
		for m := range port.Methods() {
			dyn, isDyn := dynamo.Accesses[m.Name]
			kin, isKin := kinesisadapter.Accesses[m.Name]
			if !isDyn && !isKin {
				panic("no adapter access table lists " + port.String() + "." + m.Name)
			}
			for _, a := range dyn {
				res := tableARN(a.Table)
				if a.Index != "" {
					res = indexARN(a.Table, a.Index)
				}
				add(access{a.Action, res})
			}
			for _, action := range kin {
				add(access{action, streamARN()})
			}
		}
	}
	return out
}

// xrayActions are the only actions allowed on "*", with tracing on.
var xrayActions = []string{"xray:PutTelemetryRecords", "xray:PutTraceSegments"}

// parsePolicy decodes a policy document, accepting the string-or-list
// forms IAM allows for Action and Resource.
func parsePolicy(t *testing.T, doc string) (version string, stmts []parsedStatement) {
	t.Helper()
	var raw struct {
		Version   string
		Statement []struct {
			Sid       string
			Effect    string
			Principal json.RawMessage
			Action    json.RawMessage
			Resource  json.RawMessage
			NotAction json.RawMessage
			Condition json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(doc), &raw); err != nil {
		t.Fatalf("policy is not JSON: %v\n%s", err, doc)
	}
	for _, s := range raw.Statement {
		stmts = append(stmts, parsedStatement{
			Sid: s.Sid, Effect: s.Effect, HasPrincipal: len(s.Principal) > 0, HasNotAction: len(s.NotAction) > 0,
			Actions: stringOrList(t, s.Action), Resources: stringOrList(t, s.Resource),
		})
	}
	return raw.Version, stmts
}

type parsedStatement struct {
	Sid          string
	Effect       string
	HasPrincipal bool
	HasNotAction bool
	Actions      []string
	Resources    []string
}

func stringOrList(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	if len(raw) == 0 {
		return nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		t.Fatalf("not a string or list of strings: %s", raw)
	}
	return many
}

func sortAccess(a []access) []access {
	out := slices.Clone(a)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Action != out[j].Action {
			return out[i].Action < out[j].Action
		}
		return out[i].Resource < out[j].Resource
	})
	return slices.Compact(out)
}

// TestPolicies parses every function's policy and checks it against
// wantAccess: exactly the expected (action, resource) pairs, no "*"
// action, no NotAction, "*" resource only for the X-Ray actions, and
// statements that only Allow.
func TestPolicies(t *testing.T) {
	for _, tracing := range []bool{false, true} {
		cfg := testConfig()
		cfg.SampleSite = true
		cfg.Tracing = tracing
		r := mustRun(t, cfg)
		for _, svc := range Services {
			t.Run(svc+"/tracing="+map[bool]string{false: "off", true: "on"}[tracing], func(t *testing.T) {
				in := r.plain(t, typePolicy, svc+"-policy")
				if got, want := in["name"], contract.Name(svc, testStack); got != want {
					t.Errorf("policy name = %v, want %v", got, want)
				}
				if got, want := in["role"], contract.Name(svc, testStack); got != want {
					t.Errorf("policy role = %v, want the function's role %v", got, want)
				}
				doc, ok := in["policy"].(string)
				if !ok {
					t.Fatalf("policy input is %T, want a JSON string", in["policy"])
				}
				version, stmts := parsePolicy(t, doc)
				if version != iampolicy.Version {
					t.Errorf("Version = %q, want %q", version, iampolicy.Version)
				}
				var got []access
				for _, s := range stmts {
					if s.Effect != "Allow" || s.HasPrincipal || s.HasNotAction {
						t.Errorf("statement %s: effect %q, principal %v, NotAction %v; want a plain Allow", s.Sid, s.Effect, s.HasPrincipal, s.HasNotAction)
					}
					for _, a := range s.Actions {
						if strings.Contains(a, "*") {
							t.Errorf("statement %s: wildcard action %q", s.Sid, a)
						}
						for _, res := range s.Resources {
							if res == "*" && !slices.Contains(xrayActions, a) {
								t.Errorf("statement %s: action %s on resource \"*\"", s.Sid, a)
							}
							got = append(got, access{a, res})
						}
					}
				}
				want := slices.Concat(wantAccess[svc],
					grant(list(logStreamsARN(svc)), "logs:CreateLogStream", "logs:PutLogEvents"))
				if tracing {
					want = append(want, grant(list("*"), xrayActions...)...)
				}
				if diff := cmp.Diff(sortAccess(want), sortAccess(got)); diff != "" {
					t.Errorf("access (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestTrustPolicies checks that only Lambda can assume each role.
func TestTrustPolicies(t *testing.T) {
	cfg := testConfig()
	cfg.SampleSite = true
	r := mustRun(t, cfg)
	for _, svc := range Services {
		t.Run(svc, func(t *testing.T) {
			in := r.plain(t, typeRole, svc+"-role")
			var doc iampolicy.Document
			if err := json.Unmarshal([]byte(in["assumeRolePolicy"].(string)), &doc); err != nil {
				t.Fatalf("trust policy: %v", err)
			}
			want := iampolicy.Document{Version: iampolicy.Version, Statement: []iampolicy.Statement{{
				Sid: "LambdaAssumeRole", Effect: "Allow",
				Principal: &iampolicy.Principal{Service: []string{"lambda.amazonaws.com"}},
				Action:    []string{"sts:AssumeRole"},
			}}}
			if diff := cmp.Diff(want, doc); diff != "" {
				t.Errorf("trust policy (-want +got):\n%s", diff)
			}
			if in["managedPolicyArns"] != nil || in["inlinePolicies"] != nil {
				t.Errorf("role has extra policies: %v %v", in["managedPolicyArns"], in["inlinePolicies"])
			}
		})
	}
}

// firehoseDocumented are the actions the Firehose developer guide lists
// for a delivery stream's role with a Kinesis stream source, a Lambda
// transformation, an S3 destination and CloudWatch error logging ("Grant
// Firehose access to an Amazon S3 destination"), by the resource each is
// granted on here. The guide's s3:GetObject is left out: an S3 destination
// never reads back.
var firehoseDocumented = map[string][]string{
	"stream":    {"kinesis:DescribeStream", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"},
	"function":  {"lambda:GetFunctionConfiguration", "lambda:InvokeFunction"},
	"bucket":    {"s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"},
	"objects":   {"s3:AbortMultipartUpload", "s3:PutObject"},
	"logStream": {"logs:PutLogEvents"},
}

// TestFirehosePolicy checks the delivery stream's role statement by
// statement: it reads this one stream, invokes this one function, writes
// this bucket's archive objects only — what the archive port's Put needs
// (libs/archive/s3 Accesses, on the objects of the two archive prefixes)
// and the bucket-level and multipart actions Firehose documents — and
// writes to its one log stream.
func TestFirehosePolicy(t *testing.T) {
	r := mustRun(t, testConfig())
	in := r.plain(t, typePolicy, ArchiveBase+"-firehose-policy")
	role := contract.Name(FirehoseRoleBase, testStack)
	if in["name"] != role || in["role"] != role {
		t.Errorf("policy name %v on role %v, want %s on %s", in["name"], in["role"], role, role)
	}
	_, stmts := parsePolicy(t, in["policy"].(string))

	objects := list(bucketARN()+"/"+archive.EventsPrefix+"*", bucketARN()+"/"+archive.ErrorsPrefix+"*")
	// The archive port's Put, on the objects Firehose writes.
	var put []access
	for _, a := range archives3.Accesses()["Put"] {
		switch a.Resource {
		case archives3.ObjectsResource:
			put = append(put, grant(objects, a.Action)...)
		case archives3.BucketResource:
			put = append(put, grant(list(bucketARN()), a.Action)...)
		}
	}
	if len(put) == 0 {
		t.Fatal("libs/archive/s3 Accesses lists nothing for Put")
	}
	fn := functionARN(Archiver)
	type statement struct {
		Sid     string
		Access  []access
		Allowed bool
	}
	want := []statement{
		{"ReadSourceStream", grant(list(streamARN()), firehoseDocumented["stream"]...), true},
		// Qualified as the processor names it, and unqualified.
		{"InvokeArchiver", grant(list(fn, fn+":$LATEST"), firehoseDocumented["function"]...), true},
		{"LocateArchiveBucket", grant(list(bucketARN()), firehoseDocumented["bucket"]...), true},
		{"WriteArchiveObjects", sortAccess(slices.Concat(put, grant(objects, firehoseDocumented["objects"]...))), true},
		{"LogDeliveryErrors", grant(list(logGroupARN(FirehoseLogGroupName(contract.Name(ArchiveBase, testStack)))+":log-stream:"+FirehoseLogStream),
			firehoseDocumented["logStream"]...), true},
	}
	var got []statement
	for _, s := range stmts {
		var acc []access
		for _, a := range s.Actions {
			if strings.Contains(a, "*") {
				t.Errorf("statement %s: wildcard action %q", s.Sid, a)
			}
			for _, res := range s.Resources {
				acc = append(acc, access{a, res})
			}
		}
		got = append(got, statement{s.Sid, sortAccess(acc), s.Effect == "Allow" && !s.HasPrincipal && !s.HasNotAction})
	}
	for i := range want {
		want[i].Access = sortAccess(want[i].Access)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Firehose role policy (-want +got):\n%s", diff)
	}
}

// TestServiceTrustPolicies checks the roles that AWS services other than
// Lambda assume: Firehose's with its documented external id, Scheduler's
// with aws:SourceAccount, both the stack's account, and nothing else.
func TestServiceTrustPolicies(t *testing.T) {
	cfg := testConfig()
	cfg.Schedule = "rate(1 hour)"
	r := mustRun(t, cfg)
	for _, tc := range []struct {
		role, sid, service, key string
	}{
		{ArchiveBase + "-firehose-role", "FirehoseAssumeRole", "firehose.amazonaws.com", "sts:ExternalId"},
		{ScheduleBase + "-role", "SchedulerAssumeRole", "scheduler.amazonaws.com", "aws:SourceAccount"},
	} {
		t.Run(tc.service, func(t *testing.T) {
			in := r.plain(t, typeRole, tc.role)
			var doc iampolicy.Document
			if err := json.Unmarshal([]byte(in["assumeRolePolicy"].(string)), &doc); err != nil {
				t.Fatalf("trust policy: %v", err)
			}
			want := iampolicy.Document{Version: iampolicy.Version, Statement: []iampolicy.Statement{{
				Sid: tc.sid, Effect: "Allow",
				Principal: &iampolicy.Principal{Service: []string{tc.service}},
				Action:    []string{"sts:AssumeRole"},
				Condition: iampolicy.Condition{"StringEquals": {tc.key: {mocktest.Account}}},
			}}}
			if diff := cmp.Diff(want, doc); diff != "" {
				t.Errorf("trust policy (-want +got):\n%s", diff)
			}
			if in["managedPolicyArns"] != nil || in["inlinePolicies"] != nil {
				t.Errorf("role has extra policies: %v %v", in["managedPolicyArns"], in["inlinePolicies"])
			}
		})
	}
}

// TestSchedulePolicy: the schedule's role may invoke the scraper, by its
// unqualified ARN as the target names it, and nothing else.
func TestSchedulePolicy(t *testing.T) {
	cfg := testConfig()
	cfg.Schedule = "cron(0 8 * * ? *)"
	in := mustRun(t, cfg).plain(t, typePolicy, ScheduleBase+"-policy")
	name := contract.Name(ScheduleBase, testStack)
	if in["name"] != name || in["role"] != name {
		t.Errorf("policy name %v on role %v, want %s on %s", in["name"], in["role"], name, name)
	}
	_, stmts := parsePolicy(t, in["policy"].(string))
	want := []parsedStatement{{Sid: "InvokeTarget", Effect: "Allow", Actions: list("lambda:InvokeFunction"), Resources: list(functionARN(Scraper))}}
	if diff := cmp.Diff(want, stmts); diff != "" {
		t.Errorf("schedule policy (-want +got):\n%s", diff)
	}
}

// TestBucketPolicy checks the archive bucket's policy: it denies, to
// anyone, every S3 action on the bucket and its objects made without TLS,
// and allows nothing.
func TestBucketPolicy(t *testing.T) {
	in := mustRun(t, testConfig()).plain(t, typeBucketPol, ArchiveBase+"-tls-only")
	if in["bucket"] != testBucket() {
		t.Errorf("policy on bucket %v, want %s", in["bucket"], testBucket())
	}
	var doc iampolicy.Document
	if err := json.Unmarshal([]byte(in["policy"].(string)), &doc); err != nil {
		t.Fatalf("bucket policy: %v", err)
	}
	want := iampolicy.Document{Version: iampolicy.Version, Statement: []iampolicy.Statement{{
		Sid: "DenyInsecureTransport", Effect: "Deny",
		Principal: &iampolicy.Principal{AWS: []string{"*"}},
		Action:    []string{"s3:*"},
		Resource:  []string{bucketARN(), bucketARN() + "/*"},
		Condition: iampolicy.Condition{"Bool": {"aws:SecureTransport": {"false"}}},
	}}}
	if diff := cmp.Diff(want, doc); diff != "" {
		t.Errorf("bucket policy (-want +got):\n%s", diff)
	}
}

// TestAlarmKeyPolicy checks the alarm topic key's policy: the account
// manages it through IAM, CloudWatch may encrypt and decrypt with it, no
// one else is named.
func TestAlarmKeyPolicy(t *testing.T) {
	cfg := testConfig()
	cfg.AlarmEmail = "ops@example.org"
	in := mustRun(t, cfg).plain(t, typeKey, AlarmTopicBase+"-key")
	var doc iampolicy.Document
	if err := json.Unmarshal([]byte(in["policy"].(string)), &doc); err != nil {
		t.Fatalf("key policy: %v", err)
	}
	want := iampolicy.Document{Version: iampolicy.Version, Statement: []iampolicy.Statement{
		{Sid: "AccountManagesKeyThroughIAM", Effect: "Allow",
			Principal: &iampolicy.Principal{AWS: []string{"arn:aws:iam::" + mocktest.Account + ":root"}},
			Action:    []string{"kms:*"}, Resource: []string{"*"}},
		{Sid: "CloudWatchPublishesAlarms", Effect: "Allow",
			Principal: &iampolicy.Principal{Service: []string{"cloudwatch.amazonaws.com"}},
			Action:    []string{"kms:Decrypt", "kms:GenerateDataKey"}, Resource: []string{"*"}},
	}}
	if diff := cmp.Diff(want, doc); diff != "" {
		t.Errorf("key policy (-want +got):\n%s", diff)
	}
}
