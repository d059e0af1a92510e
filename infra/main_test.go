package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/scrape-pipeline/scrape-pipeline/infra/deployer"
	"github.com/scrape-pipeline/scrape-pipeline/infra/iampolicy"
	"github.com/scrape-pipeline/scrape-pipeline/infra/internal/mocktest"
	"github.com/scrape-pipeline/scrape-pipeline/infra/pipeline"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/services/query"
	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper/profile"
)

var update = flag.Bool("update", false, "rewrite testdata/courseX.snapshot.json")

const (
	projectFile  = "../Pulumi.yaml"
	stackName    = "courseX"
	stackFile    = "../Pulumi." + stackName + ".yaml"
	snapshotFile = "testdata/" + stackName + ".snapshot.json"
)

// fakeArtifacts stands in for tools/lambdabuild: the mock runs build
// nothing.
type fakeArtifacts struct{}

func (fakeArtifacts) Zip(name string) (string, string, error) {
	return "dist/lambda/" + name + ".zip", "<sha256 of " + name + ".zip>", nil
}

// loadProject reads Pulumi.yaml.
func loadProject(t testing.TB) *workspace.Project {
	t.Helper()
	proj, err := workspace.LoadProject(projectFile)
	if err != nil {
		t.Fatalf("load %s: %v", projectFile, err)
	}
	return proj
}

// stackConfig returns what the Pulumi CLI would hand the program for the
// courseX stack: the stack file's values over Pulumi.yaml's defaults, by
// namespaced key ("scrape-pipeline:url", "aws:region").
func stackConfig(t testing.TB) map[string]string {
	t.Helper()
	proj := loadProject(t)
	sink := diag.DefaultSink(io.Discard, io.Discard, diag.FormatOptions{Color: colors.Never})
	stack, err := workspace.LoadProjectStack(sink, proj, stackFile)
	if err != nil {
		t.Fatalf("load %s: %v", stackFile, err)
	}
	values := map[string]string{}
	for key, decl := range proj.Config {
		if decl.Default == nil {
			continue
		}
		values[string(proj.Name)+":"+key] = configText(t, decl.Default)
	}
	for k, v := range stack.Config {
		s, err := v.Value(config.NopDecrypter)
		if err != nil {
			t.Fatalf("value of %s: %v", k, err)
		}
		values[k.String()] = s
	}
	return values
}

// projectGetter reads the project's own keys out of namespaced values, as
// config.Get does.
func projectGetter(values map[string]string) func(string) string {
	return func(key string) string { return values["scrape-pipeline:"+key] }
}

// runProgram runs the program under mocks and returns what it registered
// and its resolved outputs.
func runProgram(t testing.TB, get func(string) string) (*mocktest.Recorder, map[string]any, error) {
	t.Helper()
	rec := &mocktest.Recorder{}
	var mu sync.Mutex
	outputs := map[string]any{}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		p, err := program(ctx, get, fakeArtifacts{})
		if err != nil {
			return err
		}
		for name, out := range p.Outputs {
			out.ApplyT(func(v string) string {
				mu.Lock()
				outputs[name] = v
				mu.Unlock()
				return v
			})
		}
		return nil
	}, pulumi.WithMocks("scrape-pipeline", stackName, rec))
	return rec, outputs, err
}

