package pipeline

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
				if version != PolicyVersion {
					t.Errorf("Version = %q, want %q", version, PolicyVersion)
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
			var doc PolicyDocument
			if err := json.Unmarshal([]byte(in["assumeRolePolicy"].(string)), &doc); err != nil {
				t.Fatalf("trust policy: %v", err)
			}
			want := PolicyDocument{Version: PolicyVersion, Statement: []PolicyStatement{{
				Sid: "LambdaAssumeRole", Effect: "Allow",
				Principal: &PolicyPrincipal{Service: []string{"lambda.amazonaws.com"}},
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
