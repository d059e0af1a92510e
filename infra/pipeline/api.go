package pipeline

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigatewayv2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// Route authorisation types of API Gateway.
const (
	AuthNone = "NONE"
	AuthIAM  = "AWS_IAM"
)

// DefaultRouteKey is the HTTP API's catch-all route: API Gateway sends it
// every request that no other route matches (an exact route, then one with
// path variables, then a greedy one wins first). Without it API Gateway
// itself answers such a request {"message":"Not Found"}.
const DefaultRouteKey = "$default"

// PayloadFormat is the Lambda proxy payload version the services'
// api-proxy adapter (httpadapter.NewV2) expects.
const PayloadFormat = "2.0"

// Throttle is a request rate (per second) and burst limit.
type Throttle struct {
	Rate  int
	Burst int
}

// APIArgs configures an API.
type APIArgs struct {
	// Name is the deployed API name.
	Name string
	// LogRetentionDays is the access log group's retention.
	LogRetentionDays int
}

// API is the HTTP API (payload format 2.0) in front of the HTTP-facing
// functions: one $default stage with auto-deploy, JSON access logs and
// throttling. It is built in two steps because the scraper's environment
// needs the API's endpoint: NewAPI creates the API, Serve its routes.
type API struct {
	pulumi.ResourceState

	// API is the HTTP API; Stage its $default stage (set by Serve).
	API   *apigatewayv2.Api
	Stage *apigatewayv2.Stage
	// AccessLog receives the stage's JSON access log (set by Serve).
	AccessLog *cloudwatch.LogGroup

	name string
	logs int
}

// NewAPI creates the API without routes; call Serve once with all of them.
func NewAPI(ctx *pulumi.Context, name string, args *APIArgs, opts ...pulumi.ResourceOption) (*API, error) {
	a := &API{name: args.Name, logs: args.LogRetentionDays}
	if err := ctx.RegisterComponentResource("scrape-pipeline:infra:API", name, a, opts...); err != nil {
		return nil, err
	}
	api, err := apigatewayv2.NewApi(ctx, name, &apigatewayv2.ApiArgs{
		Name:         pulumi.String(args.Name),
		ProtocolType: pulumi.String("HTTP"),
		Description:  pulumi.String("Scrape pipeline HTTP API"),
	}, pulumi.Parent(a))
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	a.API = api
	return a, nil
}

// Endpoint is the API's base URL, without a trailing slash.
func (a *API) Endpoint() pulumi.StringOutput { return a.API.ApiEndpoint }

// Host is the API's host name.
func (a *API) Host() pulumi.StringOutput {
	return a.API.ApiEndpoint.ApplyT(func(e string) string {
		return strings.TrimPrefix(strings.TrimPrefix(e, "https://"), "http://")
	}).(pulumi.StringOutput)
}

// Mount is a function and the routes it serves.
type Mount struct {
	// Service is the service's short name; it prefixes the names of the
	// integration, routes and permission.
	Service string
	// Function serves Routes.
	Function *Function
	// Routes are the service's exported routes (CheckRouteKey must accept
	// each).
	Routes []contract.Route
	// Auth maps a route key to its authorisation type; a route not in it
	// gets AuthNone.
	Auth map[string]string
	// CatchAll also gives the function the $default route (DefaultRouteKey),
	// authorised as Auth says (none unless it names the route) and under
	// the default throttle; at most one mount may set it.
	CatchAll bool
}

// ServeArgs configures API.Serve.
type ServeArgs struct {
	// Mounts are the HTTP-facing functions; a route key may appear once.
	Mounts []Mount
	// Default throttles every route; Limits replace it for single routes
	// (by route key): stricter for POST /scrape, looser for the sample
	// site.
	Default Throttle
	Limits  map[string]Throttle
}

// AccessLogGroupName is the access log group of the API named api. It is
// under /aws/vendedlogs/ because API Gateway adds the ARN of every other
// access log group to the account's CloudWatch Logs resource policy
// (AWSLogDeliveryWrite20150319, at most 5,120 characters), which fills up
// when many attendees share an account and then fails the stage; that
// prefix is covered by one wildcard instead.
func AccessLogGroupName(api string) string {
	return "/aws/vendedlogs/apigateway/" + api + "/access"
}