// TestSnapshot compares the resource graph of the courseX stack, as its
// committed config declares it, with testdata/courseX.snapshot.json: the
// reviewable preview of every change. Rewrite with -update.
func TestSnapshot(t *testing.T) {
	values := stackConfig(t)
	if values["aws:region"] != mocktest.Region {
		t.Errorf("%s: aws:region = %q, the snapshot's placeholders assume %q", stackFile, values["aws:region"], mocktest.Region)
	}
	rec, outputs, err := runProgram(t, projectGetter(values))
	if err != nil {
		t.Fatalf("program: %v", err)
	}
	got, err := mocktest.NewSnapshot(rec.Resources(), outputs).JSON()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(snapshotFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(snapshotFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(snapshotFile)
	if err != nil {
		t.Fatalf("read snapshot (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("the program no longer matches %s; review the change and rerun with -update (-snapshot +program):\n%s", snapshotFile, diff)
	}

	// Two runs register the same graph: nothing depends on map order.
	rec2, outputs2, err := runProgram(t, projectGetter(values))
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	again, _ := mocktest.NewSnapshot(rec2.Resources(), outputs2).JSON()
	if !bytes.Equal(got, again) {
		t.Error("two runs of the program registered different graphs")
	}
}

// TestStackFile checks that the committed courseX config is a working
// workshop setup: London, the courseX profile, and something to scrape.
func TestStackFile(t *testing.T) {
	values := stackConfig(t)
	for k, want := range map[string]string{"aws:region": "eu-west-2", "aws:profile": "courseX"} {
		if values[k] != want {
			t.Errorf("%s: %s = %q, want %q", stackFile, k, values[k], want)
		}
	}
	cfg, err := pipeline.LoadConfig(projectGetter(values), stackName)
	if err != nil {
		t.Fatalf("%s does not load: %v", stackFile, err)
	}
	if cfg.URL == "" && !cfg.SampleSite {
		t.Errorf("%s scrapes nothing", stackFile)
	}
}

// TestProjectFile checks Pulumi.yaml: the Go program in infra/, and config
// declarations that are exactly the keys the program reads, each typed,
// described and defaulting to what the program assumes.
func TestProjectFile(t *testing.T) {
	proj := loadProject(t)
	if proj.Name != "scrape-pipeline" || proj.Runtime.Name() != "go" || proj.Main != "infra/" || proj.Description == nil {
		t.Errorf("project = name %q runtime %q main %q description %v; want scrape-pipeline, go, infra/, a description",
			proj.Name, proj.Runtime.Name(), proj.Main, proj.Description)
	}
	var declared []string
	for k := range proj.Config {
		declared = append(declared, k)
	}
	if diff := cmp.Diff(slices.Sorted(slices.Values(pipeline.Keys)), slices.Sorted(slices.Values(declared))); diff != "" {
		t.Errorf("declared config keys (-program +Pulumi.yaml):\n%s", diff)
	}

	// Each default, fed through the loader alone, must give the program's
	// own default for that key. A URL is set (an empty url is only valid
	// with the sample site, which is then switched on instead).
	const someURL = "https://films.example.org/chart"
	for key, decl := range proj.Config {
		t.Run(key, func(t *testing.T) {
			if decl.Type == nil || decl.Description == "" || decl.Default == nil {
				t.Fatalf("want a type, a description and a default; got %+v", decl)
			}
			values := map[string]string{key: configText(t, decl.Default)}
			want := pipeline.DefaultConfig(stackName)
			if key == pipeline.KeyURL {
				values[pipeline.KeySampleSite] = "true"
				want.SampleSite = true
			} else {
				values[pipeline.KeyURL] = someURL
				want.URL = someURL
			}
			got, err := pipeline.LoadConfig(func(k string) string { return values[k] }, stackName)
			if err != nil {
				t.Fatalf("default %v does not load: %v", decl.Default, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("default %v differs from the program's (-program +Pulumi.yaml):\n%s", decl.Default, diff)
			}
		})
	}
	// Types as declared: what the loader parses the key as.
	wantType := map[string]string{}
	rt := reflect.TypeOf(pipeline.Config{})
	for _, key := range pipeline.Keys {
		f, ok := rt.FieldByNameFunc(func(n string) bool { return strings.EqualFold(n, key) })
		if !ok {
			t.Errorf("no Config field for key %s", key)
			continue
		}
		// A map is set as an array of "name=value" items.
		wantType[key] = map[reflect.Kind]string{reflect.String: "string", reflect.Int: "integer", reflect.Bool: "boolean",
			reflect.Slice: "array", reflect.Map: "array"}[f.Type.Kind()]
		if f.Type == reflect.TypeFor[time.Duration]() {
			wantType[key] = "string" // a Go duration such as "1h"
		}
	}
	for key, decl := range proj.Config {
		if decl.Type != nil && *decl.Type != wantType[key] {
			t.Errorf("%s: type %s, want %s", key, *decl.Type, wantType[key])
		}
	}
}

// TestRoutesAreTheServices checks that the API registers exactly the
// routes the contract lists for each service (what each service registers,
// as its own tests check), each to its own function, plus the $default
// route to the query service (its JSON 404 and 405 and its CORS preflights
// for every request no route matches), and that the outputs' paths are
// served.
func TestRoutesAreTheServices(t *testing.T) {
	values := stackConfig(t)
	values["scrape-pipeline:sampleSite"] = "true"
	rec, _, err := runProgram(t, projectGetter(values))
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for svc, routes := range map[string][]contract.Route{
		pipeline.Scraper: contract.ScraperRoutes(), pipeline.Query: contract.QueryRoutes(), pipeline.SampleSite: contract.SampleSiteRoutes(),
	} {
		for _, r := range routes {
			want = append(want, "integrations/"+svc+"-id "+r.Key())
		}
	}
	want = append(want, "integrations/"+pipeline.Query+"-id "+pipeline.DefaultRouteKey)
	for _, r := range rec.OfType("aws:apigatewayv2/route:Route") {
		in := mocktest.Plain(r.Inputs)
		got = append(got, fmt.Sprintf("%v %v", in["target"], in["routeKey"]))
	}
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("API routes (-services +API):\n%s", diff)
	}
	if !slices.Contains(contract.QueryRoutes(), contract.Route{Method: "GET", Path: moviesPath}) {
		t.Errorf("contract.QueryRoutes do not serve GET %s (the moviesUrl output)", moviesPath)
	}
	if !slices.Contains(contract.SampleSiteRoutes(), contract.Route{Method: "GET", Path: contract.SampleSiteChartPath}) {
		t.Errorf("contract.SampleSiteRoutes do not serve GET %s (the default page)", contract.SampleSiteChartPath)
	}
	if !slices.Contains(contract.ScraperRoutes(), contract.ScrapeRoute) {
		t.Errorf("contract.ScraperRoutes lack %s", contract.ScrapeRoute.Key())
	}
}

// FuzzCORSOriginsAgree checks that whatever corsOrigins the stack accepts,
// the query function accepts too when it reads the CORS_ORIGINS the
// program sets from it (the comma-joined list), so a deployed query
// function never refuses to start over it.
func FuzzCORSOriginsAgree(f *testing.F) {
	for _, o := range []string{
		"*", "https://app.example.org", "http://localhost:5173", "http://[::1]:3000",
		"https://app.example.org/", "https://app.example.org?", "https://app.example.org#",
		"HTTPS://app.example.org", "https://App.example.org", "https://app.example.org:443",
		"https://user@app.example.org", "https:app.example.org", "a,b", "https://a.example,https://b.example",
		" https://app.example.org", "",
	} {
		f.Add(o, "http://localhost:8080")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		cfg := pipeline.DefaultConfig(stackName)
		cfg.URL = "https://films.example.org/chart"
		cfg.CORSOrigins = []string{a, b}
		if cfg.Validate() != nil {
			return
		}
		env := strings.Join(cfg.CORSOrigins, ",")
		qc := query.LoadConfig(func(k string) string {
			if k == contract.EnvCORSOrigins {
				return env
			}
			return ""
		})
		if err := qc.Validate(); err != nil && strings.Contains(err.Error(), contract.EnvCORSOrigins) {
			t.Errorf("stack accepts corsOrigins %q, the query function refuses %s=%q: %v", cfg.CORSOrigins, contract.EnvCORSOrigins, env, err)
		}
	})
}

// FuzzSampleSiteDriftAgree checks that whatever sampleSiteDrift the stack
// accepts, the sample-site function accepts too when it reads the
// SAMPLE_SITE_DRIFT the program sets from it, so a deployed site never
// refuses to start over it.
func FuzzSampleSiteDriftAgree(f *testing.F) {
	for _, v := range []string{"1h", "0", "1m", "59s", "90s", "1h0m0s", "-1h", "2562047h", "1.5m", "60", ""} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		cfg, err := pipeline.LoadConfig(func(k string) string {
			switch k {
			case pipeline.KeySampleSite:
				return "true"
			case pipeline.KeySampleSiteDrift:
				return v
			}
			return ""
		}, stackName)
		if err != nil {
			return
		}
		env := cfg.SampleSiteDrift.String() // what the program sets
		sc, err := samplesite.LoadConfig(func(k string) string {
			if k == contract.EnvSampleSiteDrift {
				return env
			}
			return ""
		})
		if err != nil {
			t.Fatalf("stack accepts sampleSiteDrift %q, the sample site refuses %s=%q: %v", v, contract.EnvSampleSiteDrift, env, err)
		}
		if sc.Drift != cfg.SampleSiteDrift {
			t.Fatalf("sampleSiteDrift %q: the stack means %s, the site reads %s", v, cfg.SampleSiteDrift, sc.Drift)
		}
	})
}

