// Package lambdaadapter connects the scraper to AWS Lambda. Two sources
// invoke the one function, and Lambda's types stay here:
//
//   - API Gateway (HTTP API, payload format 2.0) with POST /scrape, served
//     by the scraper's own net/http handler through httpx.LambdaV2;
//   - the stack's EventBridge Scheduler schedule, whose templated Lambda
//     target delivers its Input, a scraper.ScheduleInput, and nothing
//     else, run by scraper.Service.RunSchedule.
//
// [Function] tells them apart by shape alone (see [Classify]), never by
// guessing: a JSON object carrying the key scraper.ScheduleKey is meant as
// the schedule's input and must be exactly one (scraper.ParseScheduleInput),
// and a JSON object with "version": "2.0" and a requestContext.http with a
// method is an API Gateway v2 request (a function URL's request has that
// shape too). Anything else (an API Gateway REST or payload 1.0 request,
// an EventBridge rule's event, a Kinesis batch, garbage) fails with an
// error that names what it saw: an invocation the function does not
// recognise never scrapes.
//
// cmd/lambda hands New's Function to lambda.Start.
package lambdaadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
)

// Core is the scraper as the function calls it; *scraper.Service
// satisfies it.
type Core interface {
	// Handler serves POST /scrape (see scraper.Service.Handler).
	Handler() http.Handler
	// RunSchedule runs a scheduled scrape; its error is a run that failed
	// (a held lease is a result, not an error: see
	// scraper.Service.RunSchedule).
	RunSchedule(ctx context.Context, in scraper.ScheduleInput) (scraper.ScheduleResult, error)
}

var _ Core = (*scraper.Service)(nil)

// Kind is the kind of an invocation's event.
type Kind int

// Kinds of events.
const (
	// Unknown is anything the function does not take.
	Unknown Kind = iota
	// HTTP is an API Gateway HTTP API request, payload format 2.0.
	HTTP
	// Schedule is meant as the schedule's input: a JSON object with the
	// key scraper.ScheduleKey (whether it is a good one is
	// scraper.ParseScheduleInput's to say).
	Schedule
)

// String names k.
func (k Kind) String() string {
	switch k {
	case HTTP:
		return "http"
	case Schedule:
		return "schedule"
	}
	return "unknown"
}

// Classify tells what kind of event payload is, by its shape: the
// exact keys (JSON's, not encoding/json's case-insensitive match) of a
// JSON object.
func Classify(payload []byte) Kind {
	var obj map[string]json.RawMessage
	if json.Unmarshal(payload, &obj) != nil || obj == nil {
		return Unknown
	}
	if _, ok := obj[scraper.ScheduleKey]; ok {
		return Schedule
	}
	var version string
	if json.Unmarshal(obj["version"], &version) != nil || version != "2.0" {
		return Unknown
	}
	var rc, rcHTTP map[string]json.RawMessage
	var method string
	if json.Unmarshal(obj["requestContext"], &rc) != nil ||
		json.Unmarshal(rc["http"], &rcHTTP) != nil ||
		json.Unmarshal(rcHTTP["method"], &method) != nil || method == "" {
		return Unknown
	}
	return HTTP
}

// ErrUnknownEvent is in the chain of the error of an invocation whose
// event the function does not take.
var ErrUnknownEvent = errors.New("unrecognised event")

// Function is the scraper's Lambda function; it implements lambda.Handler.
type Function struct {
	core Core
	http func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
	log  *slog.Logger
}

var _ lambda.Handler = (*Function)(nil)

// New returns the function of c, logging what it refuses to log (nil: a
// logger that discards).
func New(c Core, log *slog.Logger) *Function {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Function{core: c, http: httpx.LambdaV2(c.Handler()), log: log}
}

// Invoke handles one invocation (see the package doc for how it tells the
// events apart). Outcomes:
//   - an API Gateway v2 request: its response, whatever the status (the
//     handler answers errors as JSON); an error only when the request does
//     not decode, which API Gateway turns into a 500;
//   - the schedule's input: the scraper.ScheduleResult as JSON (a run, or a
//     skip when the host's lease is held); an error when the input is not
//     exactly ours or the run failed, which Lambda's asynchronous
//     invocation retries;
//   - anything else: an error wrapping ErrUnknownEvent that says what the
//     function takes, and no scrape.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	switch Classify(payload) {
	case HTTP:
		var req events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(payload, &req); err != nil {
			f.log.LogAttrs(ctx, slog.LevelError, "bad API Gateway request", slog.String("error", err.Error()))
			return nil, fmt.Errorf("API Gateway v2 request: %w", err)
		}
		resp, err := f.http(ctx, req)
		if err != nil {
			return nil, err
		}
		return json.Marshal(resp)
	case Schedule:
		in, err := scraper.ParseScheduleInput(payload)
		if err != nil {
			f.log.LogAttrs(ctx, slog.LevelError, "bad schedule input", slog.String("error", err.Error()))
			return nil, err
		}
		res, err := f.core.RunSchedule(ctx, in)
		if err != nil {
			return nil, err
		}
		return json.Marshal(res)
	}
	what := describe(payload)
	f.log.LogAttrs(ctx, slog.LevelError, "unrecognised event", slog.String("event", what), slog.Int("size", len(payload)))
	return nil, fmt.Errorf("%w (%s): the scraper takes an API Gateway HTTP API request (payload format 2.0) or its schedule's input %s",
		ErrUnknownEvent, what, scheduleExample)
}

// scheduleExample is the smallest schedule input, quoted in errors.
var scheduleExample = fmt.Sprintf(`{%q:%q}`, scraper.ScheduleKey, scraper.ScheduleKind)

// describe says what an unrecognised payload looks like, without its
// values (which may be anything): not JSON, which JSON type, or an
// object's keys.
func describe(payload []byte) string {
	var v any
	if err := json.Unmarshal(payload, &v); err != nil {
		return "not JSON"
	}
	obj, ok := v.(map[string]any)
	switch {
	case !ok:
		return "JSON " + jsonType(v) + ", not an object"
	case obj["httpMethod"] != nil || obj["version"] == "1.0":
		return "an API Gateway REST API or payload format 1.0 request: the integration must use payload format 2.0"
	case len(obj) == 0:
		return "an empty object"
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	const maxKeys, maxKey = 8, 40
	var b strings.Builder
	b.WriteString("an object with keys ")
	for i, k := range keys[:min(len(keys), maxKeys)] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(text.Clip(k, maxKey)))
	}
	if len(keys) > maxKeys {
		fmt.Fprintf(&b, " and %d more", len(keys)-maxKeys)
	}
	return b.String()
}

// jsonType names the JSON type of a value decoded into an any.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	}
	return "an object"
}
