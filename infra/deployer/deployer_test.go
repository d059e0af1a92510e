package deployer_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/scrape-pipeline/scrape-pipeline/infra/deployer"
	"github.com/scrape-pipeline/scrape-pipeline/infra/iampolicy"
)

// options are the cases every property must hold for: any region and
// account, and both narrowed.
var options = []deployer.Options{
	{Suffix: "courseX"},
	{Suffix: "course-7", Region: "eu-west-2", Account: "123456789012", APIID: "a1b2c3d4e5"},
}

// readOnly reports whether an action only reads (by IAM's naming).
func readOnly(action string) bool {
	_, name, _ := strings.Cut(action, ":")
	for _, p := range []string{"Describe", "Get", "List"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// namesSuffix reports whether s names the suffix: S3 bucket names are its
// lower case.
func namesSuffix(s, suffix string) bool {
	return strings.Contains(s, "-"+suffix) || strings.Contains(s, "-"+strings.ToLower(suffix)) || s == suffix
}

// TestPolicyScopesEverything checks every statement: Allow only, no
// wildcard in any action, well-formed actions, and resources that each
// name the suffix — or a condition that does — except the documented
// exceptions, which must be read-only unless they are the three that AWS
// cannot scope at all.
func TestPolicyScopesEverything(t *testing.T) {
	writeExceptions := []string{"DeliverAPIAccessLogs", "InvokeScrape", "ManageHTTPAPIs"}
	for _, o := range options {
		t.Run(o.Suffix, func(t *testing.T) {
			doc, err := deployer.Policy(o)
			if err != nil {
				t.Fatal(err)
			}
			if doc.Version != iampolicy.Version {
				t.Errorf("version %q", doc.Version)
			}
			seen := map[string]bool{}
			for _, s := range doc.Statement {
				if seen[s.Sid] || s.Sid == "" {
					t.Errorf("Sid %q empty or repeated", s.Sid)
				}
				seen[s.Sid] = true
				if s.Effect != iampolicy.Allow || s.Principal != nil || len(s.Action) == 0 || len(s.Resource) == 0 {
					t.Errorf("%s: effect %s, principal %v, %d actions, %d resources", s.Sid, s.Effect, s.Principal, len(s.Action), len(s.Resource))
				}
				for _, a := range s.Action {
					svc, name, ok := strings.Cut(a, ":")
					if strings.Contains(a, "*") || !ok || svc == "" || name == "" {
						t.Errorf("%s: action %q is a wildcard or not service:Action", s.Sid, a)
					}
				}
				if !slices.IsSorted(s.Action) || len(slices.Compact(slices.Clone(s.Action))) != len(s.Action) {
					t.Errorf("%s: actions not sorted and distinct: %v", s.Sid, s.Action)
				}
				scoped := true
				for _, r := range s.Resource {
					scoped = scoped && namesSuffix(r, o.Suffix)
				}
				if !scoped && s.Condition != nil {
					scoped = conditionNamesSuffix(s.Condition, o.Suffix)
				}
				ex, isException := deployer.Exceptions[s.Sid]
				switch {
				case scoped && isException:
					t.Errorf("%s is scoped to the suffix but listed as an exception", s.Sid)
				case !scoped && !isException:
					t.Errorf("%s: resources %v name no suffix %q and it is no documented exception", s.Sid, s.Resource, o.Suffix)
				case isException && ex.Reason == "":
					t.Errorf("%s: an exception without a reason", s.Sid)
				case isException && ex.ReadOnly:
					for _, a := range s.Action {
						if !readOnly(a) {
							t.Errorf("%s: read-only exception allows %s", s.Sid, a)
						}
					}
				case isException && !slices.Contains(writeExceptions, s.Sid):
					t.Errorf("%s: a new exception that writes; it must be read-only, or scoped", s.Sid)
				}
			}
			for sid := range deployer.Exceptions {
				if !seen[sid] {
					t.Errorf("exception %s names no statement", sid)
				}
			}
		})
	}
}

// conditionNamesSuffix reports whether a condition restricts to values
// that all name the suffix, under at least one key.
func conditionNamesSuffix(c iampolicy.Condition, suffix string) bool {
	for _, keys := range c {
		for _, vals := range keys {
			all := len(vals) > 0
			for _, v := range vals {
				all = all && namesSuffix(v, suffix)
			}
			if all {
				return true
			}
		}
	}
	return false
}

// TestInvokeScrape checks the one statement the attendee uses after
// deploying: the signed POST /scrape, on the API given, or any.
func TestInvokeScrape(t *testing.T) {
	for _, tc := range []struct {
		o    deployer.Options
		want string
	}{
		{deployer.Options{Suffix: "courseX"}, "arn:aws:execute-api:*:*:*/$default/POST/scrape"},
		{deployer.Options{Suffix: "courseX", Region: "eu-west-2", Account: "123456789012", APIID: "a1b2c3d4e5"},
			"arn:aws:execute-api:eu-west-2:123456789012:a1b2c3d4e5/$default/POST/scrape"},
	} {
		doc, err := deployer.Policy(tc.o)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(doc.Statement, func(s iampolicy.Statement) bool { return s.Sid == "InvokeScrape" })
		if i < 0 {
			t.Fatal("no InvokeScrape statement")
		}
		if diff := cmp.Diff(iampolicy.Statement{Sid: "InvokeScrape", Effect: "Allow",
			Action: []string{"execute-api:Invoke"}, Resource: []string{tc.want}}, doc.Statement[i]); diff != "" {
			t.Errorf("InvokeScrape (-want +got):\n%s", diff)
		}
	}
}

// TestPoliciesFit checks that the parts each fit in a managed policy and
// together are the whole policy, in order.
func TestPoliciesFit(t *testing.T) {
	for _, o := range options {
		whole, err := deployer.Policy(o)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := deployer.Policies(o)
		if err != nil {
			t.Fatal(err)
		}
		var joined []iampolicy.Statement
		for i, d := range docs {
			size, err := deployer.Size(d)
			if err != nil {
				t.Fatal(err)
			}
			if size > deployer.MaxPolicySize || len(d.Statement) == 0 || d.Version != iampolicy.Version {
				t.Errorf("part %d: %d characters, %d statements, version %q", i+1, size, len(d.Statement), d.Version)
			}
			joined = append(joined, d.Statement...)
		}
		if diff := cmp.Diff(whole.Statement, joined); diff != "" {
			t.Errorf("parts differ from the whole policy (-whole +parts):\n%s", diff)
		}
		if len(docs) > 10 {
			t.Errorf("%d parts: an IAM user takes at most 10 managed policies", len(docs))
		}
	}
}

// TestSize checks Size against IAM's rule: white space outside strings
// does not count, inside strings it does.
func TestSize(t *testing.T) {
	doc := iampolicy.Document{Version: "v", Statement: []iampolicy.Statement{{Sid: "S", Effect: "Allow",
		Action: []string{"a:B"}, Resource: []string{"x"}}}}
	b, _ := json.Marshal(doc)
	got, err := deployer.Size(doc)
	if err != nil || got != len(b) {
		t.Errorf("Size = %d, %v; want %d", got, err, len(b))
	}
}

// TestValidate checks the options the command refuses.
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		o    deployer.Options
		want []string
	}{
		{deployer.Options{Suffix: "courseX"}, nil},
		{deployer.Options{Suffix: "courseX", Region: "eu-west-2", Account: "123456789012", APIID: "a1b2c3d4e5"}, nil},
		{deployer.Options{}, []string{`suffix ""`}},
		{deployer.Options{Suffix: "-x", Region: "London", Account: "12345", APIID: "A1B2C3D4E5"},
			[]string{`suffix "-x"`, `region "London"`, `account "12345"`, `API id "A1B2C3D4E5"`}},
		{deployer.Options{Suffix: "c*"}, []string{`suffix "c*"`}},
	} {
		err := tc.o.Validate()
		if (err == nil) != (tc.want == nil) {
			t.Errorf("%+v: Validate = %v", tc.o, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %v lacks %q", tc.o, err, w)
			}
		}
		if _, err := deployer.Policy(tc.o); (err == nil) != (tc.want == nil) {
			t.Errorf("%+v: Policy error %v", tc.o, err)
		}
	}
}