// TestSampleSiteDriftBounds: the stack's least drift is one the site
// accepts.
func TestSampleSiteDriftBounds(t *testing.T) {
	if err := samplesite.CheckDrift(pipeline.MinSampleSiteDrift); err != nil {
		t.Errorf("pipeline.MinSampleSiteDrift %s: the site refuses it: %v", pipeline.MinSampleSiteDrift, err)
	}
	if d := pipeline.DefaultConfig(stackName).SampleSiteDrift; d != time.Hour {
		t.Errorf("default sampleSiteDrift %s, want 1h", d)
	}
}

// TestBadConfigFailsTheProgram checks that a bad stack configuration stops
// the program before any resource, with one message naming every problem.
func TestBadConfigFailsTheProgram(t *testing.T) {
	values := map[string]string{
		"scrape-pipeline:shards":     "0",
		"scrape-pipeline:scrapeAuth": "open",
		"scrape-pipeline:url":        "ftp://films.example.org/",
		"scrape-pipeline:memory":     "64",
	}
	rec, _, err := runProgram(t, projectGetter(values))
	if err == nil {
		t.Fatal("program accepted a bad configuration")
	}
	for _, want := range []string{"shards: 0", `scrapeAuth: "open"`, "url: \"ftp://", "memory: 64"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if n := len(rec.Resources()); n != 0 {
		t.Errorf("%d resources registered before the config was rejected", n)
	}
}

// BenchmarkProgram times one full run of the program under mocks with the
// courseX config: every resource registered and every output resolved.
func BenchmarkProgram(b *testing.B) {
	get := projectGetter(stackConfig(b))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := runProgram(b, get); err != nil {
			b.Fatal(err)
		}
	}
}