// accessLogFormat is the access log line, a JSON object of API Gateway
// context variables (marshalled, not hand-written).
func accessLogFormat() (string, error) {
	b, err := json.Marshal(map[string]string{
		"requestId":        "$context.requestId",
		"requestTime":      "$context.requestTime",
		"ip":               "$context.identity.sourceIp",
		"caller":           "$context.identity.caller",
		"user":             "$context.identity.userArn",
		"httpMethod":       "$context.httpMethod",
		"routeKey":         "$context.routeKey",
		"path":             "$context.path",
		"status":           "$context.status",
		"protocol":         "$context.protocol",
		"responseLength":   "$context.responseLength",
		"responseLatency":  "$context.responseLatency",
		"integrationError": "$context.integrationErrorMessage",
		"error":            "$context.error.message",
	})
	return string(b), err
}

// Serve creates, for every mount, a Lambda proxy integration, its routes
// (and the $default route for the CatchAll mount) and a permission that
// lets only this API invoke the function, then the $default stage with its
// throttling and access log.
func (a *API) Serve(ctx *pulumi.Context, args *ServeArgs) error {
	parent := pulumi.Parent(a)
	var routes []pulumi.Resource
	seen := map[string]string{}
	for _, m := range args.Mounts {
		if m.CatchAll {
			if other, dup := seen[DefaultRouteKey]; dup {
				return fmt.Errorf("route %q is served by both %s and %s", DefaultRouteKey, other, m.Service)
			}
			seen[DefaultRouteKey] = m.Service
		}
		for _, r := range m.Routes {
			if err := CheckRouteKey(r); err != nil {
				return fmt.Errorf("service %s: %w", m.Service, err)
			}
			if other, dup := seen[r.Key()]; dup {
				return fmt.Errorf("route %q is served by both %s and %s", r.Key(), other, m.Service)
			}
			seen[r.Key()] = m.Service
		}
		integration, err := apigatewayv2.NewIntegration(ctx, m.Service, &apigatewayv2.IntegrationArgs{
			ApiId:                a.API.ID(),
			IntegrationType:      pulumi.String("AWS_PROXY"),
			IntegrationUri:       m.Function.Lambda.Arn,
			PayloadFormatVersion: pulumi.String(PayloadFormat),
		}, parent)
		if err != nil {
			return fmt.Errorf("service %s: integration: %w", m.Service, err)
		}
		keys := make([]string, 0, len(m.Routes)+1)
		for _, r := range m.Routes {
			keys = append(keys, r.Key())
		}
		if m.CatchAll {
			keys = append(keys, DefaultRouteKey)
		}
		for _, key := range keys {
			auth := AuthNone
			if v, ok := m.Auth[key]; ok {
				auth = v
			}
			route, err := apigatewayv2.NewRoute(ctx, m.Service+" "+key, &apigatewayv2.RouteArgs{
				ApiId:             a.API.ID(),
				RouteKey:          pulumi.String(key),
				AuthorizationType: pulumi.String(auth),
				Target:            pulumi.Sprintf("integrations/%s", integration.ID()),
			}, parent)
			if err != nil {
				return fmt.Errorf("route %s: %w", key, err)
			}
			routes = append(routes, route)
		}
		// Any stage, method and path of this API, and nothing else: the
		// routes decide which paths reach the function. API Gateway names
		// the invocation <api>/<stage>/<METHOD>/<path> for a route and
		// <api>/<stage>/$default for the $default route, and "*" in an
		// ARN pattern matches across "/", so "<api>/*/*" covers both
		// (TestPermissionCoversRoutes).
		if _, err := lambda.NewPermission(ctx, m.Service+"-invoke", &lambda.PermissionArgs{
			Action:    pulumi.String("lambda:InvokeFunction"),
			Function:  m.Function.Lambda.Name,
			Principal: pulumi.String("apigateway.amazonaws.com"),
			SourceArn: pulumi.Sprintf("%s/*/*", a.API.ExecutionArn),
		}, parent); err != nil {
			return fmt.Errorf("service %s: permission: %w", m.Service, err)
		}
	}
	for key := range args.Limits {
		if _, ok := seen[key]; !ok {
			return fmt.Errorf("throttling limit for %q: no such route", key)
		}
	}

	logGroup, err := cloudwatch.NewLogGroup(ctx, a.name+"-access", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(AccessLogGroupName(a.name)),
		RetentionInDays: pulumi.Int(a.logs),
	}, parent)
	if err != nil {
		return fmt.Errorf("access log group: %w", err)
	}
	format, err := accessLogFormat()
	if err != nil {
		return fmt.Errorf("access log format: %w", err)
	}
	var settings apigatewayv2.StageRouteSettingArray
	for _, key := range slices.Sorted(maps.Keys(args.Limits)) {
		lim := args.Limits[key]
		settings = append(settings, apigatewayv2.StageRouteSettingArgs{
			RouteKey:             pulumi.String(key),
			ThrottlingRateLimit:  pulumi.Float64(float64(lim.Rate)),
			ThrottlingBurstLimit: pulumi.Int(lim.Burst),
		})
	}
	stageArgs := &apigatewayv2.StageArgs{
		ApiId:      a.API.ID(),
		Name:       pulumi.String("$default"),
		AutoDeploy: pulumi.Bool(true),
		AccessLogSettings: &apigatewayv2.StageAccessLogSettingsArgs{
			DestinationArn: logGroup.Arn,
			Format:         pulumi.String(format),
		},
		DefaultRouteSettings: &apigatewayv2.StageDefaultRouteSettingsArgs{
			ThrottlingRateLimit:  pulumi.Float64(float64(args.Default.Rate)),
			ThrottlingBurstLimit: pulumi.Int(args.Default.Burst),
		},
	}
	if len(settings) > 0 {
		stageArgs.RouteSettings = settings
	}
	// Route settings name routes, which must exist first.
	stage, err := apigatewayv2.NewStage(ctx, a.name+"-default", stageArgs, parent, pulumi.DependsOn(routes))
	if err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	a.Stage, a.AccessLog = stage, logGroup
	return ctx.RegisterResourceOutputs(a, pulumi.Map{
		"endpoint":     a.API.ApiEndpoint,
		"executionArn": a.API.ExecutionArn,
	})
}

