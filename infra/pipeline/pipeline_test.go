package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/scrape-pipeline/scrape-pipeline/infra/internal/mocktest"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// TestResourceCounts pins how many resources of each type the stack has,
// with and without the sample site.
func TestResourceCounts(t *testing.T) {
	for _, sample := range []bool{false, true} {
		t.Run(fmt.Sprintf("sampleSite=%v", sample), func(t *testing.T) {
			cfg := testConfig()
			cfg.SampleSite = sample
			r := mustRun(t, cfg)
			fns := 5                                                      // scraper, processor, query, errorsink, archiver
			http := 2                                                     // the HTTP-facing ones: scraper, query
			routes := len(testRoutes.Scraper) + len(testRoutes.Query) + 1 // + $default
			if sample {
				fns, http, routes = 6, 3, routes+len(testRoutes.SampleSite)
			}
			want := map[string]int{
				typeStream: 1, typeTable: len(contract.Tables), typeQueue: 2,
				typeFunction: fns, typeRole: fns + 1, typePolicy: fns + 1, // + Firehose's
				typeLogGroup:  fns + 2, // + API access log, Firehose's
				typeLogStream: 1,
				typeMapping:   2, typeAPI: 1, typeStage: 1,
				typeInteg: http, typePermission: http,
				typeRoute:  routes,
				typeAlarm:  1 + 2 + 1 + fns, // iterator age, two queues, archive freshness, errors per function
				typeRandom: 1,
				typeBucket: 1, typePAB: 1, typeOwnership: 1, typeSSE: 1, typeBucketPol: 1, typeLifecycle: 1,
				typeFirehose:                     1,
				"scrape-pipeline:infra:Pipeline": 1, "scrape-pipeline:infra:Stream": 1,
				"scrape-pipeline:infra:Tables": 1, "scrape-pipeline:infra:Queues": 1,
				"scrape-pipeline:infra:API": 1, "scrape-pipeline:infra:Function": fns,
				"scrape-pipeline:infra:Alarms": 1, "scrape-pipeline:infra:Archive": 1,
			}
			got := map[string]int{}
			for _, res := range r.rec.Resources() {
				got[res.Type]++
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("resources by type (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTables checks every table against its contract schema: name, keys,
// attribute definitions, GSIs, TTL, billing, recovery and encryption.
func TestTables(t *testing.T) {
	r := mustRun(t, testConfig())
	for _, schema := range contract.Tables {
		t.Run(schema.Base, func(t *testing.T) {
			want := map[string]any{
				"name":                 contract.Name(schema.Base, testStack),
				"billingMode":          "PAY_PER_REQUEST",
				"hashKey":              schema.Hash.Name,
				"pointInTimeRecovery":  map[string]any{"enabled": true},
				"serverSideEncryption": map[string]any{"enabled": true},
			}
			attrs := map[string]string{schema.Hash.Name: string(schema.Hash.Type)}
			if schema.Range != nil {
				want["rangeKey"] = schema.Range.Name
				attrs[schema.Range.Name] = string(schema.Range.Type)
			}
			var gsis []any
			for _, ix := range schema.Indexes {
				g := map[string]any{"name": ix.Name, "hashKey": ix.Hash.Name, "projectionType": ix.Projects}
				attrs[ix.Hash.Name] = string(ix.Hash.Type)
				if ix.Range != nil {
					g["rangeKey"] = ix.Range.Name
					attrs[ix.Range.Name] = string(ix.Range.Type)
				}
				if len(ix.NonKeyAttributes) > 0 {
					var nk []any
					for _, a := range ix.NonKeyAttributes {
						nk = append(nk, a)
					}
					g["nonKeyAttributes"] = nk
				}
				gsis = append(gsis, g)
			}
			if gsis != nil {
				want["globalSecondaryIndexes"] = gsis
			}
			if schema.TTLAttribute != "" {
				want["ttl"] = map[string]any{"attributeName": schema.TTLAttribute, "enabled": true}
			}
			got := r.plain(t, typeTable, schema.Base)
			gotAttrs := map[string]string{}
			for _, a := range got["attributes"].([]any) {
				m := a.(map[string]any)
				if _, dup := gotAttrs[m["name"].(string)]; dup {
					t.Errorf("attribute %v declared twice", m["name"])
				}
				gotAttrs[m["name"].(string)] = m["type"].(string)
			}
			delete(got, "attributes")
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("table (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(attrs, gotAttrs); diff != "" {
				t.Errorf("attributes: exactly the key attributes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStream checks the stream's name, size and encryption.
func TestStream(t *testing.T) {
	cfg := testConfig()
	cfg.Shards, cfg.RetentionHours = 3, 48
	r := mustRun(t, cfg)
	want := map[string]any{
		"name":              contract.Name(contract.StreamBase, testStack),
		"shardCount":        3.0,
		"retentionPeriod":   48.0,
		"encryptionType":    "KMS",
		"kmsKeyId":          KinesisKMSKey,
		"streamModeDetails": map[string]any{"streamMode": "PROVISIONED"},
	}
	if diff := cmp.Diff(want, r.plain(t, typeStream, contract.StreamBase)); diff != "" {
		t.Errorf("stream (-want +got):\n%s", diff)
	}
}

// TestQueues checks both queues and the redrive policy between them.
func TestQueues(t *testing.T) {
	cfg := testConfig()
	cfg.Timeout = 40
	r := mustRun(t, cfg)
	retention := contract.OnFailureQueueRetention.Seconds()
	dlq := r.plain(t, typeQueue, contract.ErrorsinkDLQBase)
	if diff := cmp.Diff(map[string]any{
		"name":                    contract.Name(contract.ErrorsinkDLQBase, testStack),
		"messageRetentionSeconds": retention,
		"sqsManagedSseEnabled":    true,
	}, dlq); diff != "" {
		t.Errorf("dead-letter queue (-want +got):\n%s", diff)
	}
	of := r.plain(t, typeQueue, contract.OnFailureQueue)
	var redrive map[string]any
	if err := json.Unmarshal([]byte(of["redrivePolicy"].(string)), &redrive); err != nil {
		t.Fatalf("redrive policy: %v", err)
	}
	of["redrivePolicy"] = redrive
	if diff := cmp.Diff(map[string]any{
		"name":                     contract.Name(contract.OnFailureQueue, testStack),
		"messageRetentionSeconds":  retention,
		"visibilityTimeoutSeconds": 240.0, // 6 × the function timeout
		"sqsManagedSseEnabled":     true,
		"redrivePolicy": map[string]any{
			"deadLetterTargetArn": queueARN(contract.ErrorsinkDLQBase),
			"maxReceiveCount":     float64(MaxReceiveCount),
		},
	}, of); diff != "" {
		t.Errorf("on-failure queue (-want +got):\n%s", diff)
	}
}

// TestFunctions checks every function's settings, log group and
// environment (names from libs/contract, values the resources' names).
func TestFunctions(t *testing.T) {
	name := func(base string) string { return contract.Name(base, testStack) }
	secretKey := map[string]any{"[secret]": mocktest.CursorKeyPlaceholder}
	tests := []struct {
		desc    string
		mutate  func(*Config)
		env     map[string]map[string]any // by service; nil: no environment
		tracing bool
	}{
		{
			desc: "third-party url",
			mutate: func(c *Config) {
				c.AllowHosts = []string{"b.example.org", "films.example.org", "a.example.org"}
				c.Profile = "imdb-chart"
			},
			env: map[string]map[string]any{
				Scraper: {
					contract.EnvStreamName: name(contract.StreamBase), contract.EnvRunsTable: name(contract.RunsTableBase),
					contract.EnvScrapeURL:        "https://films.example.org/chart",
					contract.EnvScrapeAllowHosts: "a.example.org,b.example.org,films.example.org",
					contract.EnvScrapeProfile:    "imdb-chart",
				},
			},
		},
		{
			desc:   "CORS origins",
			mutate: func(c *Config) { c.CORSOrigins = []string{"https://app.example.org", "http://localhost:5173"} },
			env: map[string]map[string]any{
				Scraper: {
					contract.EnvStreamName: name(contract.StreamBase), contract.EnvRunsTable: name(contract.RunsTableBase),
					contract.EnvScrapeURL:        "https://films.example.org/chart",
					contract.EnvScrapeAllowHosts: "films.example.org",
				},
				Query: {
					contract.EnvMoviesTable:  name(contract.MoviesTableBase),
					contract.EnvRunsTable:    name(contract.RunsTableBase),
					contract.EnvErrorsTable:  name(contract.ErrorsTableBase),
					contract.EnvHistoryTable: name(contract.HistoryTableBase),
					contract.EnvCursorKey:    secretKey,
					contract.EnvCORSOrigins:  "https://app.example.org,http://localhost:5173",
				},
			},
		},
		{
			desc:   "timeout above the API's 30 s and Firehose's 5 minutes",
			mutate: func(c *Config) { c.Timeout = 600 },
			env: map[string]map[string]any{
				Scraper: {
					contract.EnvStreamName: name(contract.StreamBase), contract.EnvRunsTable: name(contract.RunsTableBase),
					contract.EnvScrapeURL:        "https://films.example.org/chart",
					contract.EnvScrapeAllowHosts: "films.example.org",
				},
			},
		},
		{
			desc: "sample site, traced",
			mutate: func(c *Config) {
				c.URL, c.SampleSite, c.Tracing = "", true, true
				c.Memory, c.Timeout = 512, 20
			},
			tracing: true,
			env: map[string]map[string]any{
				Scraper: {
					contract.EnvStreamName: name(contract.StreamBase), contract.EnvRunsTable: name(contract.RunsTableBase),
					contract.EnvScrapeURL:        apiEndpoint() + "/site/chart",
					contract.EnvScrapeAllowHosts: strings.TrimPrefix(apiEndpoint(), "https://"),
				},
				SampleSite: {contract.EnvSampleSiteDrift: "1h0m0s"},
			},
		},
		{
			desc: "sample site, frozen",
			mutate: func(c *Config) {
				c.SampleSite, c.SampleSiteDrift = true, 0
			},
			env: map[string]map[string]any{
				Scraper: {
					contract.EnvStreamName: name(contract.StreamBase), contract.EnvRunsTable: name(contract.RunsTableBase),
					contract.EnvScrapeURL:        "https://films.example.org/chart",
					contract.EnvScrapeAllowHosts: "films.example.org",
				},
				SampleSite: {contract.EnvSampleSiteDrift: "0s"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			cfg := testConfig()
			tc.mutate(&cfg)
			r := mustRun(t, cfg)
			env := map[string]map[string]any{
				Processor: {
					contract.EnvMoviesTable:  name(contract.MoviesTableBase),
					contract.EnvRunsTable:    name(contract.RunsTableBase),
					contract.EnvErrorsTable:  name(contract.ErrorsTableBase),
					contract.EnvHistoryTable: name(contract.HistoryTableBase),
				},
				Query: {
					contract.EnvMoviesTable:  name(contract.MoviesTableBase),
					contract.EnvRunsTable:    name(contract.RunsTableBase),
					contract.EnvErrorsTable:  name(contract.ErrorsTableBase),
					contract.EnvHistoryTable: name(contract.HistoryTableBase),
					contract.EnvCursorKey:    secretKey,
				},
				Errorsink: {
					contract.EnvRunsTable:   name(contract.RunsTableBase),
					contract.EnvErrorsTable: name(contract.ErrorsTableBase),
				},
			}
			for k, v := range tc.env {
				env[k] = v
			}
			// Every stack tells the scraper how to allow a host, and the
			// dashboard the signed line that starts a scrape.
			env[Scraper][contract.EnvScrapeAllowHint] = ScrapeAllowHint
			if cfg.ScrapeAuth != ScrapeAuthNone {
				env[Query][contract.EnvScrapeCommand] = ScrapeCommand(apiEndpoint(), mocktest.Region, cfg.ScrapeAuth)
			}
			for _, svc := range Deployed(cfg) {
				timeout := cfg.Timeout
				switch svc {
				case Scraper: // answers through the HTTP API, which cuts it at 30 s
					timeout = min(timeout, 29)
				case Archiver: // Firehose waits 5 minutes for a transformation
					timeout = min(timeout, 300)
				}
				want := map[string]any{
					"name":           name(svc),
					"runtime":        Runtime,
					"architectures":  []any{Architecture},
					"handler":        Handler,
					"code":           map[string]any{"archive": "dist/lambda/" + svc + ".zip"},
					"sourceCodeHash": "sha256-of-" + svc,
					"memorySize":     float64(cfg.Memory),
					"timeout":        float64(timeout),
					"role":           fmt.Sprintf("arn:aws:iam::%s:role/%s", mocktest.Account, name(svc)),
					"loggingConfig": map[string]any{
						"logFormat": LogFormat, "logGroup": "/aws/lambda/" + name(svc), "applicationLogLevel": cfg.LogLevel,
					},
				}
				if e := env[svc]; e != nil {
					want["environment"] = map[string]any{"variables": e}
				}
				if tc.tracing {
					want["tracingConfig"] = map[string]any{"mode": "Active"}
				}
				if diff := cmp.Diff(want, r.plain(t, typeFunction, svc)); diff != "" {
					t.Errorf("%s function (-want +got):\n%s", svc, diff)
				}
				if diff := cmp.Diff(map[string]any{
					"name":            "/aws/lambda/" + name(svc),
					"retentionInDays": float64(cfg.LogRetentionDays),
				}, r.plain(t, typeLogGroup, svc+"-logs")); diff != "" {
					t.Errorf("%s log group (-want +got):\n%s", svc, diff)
				}
			}
		})
	}
}

// TestMappings checks both event source mappings against the contract's
// settings and the stack's overrides.
func TestMappings(t *testing.T) {
	cfg := testConfig()
	cfg.ParallelizationFactor, cfg.StartingPosition, cfg.BatchingWindow = 4, "LATEST", 5
	cfg.ErrorsinkMaxConcurrency = 5
	r := mustRun(t, cfg)
	pm := contract.ProcessorMapping
	types := func(ss []string) []any {
		var out []any
		for _, s := range ss {
			out = append(out, s)
		}
		return out
	}
	if diff := cmp.Diff(map[string]any{
		"eventSourceArn":                 streamARN(),
		"functionName":                   fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", mocktest.Region, mocktest.Account, contract.Name(Processor, testStack)),
		"batchSize":                      float64(pm.BatchSize),
		"maximumBatchingWindowInSeconds": 5.0,
		"parallelizationFactor":          4.0,
		"bisectBatchOnFunctionError":     pm.BisectBatchOnFunctionError,
		"maximumRetryAttempts":           float64(pm.MaximumRetryAttempts),
		"maximumRecordAgeInSeconds":      float64(pm.MaximumRecordAgeInSeconds),
		"functionResponseTypes":          types(pm.FunctionResponseTypes),
		"startingPosition":               "LATEST",
		"destinationConfig": map[string]any{"onFailure": map[string]any{
			"destinationArn": queueARN(contract.OnFailureQueue),
		}},
	}, r.plain(t, typeMapping, Processor+"-stream")); diff != "" {
		t.Errorf("processor mapping (-want +got):\n%s", diff)
	}
	em := contract.ErrorsinkMapping
	if diff := cmp.Diff(map[string]any{
		"eventSourceArn":                 queueARN(contract.OnFailureQueue),
		"functionName":                   fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", mocktest.Region, mocktest.Account, contract.Name(Errorsink, testStack)),
		"batchSize":                      float64(em.BatchSize),
		"maximumBatchingWindowInSeconds": float64(em.MaximumBatchingWindowInSeconds),
		"functionResponseTypes":          types(em.FunctionResponseTypes),
		"scalingConfig":                  map[string]any{"maximumConcurrency": 5.0},
	}, r.plain(t, typeMapping, Errorsink+"-queue")); diff != "" {
		t.Errorf("errorsink mapping (-want +got):\n%s", diff)
	}

	// The contract defaults apply when the stack overrides nothing, and
	// the error sink takes at most two concurrent invocations, the least
	// Lambda allows.
	dr := mustRun(t, testConfig())
	d := dr.plain(t, typeMapping, Processor+"-stream")
	got := []any{d["parallelizationFactor"], d["startingPosition"], d["maximumBatchingWindowInSeconds"],
		dr.plain(t, typeMapping, Errorsink+"-queue")["scalingConfig"]}
	want := []any{float64(pm.ParallelizationFactor), pm.StartingPosition, float64(pm.MaximumBatchingWindowInSeconds),
		map[string]any{"maximumConcurrency": 2.0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("default overrides (-want +got):\n%s", diff)
	}
}

// TestRoutes checks that the API serves exactly the services' routes,
// each on its own function's integration, with the scrape route's
// authorisation following scrapeAuth, and the $default route on the
// query service's integration without authorisation.
func TestRoutes(t *testing.T) {
	for _, auth := range []string{ScrapeAuthIAM, ScrapeAuthNone} {
		t.Run(auth, func(t *testing.T) {
			cfg := testConfig()
			cfg.SampleSite, cfg.ScrapeAuth = true, auth
			r := mustRun(t, cfg)
			type route struct{ Key, Auth, Target string }
			var want []route
			for svc, rs := range map[string][]contract.Route{Scraper: testRoutes.Scraper, Query: testRoutes.Query, SampleSite: testRoutes.SampleSite} {
				for _, rt := range rs {
					a := AuthNone
					if rt == contract.ScrapeRoute && auth == ScrapeAuthIAM {
						a = AuthIAM
					}
					want = append(want, route{rt.Key(), a, "integrations/" + svc + "-id"})
				}
			}
			want = append(want, route{DefaultRouteKey, AuthNone, "integrations/" + Query + "-id"})
			var got []route
			for _, res := range r.rec.OfType(typeRoute) {
				in := mocktest.Plain(res.Inputs)
				if in["apiId"] != mocktest.APIID {
					t.Errorf("route %s on api %v", res.Name, in["apiId"])
				}
				got = append(got, route{in["routeKey"].(string), in["authorizationType"].(string), in["target"].(string)})
			}
			less := func(a, b route) int { return strings.Compare(a.Key, b.Key) }
			slices.SortFunc(want, less)
			slices.SortFunc(got, less)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("routes (-want +got):\n%s", diff)
			}
			for _, svc := range []string{Scraper, Query, SampleSite} {
				if diff := cmp.Diff(map[string]any{
					"apiId":                mocktest.APIID,
					"integrationType":      "AWS_PROXY",
					"integrationUri":       fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", mocktest.Region, mocktest.Account, contract.Name(svc, testStack)),
					"payloadFormatVersion": PayloadFormat,
				}, r.plain(t, typeInteg, svc)); diff != "" {
					t.Errorf("%s integration (-want +got):\n%s", svc, diff)
				}
				if diff := cmp.Diff(map[string]any{
					"action":    "lambda:InvokeFunction",
					"function":  contract.Name(svc, testStack),
					"principal": "apigateway.amazonaws.com",
					"sourceArn": fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/*/*", mocktest.Region, mocktest.Account, mocktest.APIID),
				}, r.plain(t, typePermission, svc+"-invoke")); diff != "" {
					t.Errorf("%s permission (-want +got):\n%s", svc, diff)
				}
			}
		})
	}
}

// TestPermissionCoversRoutes checks that each function's invoke
// permission matches the source ARN API Gateway presents for every route
// the function serves, the $default route included
// (<api>/<stage>/$default, not <api>/<stage>/<METHOD>/<path>), and no
// other API's.
func TestPermissionCoversRoutes(t *testing.T) {
	cfg := testConfig()
	cfg.SampleSite = true
	r := mustRun(t, cfg)
	execARN := fmt.Sprintf("arn:aws:execute-api:%s:%s:%s", mocktest.Region, mocktest.Account, mocktest.APIID)
	sourceARN := func(key string) string {
		if key == DefaultRouteKey {
			return execARN + "/$default/$default"
		}
		method, path, _ := strings.Cut(key, " ")
		return execARN + "/$default/" + method + path
	}
	byService := map[string]string{}
	for _, res := range r.rec.OfType(typeRoute) {
		in := mocktest.Plain(res.Inputs)
		svc := strings.TrimSuffix(strings.TrimPrefix(in["target"].(string), "integrations/"), "-id")
		byService[in["routeKey"].(string)] = svc
	}
	if byService[DefaultRouteKey] != Query {
		t.Fatalf("$default route on %q, want %q", byService[DefaultRouteKey], Query)
	}
	for key, svc := range byService {
		pattern := r.plain(t, typePermission, svc+"-invoke")["sourceArn"].(string)
		if !arnLike(pattern, sourceARN(key)) {
			t.Errorf("%s permission %s does not match route %q (%s)", svc, pattern, key, sourceARN(key))
		}
		other := strings.Replace(sourceARN(key), mocktest.APIID, "otherapi", 1)
		if arnLike(pattern, other) {
			t.Errorf("%s permission %s matches another API's %s", svc, pattern, other)
		}
	}
}

// arnLike is IAM's ArnLike on one string: "*" matches any run of
// characters, "/" included, and "?" any one character.
func arnLike(pattern, arn string) bool {
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	return regexp.MustCompile(re).MatchString(arn)
}

// TestStage checks the $default stage: auto-deploy, JSON access log to
// its own group, default throttling and the strict scrape limit on that
// route alone (the $default route keeps the default throttle).
func TestStage(t *testing.T) {
	cfg := testConfig()
	cfg.ThrottleRate, cfg.ThrottleBurst, cfg.ScrapeThrottleRate, cfg.ScrapeThrottleBurst = 50, 100, 2, 3
	r := mustRun(t, cfg)
	apiName := contract.Name(APIBase, testStack)
	in := r.plain(t, typeStage, apiName+"-default")
	als := in["accessLogSettings"].(map[string]any)
	var format map[string]string
	if err := json.Unmarshal([]byte(als["format"].(string)), &format); err != nil {
		t.Fatalf("access log format is not JSON: %v", err)
	}
	for _, k := range []string{"requestId", "routeKey", "status", "ip"} {
		if !strings.HasPrefix(format[k], "$context.") {
			t.Errorf("access log field %s = %q, want a $context variable", k, format[k])
		}
	}
	delete(in, "accessLogSettings")
	if diff := cmp.Diff(map[string]any{
		"apiId":      mocktest.APIID,
		"name":       "$default",
		"autoDeploy": true,
		"defaultRouteSettings": map[string]any{
			"throttlingRateLimit": 50.0, "throttlingBurstLimit": 100.0,
		},
		"routeSettings": []any{map[string]any{
			"routeKey": contract.ScrapeRoute.Key(), "throttlingRateLimit": 2.0, "throttlingBurstLimit": 3.0,
		}},
	}, in); diff != "" {
		t.Errorf("stage (-want +got):\n%s", diff)
	}
	logName := "/aws/vendedlogs/apigateway/" + apiName + "/access"
	if got, want := als["destinationArn"], fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", mocktest.Region, mocktest.Account, logName); got != want {
		t.Errorf("access log destination = %v, want %v", got, want)
	}
	if diff := cmp.Diff(map[string]any{"name": logName, "retentionInDays": float64(cfg.LogRetentionDays)},
		r.plain(t, typeLogGroup, apiName+"-access")); diff != "" {
		t.Errorf("access log group (-want +got):\n%s", diff)
	}
}

// TestStageSampleSiteThrottle checks that the sample site's routes get
// the throttle of the scraper's detail concurrency in force (the stack's
// setting, else the profile's) while POST /scrape keeps its strict one.
func TestStageSampleSiteThrottle(t *testing.T) {
	for _, tc := range []struct {
		setting int // scrapeDetailConcurrency
		want    Throttle
	}{
		{0, Throttle{Rate: 160, Burst: 16}}, // the profile's 8
		{4, Throttle{Rate: 80, Burst: 8}},
		{16, Throttle{Rate: 320, Burst: 32}},
	} {
		t.Run(fmt.Sprint(tc.setting), func(t *testing.T) {
			cfg := testConfig()
			cfg.URL, cfg.SampleSite, cfg.ScrapeDetailConcurrency = "", true, tc.setting
			r := mustRun(t, cfg)
			in := r.plain(t, typeStage, contract.Name(APIBase, testStack)+"-default")
			setting := func(key string, lim Throttle) any {
				return map[string]any{"routeKey": key, "throttlingRateLimit": float64(lim.Rate), "throttlingBurstLimit": float64(lim.Burst)}
			}
			var keys []string
			for _, rt := range testRoutes.SampleSite {
				keys = append(keys, rt.Key())
			}
			keys = append(keys, contract.ScrapeRoute.Key())
			slices.Sort(keys)
			var want []any
			for _, k := range keys {
				lim := tc.want
				if k == contract.ScrapeRoute.Key() {
					lim = Throttle{Rate: cfg.ScrapeThrottleRate, Burst: cfg.ScrapeThrottleBurst}
				}
				want = append(want, setting(k, lim))
			}
			if diff := cmp.Diff(want, in["routeSettings"]); diff != "" {
				t.Errorf("route settings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSampleSiteThrottleCoversScrape ties the sample site's throttle to
// what a scrape asks of it: C detail pages in flight, each taking at least
// SampleSiteLatency, is at most C/SampleSiteLatency requests a second and
// C at once. The throttle must allow that, and little more: a full scrape
// (about 255 requests) is then done in the time C workers take, and the
// public, unauthenticated routes serve no one much faster.
func TestSampleSiteThrottleCoversScrape(t *testing.T) {
	const fullScrape = 1 + 5 + 250 // robots.txt, chart pages, detail pages
	for c := 1; c <= MaxDetailConcurrency; c++ {
		th := SampleSiteThrottle(c)
		need := float64(c) / SampleSiteLatency.Seconds()
		if float64(th.Rate) < need || th.Burst < c {
			t.Errorf("concurrency %d: throttle %+v is below what a scrape asks (%.0f/s, %d at once)", c, th, need, c)
		}
		if float64(th.Rate) > need+1 || th.Burst > 2*c {
			t.Errorf("concurrency %d: throttle %+v allows more than a scrape asks (%.0f/s, %d at once)", c, th, need, c)
		}
		// The scrape is not slowed: its requests fit in the burst plus
		// what the rate refills while C workers take SampleSiteLatency each.
		minDuration := float64(fullScrape) / float64(c) * SampleSiteLatency.Seconds()
		if allowed := float64(th.Burst) + float64(th.Rate)*minDuration; allowed < fullScrape {
			t.Errorf("concurrency %d: a full scrape (%d requests in %.2fs) would be throttled: %v allowed", c, fullScrape, minDuration, allowed)
		}
	}
	if th := SampleSiteThrottle(testDetailConcurrency); th.Rate >= 200 || th.Burst >= 400 {
		t.Errorf("throttle %+v of the default profile is no tighter than the old 200/s, burst 400", th)
	}
}

// TestAlarms checks the alarm set: processor iterator age, a batch sent
// to the on-failure queue, messages waiting in the dead-letter queue, and
// errors of every function.
func TestAlarms(t *testing.T) {
	r := mustRun(t, testConfig())
	got := map[string]string{}
	descriptions := map[string]string{}
	for _, res := range r.rec.OfType(typeAlarm) {
		in := mocktest.Plain(res.Inputs)
		descriptions[res.Name], _ = in["alarmDescription"].(string)
		dims, _ := json.Marshal(in["dimensions"])
		got[in["name"].(string)] = fmt.Sprintf("%v/%v %v %v %v %s", in["namespace"], in["metricName"], in["statistic"], in["comparisonOperator"], in["threshold"], dims)
		if in["treatMissingData"] != "notBreaching" || in["period"] != float64(AlarmPeriod) {
			t.Errorf("alarm %s: treatMissingData %v, period %v", res.Name, in["treatMissingData"], in["period"])
		}
		if in["alarmActions"] != nil || in["okActions"] != nil {
			t.Errorf("alarm %s has actions %v %v without alarmEmail", res.Name, in["alarmActions"], in["okActions"])
		}
	}
	n := func(base string) string { return contract.Name(base, testStack) }
	fn := func(svc string) string { return fmt.Sprintf(`{"FunctionName":%q}`, n(svc)) }
	q := func(base string) string { return fmt.Sprintf(`{"QueueName":%q}`, n(base)) }
	want := map[string]string{
		n("processor-iterator-age"): "AWS/Lambda/IteratorAge Maximum GreaterThanThreshold 600000 " + fn(Processor),
		// The errorsink receives on-failure messages at once (in flight,
		// never visible): a discarded batch shows as a message sent.
		n(contract.OnFailureQueue + "-not-empty"):   "AWS/SQS/NumberOfMessagesSent Sum GreaterThanOrEqualToThreshold 1 " + q(contract.OnFailureQueue),
		n(contract.ErrorsinkDLQBase + "-not-empty"): "AWS/SQS/ApproximateNumberOfMessagesVisible Maximum GreaterThanOrEqualToThreshold 1 " + q(contract.ErrorsinkDLQBase),
		n(ArchiveBase + "-freshness"):               `AWS/Firehose/DeliveryToS3.DataFreshness Maximum GreaterThanThreshold 1800 {"DeliveryStreamName":"` + n(ArchiveBase) + `"}`,
	}
	for _, svc := range Deployed(testConfig()) {
		want[n(svc+"-errors")] = "AWS/Lambda/Errors Sum GreaterThanOrEqualToThreshold 1 " + fn(svc)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("alarms (-want +got):\n%s", diff)
	}
	// The descriptions say what the metric counts.
	for base, phrase := range map[string]string{
		contract.OnFailureQueue + "-not-empty":   "sent the batch",
		contract.ErrorsinkDLQBase + "-not-empty": "Messages wait in",
	} {
		if !strings.Contains(descriptions[base], phrase) {
			t.Errorf("alarm %s: description %q does not say %q", base, descriptions[base], phrase)
		}
	}
}

// TestOutputs checks the stack outputs, the curl line included.
func TestOutputs(t *testing.T) {
	n := func(base string) string { return contract.Name(base, testStack) }
	tests := []struct {
		desc   string
		mutate func(*Config)
		want   map[string]string
	}{
		{"iam, third-party url", func(c *Config) {}, map[string]string{
			OutScrapeCommand: `sh -c 'curl -sS -X POST --aws-sigv4 "aws:amz:eu-west-2:execute-api" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" ${AWS_SESSION_TOKEN:+-H "x-amz-security-token: $AWS_SESSION_TOKEN"} ` + apiEndpoint() + "/scrape'",
		}},
		{"no auth, sample site", func(c *Config) { c.ScrapeAuth, c.SampleSite, c.URL = ScrapeAuthNone, true, "" }, map[string]string{
			OutScrapeCommand: "curl -sS -X POST " + apiEndpoint() + "/scrape",
			OutSampleSiteURL: apiEndpoint() + "/site/chart",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			cfg := testConfig()
			tc.mutate(&cfg)
			want := map[string]string{
				OutAPIURL:        apiEndpoint(),
				OutMoviesURL:     apiEndpoint() + "/movies",
				OutStreamName:    n(contract.StreamBase),
				OutMoviesTable:   n(contract.MoviesTableBase),
				OutRunsTable:     n(contract.RunsTableBase),
				OutErrorsTable:   n(contract.ErrorsTableBase),
				OutOnFailureURL:  fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", mocktest.Region, mocktest.Account, n(contract.OnFailureQueue)),
				OutArchiveBucket: testBucket(),
			}
			for k, v := range tc.want {
				want[k] = v
			}
			if diff := cmp.Diff(want, mustRun(t, cfg).outputs); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNewPipelineRejects checks the errors NewPipeline itself raises.
func TestNewPipelineRejects(t *testing.T) {
	sample := testConfig()
	sample.SampleSite = true
	bad := testConfig()
	bad.Shards = 0
	tests := []struct {
		desc   string
		cfg    Config
		routes func(Routes) Routes
		want   string
	}{
		{"invalid config", bad, nil, "shards: 0 is out of range"},
		{"no scrape route", testConfig(), func(r Routes) Routes { r.Scraper = nil; return r }, "lack POST /scrape"},
		{"route twice", testConfig(), func(r Routes) Routes {
			r.Query = append(slices.Clone(r.Query), contract.ScrapeRoute)
			return r
		}, `route "POST /scrape" is served by both scraper and query`},
		{"mux-only syntax", testConfig(), func(r Routes) Routes {
			r.Query = append(slices.Clone(r.Query), contract.Route{Method: "GET", Path: "/files/{path...}"})
			return r
		}, `segment "{path...}"`},
		{"sample site without routes", sample, func(r Routes) Routes { r.SampleSite = nil; return r }, "exports no routes"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			routes := testRoutes
			if tc.routes != nil {
				routes = tc.routes(routes)
			}
			_, err := runPipeline(t, tc.cfg, routes)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestCheckRouteKey covers the route syntax API Gateway accepts.
func TestCheckRouteKey(t *testing.T) {
	tests := []struct {
		route contract.Route
		ok    bool
	}{
		{contract.Route{Method: "GET", Path: "/movies/{id}"}, true},
		{contract.Route{Method: "GET", Path: "/"}, true},
		{contract.Route{Method: "GET", Path: "/site/static/style.css"}, true},
		{contract.Route{Method: "ANY", Path: "/files/{proxy+}"}, true},
		{contract.Route{Method: "GET", Path: "/site/"}, false},
		{contract.Route{Method: "GET", Path: "movies"}, false},
		{contract.Route{Method: "GET", Path: "/files/{proxy+}/x"}, false},
		{contract.Route{Method: "GET", Path: "/site/{$}"}, false},
		{contract.Route{Method: "get", Path: "/movies"}, false},
		{contract.Route{Method: "", Path: "/movies"}, false},
		{contract.Route{Method: "GET", Path: "/a//b"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.route.Key(), func(t *testing.T) {
			err := CheckRouteKey(tc.route)
			if (err == nil) != tc.ok {
				t.Errorf("CheckRouteKey(%q) = %v, want ok=%v", tc.route.Key(), err, tc.ok)
			}
		})
	}
}

// TestScrapeCommandQuoting evals the IAM curl line the way the README
// does (eval "$(pulumi stack output scrapeCommand)") in every shell it
// finds, with a fake curl on PATH that prints its arguments one a line:
// the signing scope, the credentials and the token header must each
// arrive as one argument, and without a session token (long-term keys)
// there must be no token header at all, since curl would sign a blank one
// without sending it.
func TestScrapeCommandQuoting(t *testing.T) {
	line := ScrapeCommand("https://x.example", "eu-west-2", ScrapeAuthIAM)
	bin := t.TempDir()
	fake := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n"
	if err := os.WriteFile(filepath.Join(bin, "curl"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	base := []string{"-sS", "-X", "POST", "--aws-sigv4", "aws:amz:eu-west-2:execute-api", "--user", "AK:S K"}
	tests := []struct {
		desc  string
		token *string // nil: AWS_SESSION_TOKEN unset
		want  []string
	}{
		{"session token", ptr("T0K en/+="), append(slices.Clone(base), "-H", "x-amz-security-token: T0K en/+=", "https://x.example/scrape")},
		{"empty token", ptr(""), append(slices.Clone(base), "https://x.example/scrape")},
		{"no token", nil, append(slices.Clone(base), "https://x.example/scrape")},
	}
	for _, shell := range []string{"sh", "bash", "zsh"} {
		path, err := exec.LookPath(shell)
		if err != nil {
			if shell == "sh" && os.Getenv("CI") != "" {
				t.Fatalf("CI must check the quoting, but there is no sh: %v", err)
			}
			t.Logf("no %s to check the line in: %v", shell, err)
			continue
		}
		for _, tc := range tests {
			t.Run(shell+"/"+tc.desc, func(t *testing.T) {
				cmd := exec.Command(path, "-c", `eval "$SCRAPE_COMMAND"`)
				// Exported, as aws configure export-credentials --format env does.
				cmd.Env = []string{
					"PATH=" + bin + string(filepath.ListSeparator) + os.Getenv("PATH"),
					"SCRAPE_COMMAND=" + line,
					"AWS_ACCESS_KEY_ID=AK", "AWS_SECRET_ACCESS_KEY=S K",
				}
				if tc.token != nil {
					cmd.Env = append(cmd.Env, "AWS_SESSION_TOKEN="+*tc.token)
				}
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s: %v\n%s", shell, err, out)
				}
				got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("curl arguments (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestShQuote checks that a quoted word reaches a command unchanged in
// sh, and that plain URLs are left bare.
func TestShQuote(t *testing.T) {
	if got := shQuote("https://x.example/scrape"); got != "https://x.example/scrape" {
		t.Errorf("shQuote(plain URL) = %q, want it bare", got)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must check the quoting, but there is no sh: %v", err)
		}
		t.Skipf("no sh: %v", err)
	}
	for _, s := range []string{"", "a b", "it's", `"$HOME" ${X:+y} \ *`, "''"} {
		out, err := exec.Command(sh, "-c", "printf %s "+shQuote(s)).Output()
		if err != nil {
			t.Fatalf("sh: %v", err)
		}
		if string(out) != s {
			t.Errorf("sh got %q for shQuote(%q) = %s", out, s, shQuote(s))
		}
	}
}