// configText is a config value as the program reads it: strings as they
// are, everything else (numbers, booleans, arrays) as JSON.
func configText(t testing.TB, v any) string {
	t.Helper()
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("config value %v: %v", v, err)
	}
	return string(b)
}

// TestDetailConcurrencyAgrees ties the stack's detail-concurrency bounds
// and the sample site's throttle to the scraper's profiles: the stack
// accepts what a profile may hold, and the throttle of the default
// profile's concurrency is what the deployed courseX stack gets.
func TestDetailConcurrencyAgrees(t *testing.T) {
	if pipeline.MaxDetailConcurrency != profile.MaxConcurrency {
		t.Errorf("pipeline.MaxDetailConcurrency %d, the scraper's profile.MaxConcurrency %d", pipeline.MaxDetailConcurrency, profile.MaxConcurrency)
	}
	def, err := profile.Builtin(profile.Default)
	if err != nil {
		t.Fatal(err)
	}
	for spec, want := range map[string]int{
		"":              def.DetailConcurrency(),
		profile.Default: def.DetailConcurrency(),
		"no-such":       0,
		"{not json":     0,
	} {
		if got := profileDetailConcurrency(spec); got != want {
			t.Errorf("profileDetailConcurrency(%q) = %d, want %d", spec, got, want)
		}
	}
	rec, _, err := runProgram(t, projectGetter(stackConfig(t)))
	if err != nil {
		t.Fatal(err)
	}
	want := pipeline.SampleSiteThrottle(def.DetailConcurrency())
	for _, st := range rec.OfType("aws:apigatewayv2/stage:Stage") {
		for _, rs := range mocktest.Plain(st.Inputs)["routeSettings"].([]any) {
			s := rs.(map[string]any)
			if !strings.Contains(s["routeKey"].(string), "/site") && !strings.Contains(s["routeKey"].(string), "robots.txt") {
				continue
			}
			if s["throttlingRateLimit"] != float64(want.Rate) || s["throttlingBurstLimit"] != float64(want.Burst) {
				t.Errorf("%v: %v/s, burst %v; want %+v", s["routeKey"], s["throttlingRateLimit"], s["throttlingBurstLimit"], want)
			}
		}
	}
}