// Route key syntax of an HTTP API: segments that are literal, {param} or
// a final greedy {param+}, and one of API Gateway's methods.
var (
	literalSegRE = regexp.MustCompile(`^[A-Za-z0-9._~\-]+$`)
	paramSegRE   = regexp.MustCompile(`^\{[A-Za-z_][A-Za-z0-9_]*\+?\}$`)
	methodRE     = regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY)$`)
)

// CheckRouteKey reports whether r is a route API Gateway's HTTP API
// accepts as it is (the services' routes are also ServeMux patterns, whose
// syntax is wider: a trailing "/" or "{name...}" would route differently).
func CheckRouteKey(r contract.Route) error {
	if !methodRE.MatchString(r.Method) {
		return fmt.Errorf("route %q: method %q is not an HTTP API method", r.Key(), r.Method)
	}
	if r.Path == "/" {
		return nil
	}
	if !strings.HasPrefix(r.Path, "/") || strings.HasSuffix(r.Path, "/") {
		return fmt.Errorf("route %q: path must start with / and not end with /", r.Key())
	}
	segs := strings.Split(r.Path[1:], "/")
	for i, s := range segs {
		switch {
		case literalSegRE.MatchString(s):
		case paramSegRE.MatchString(s):
			if strings.HasSuffix(s, "+}") && i != len(segs)-1 {
				return fmt.Errorf("route %q: greedy segment %s must be last", r.Key(), s)
			}
		default:
			return fmt.Errorf("route %q: segment %q is neither a literal nor {param}", r.Key(), s)
		}
	}
	return nil
}