// TestScheduleInputIsTheScrapers: the schedule invokes the scraper with
// an input its Lambda entry point takes for a scheduled run.
func TestScheduleInputIsTheScrapers(t *testing.T) {
	in := scheduleInput()
	if !scraper.IsScheduleInput([]byte(in)) {
		t.Fatalf("schedule input %s is not the scraper's", in)
	}
	if _, err := scraper.ParseScheduleInput([]byte(in)); err != nil {
		t.Errorf("schedule input %s: %v", in, err)
	}
}

// everything is a courseX configuration with every optional resource on:
// the sample site, a schedule, alarm mail, reservations.
func everything(t testing.TB) map[string]string {
	values := stackConfig(t)
	for k, v := range map[string]string{
		pipeline.KeySampleSite:          "true",
		pipeline.KeySchedule:            "rate(1 hour)",
		pipeline.KeyAlarmEmail:          "ops@example.org",
		pipeline.KeyReservedConcurrency: "processor=2",
	} {
		values["scrape-pipeline:"+k] = v
	}
	return values
}

// TestDeployerPolicyCoversProgram runs the program with every optional
// resource and checks the deployer policy against what it registers:
// every resource type must be in the policy's table, and every resource
// with an ARN must be matched by a statement of its type — by a resource
// pattern, or, for KMS keys, by the stack tag the statement's condition
// requires.
func TestDeployerPolicyCoversProgram(t *testing.T) {
	rec, _, err := runProgram(t, projectGetter(everything(t)))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := deployer.Policy(deployer.Options{Suffix: stackName, Region: mocktest.Region, Account: mocktest.Account, APIID: mocktest.APIID})
	if err != nil {
		t.Fatal(err)
	}
	bySid := map[string]iampolicy.Statement{}
	for _, s := range doc.Statement {
		bySid[s.Sid] = s
	}
	types := map[string]bool{}
	for _, res := range rec.Resources() {
		if !res.Custom {
			continue // components call no AWS API
		}
		types[res.Type] = true
		sids, ok := deployer.Covers(res.Type)
		if !ok {
			t.Errorf("the deployer policy does not cover %s (%s)", res.Type, res.Name)
			continue
		}
		if res.ARN == "" {
			continue
		}
		matched := false
		for _, sid := range sids {
			s := bySid[sid]
			for _, pattern := range s.Resource {
				if s.Condition == nil && iamArnLike(pattern, res.ARN) {
					matched = true
				}
			}
			if tag, ok := s.Condition["StringEquals"]["aws:ResourceTag/"+contract.StackTagKey]; ok && slices.Contains(s.Resource, "arn:aws:kms:"+mocktest.Region+":"+mocktest.Account+":key/*") {
				tags, _ := mocktest.Plain(res.Inputs)["tags"].(map[string]any)
				matched = matched || (iamArnLike(s.Resource[0], res.ARN) && slices.Contains(tag, fmt.Sprint(tags[contract.StackTagKey])))
			}
		}
		if !matched {
			t.Errorf("%s %s: no statement of %v matches %s", res.Type, res.Name, sids, res.ARN)
		}
	}
	// The configuration above must have registered every optional type.
	for _, typ := range []string{"aws:scheduler/schedule:Schedule", "aws:sns/topic:Topic", "aws:kms/key:Key", "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"} {
		if !types[typ] {
			t.Errorf("the program registered no %s: the coverage test misses it", typ)
		}
	}
	// The API's execution ARN for POST /scrape is what InvokeScrape names.
	scrape := fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/$default/POST/scrape", mocktest.Region, mocktest.Account, mocktest.APIID)
	if !iamArnLike(bySid["InvokeScrape"].Resource[0], scrape) {
		t.Errorf("InvokeScrape %v does not match %s", bySid["InvokeScrape"].Resource, scrape)
	}
}

// iamArnLike matches an ARN against a policy's resource pattern: the six
// colon-separated parts one by one, "*" any run of characters and "?" one
// (in the last part, the resource, across ":" and "/" too).
func iamArnLike(pattern, arn string) bool {
	pp, ap := strings.SplitN(pattern, ":", 6), strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return pattern == "*"
	}
	for i := range pp {
		re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pp[i])) + "$"
		if !regexp.MustCompile(re).MatchString(ap[i]) {
			return false
		}
	}
	return true
}
