package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/services/query"
	"github.com/scrape-pipeline/scrape-pipeline/services/query/ui"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/esm"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/firehose"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/kinesis"
)

// apiHandler mounts the services' own handlers on their own routes, as API
// Gateway routes them to their functions, and devstack's routes under
// /_devstack/.
func (s *Stack) apiHandler(cursorKey []byte) (http.Handler, error) {
	mux := http.NewServeMux()
	q, err := query.New(s.tables, query.Options{CursorKey: cursorKey, Logger: s.log.With("function", "query"),
		Dashboard: ui.Config{StatusPath: statusPath}})
	if err != nil {
		return nil, err
	}
	// Each service gets its routes' paths with every method, as an API
	// Gateway route with ANY would: its own mux answers 405 and CORS
	// preflights. Other paths under the dashboard's /ui/ go to the query
	// function too, as the stack's $default route sends them, for its HTML
	// 404.
	for _, r := range contract.QueryRoutes() {
		mux.Handle(r.PathPattern(), s.invocation("query", q))
	}
	mux.Handle(ui.Prefix, s.invocation("query", q))
	scrape, err := s.scraperHandler()
	if err != nil {
		return nil, err
	}
	for _, r := range contract.ScraperRoutes() {
		mux.Handle(r.Path, s.watchScrapes(s.invocation("scraper", scrape)))
	}
	mux.HandleFunc("POST /_devstack/records", s.putRecord)
	mux.HandleFunc("GET "+statusPath, s.status)
	return httpx.JSONErrors(mux, s.log), nil
}

// invocation serves each request as an invocation of a Lambda function
// with --function-timeout: the handler's context gets the deadline that
// the runtime gives an invocation (as the API Gateway adapter passes it on
// in Lambda), so the scraper stops its work and answers in time here as
// it must there. An answer later than that is logged as the timeout Lambda
// would have reported (where API Gateway would have answered 503 instead).
func (s *Stack) invocation(function string, next http.Handler) http.Handler {
	timeout := s.cfg.FunctionTimeout
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		ctx, cancel := context.WithDeadline(r.Context(), began.Add(timeout))
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
		if took := time.Since(began); took > timeout {
			s.log.Error("function timed out: Lambda would have ended this invocation", "function", function,
				"function_timeout", timeout.String(), "took_ms", took.Milliseconds())
		}
	})
}

// watchScrapes starts a progress log for every run a scrape starts.
func (s *Stack) watchScrapes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &captureWriter{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status != http.StatusAccepted {
			return
		}
		var body struct {
			RunID string `json:"runId"`
		}
		if json.Unmarshal(rec.body.Bytes(), &body) == nil && body.RunID != "" {
			s.watchRun(body.RunID)
		}
	})
}

type captureWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *captureWriter) WriteHeader(status int) {
	c.status = status
	c.ResponseWriter.WriteHeader(status)
}

func (c *captureWriter) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.body.Len() < 64<<10 {
		c.body.Write(p)
	}
	return c.ResponseWriter.Write(p)
}

// statusPath is devstack's status JSON, which the dashboard's overview
// shows.
const statusPath = "/_devstack/status"

// recordRequest is the body of POST /_devstack/records: a raw record for
// the stream, any bytes, to see what the pipeline does with it.
type recordRequest struct {
	PartitionKey string `json:"partitionKey"`
	// Data is the record's bytes as text; DataBase64 as base64 for bytes
	// that are not UTF-8. Exactly one is required.
	Data       *string `json:"data"`
	DataBase64 *string `json:"dataBase64"`
}

type recordResponse struct {
	ShardID        string `json:"shardId"`
	SequenceNumber string `json:"sequenceNumber"`
}

const maxRecordBody = 2 << 20

func (s *Stack) putRecord(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRecordRequest(http.MaxBytesReader(w, r.Body, maxRecordBody))
	if err != nil {
		httpx.WriteError(w, r, s.log, err)
		return
	}
	shard, seq, err := s.stream.PutRecord(r.Context(), req)
	if _, ok := errors.AsType[*kinesis.InvalidArgumentError](err); ok {
		err = &httpx.Error{Status: http.StatusBadRequest, Code: httpx.CodeBadRequest, Message: err.Error(), Err: err}
	}
	if err != nil {
		httpx.WriteError(w, r, s.log, err) // anything else: a 500 without internals
		return
	}
	s.log.Info("raw record put on the stream", "shard", shard, "sequence_number", seq, "partition_key", req.PartitionKey, "bytes", len(req.Data))
	httpx.WriteJSON(w, http.StatusCreated, recordResponse{ShardID: shard, SequenceNumber: seq})
}

// decodeRecordRequest reads and checks a POST /_devstack/records body.
func decodeRecordRequest(body io.Reader) (stream.Record, error) {
	bad := func(msg string) error {
		return &httpx.Error{Status: http.StatusBadRequest, Code: httpx.CodeBadRequest, Message: msg}
	}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var req recordRequest
	if err := dec.Decode(&req); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return stream.Record{}, &httpx.Error{Status: http.StatusRequestEntityTooLarge, Code: httpx.CodeTooLarge,
				Message: fmt.Sprintf("body larger than %d bytes", tooLarge.Limit)}
		}
		return stream.Record{}, bad("body: want JSON {\"partitionKey\": …, \"data\": … | \"dataBase64\": …}: " + err.Error())
	}
	if dec.More() {
		return stream.Record{}, bad("body: one JSON object only")
	}
	if req.PartitionKey == "" || utf8.RuneCountInString(req.PartitionKey) > kinesis.MaxPartitionKeyLen {
		return stream.Record{}, bad(fmt.Sprintf("partitionKey: want 1..%d characters", kinesis.MaxPartitionKeyLen))
	}
	var data []byte
	switch {
	case req.Data != nil && req.DataBase64 != nil:
		return stream.Record{}, bad("give data or dataBase64, not both")
	case req.Data != nil:
		data = []byte(*req.Data)
	case req.DataBase64 != nil:
		b, err := base64.StdEncoding.DecodeString(*req.DataBase64)
		if err != nil {
			return stream.Record{}, bad("dataBase64: " + err.Error())
		}
		data = b
	default:
		return stream.Record{}, bad("data or dataBase64: required")
	}
	if len(data) == 0 {
		return stream.Record{}, bad("data: must not be empty (Kinesis refuses empty records)")
	}
	if n := len(data) + len(req.PartitionKey); n > kinesis.MaxRecordSize {
		return stream.Record{}, &httpx.Error{Status: http.StatusRequestEntityTooLarge, Code: httpx.CodeTooLarge,
			Message: fmt.Sprintf("record of %d bytes: Kinesis takes at most %d (data and partition key)", n, kinesis.MaxRecordSize)}
	}
	return stream.Record{PartitionKey: req.PartitionKey, Data: data}, nil
}

// statusResponse is GET /_devstack/status.
type statusResponse struct {
	Stream struct {
		Name string `json:"name"`
		ARN  string `json:"arn"`
		// Shards are the processor mapping's view of each shard.
		Shards []esm.ShardStatus `json:"shards"`
	} `json:"stream"`
	// ErrorsinkMapping is what the error sink's mapping did.
	ErrorsinkMapping esm.SQSStatus `json:"errorsinkMapping"`
	OnFailureQueue   queueStatus   `json:"onFailureQueue"`
	DeadLetterQueue  queueStatus   `json:"deadLetterQueue"`
	Archive          archiveStatus `json:"archive"`
	// Storage is whether the data directory takes writes.
	Storage  storageStatus  `json:"storage"`
	Schedule scheduleStatus `json:"schedule"`
}

// archiveStatus is the archiver in GET /_devstack/status.
type archiveStatus struct {
	// Location is the archive: a directory, or s3://BUCKET/PREFIX.
	Location string `json:"location"`
	// IntervalMs is the buffering interval (--archive-interval).
	IntervalMs int64 `json:"intervalMs"`
	firehose.Status
}

type queueStatus struct {
	Name     string `json:"name"`
	Visible  int    `json:"visible"`
	InFlight int    `json:"inFlight"`
}

func (s *Stack) status(w http.ResponseWriter, r *http.Request) {
	var out statusResponse
	out.Stream.Name, out.Stream.ARN = s.stream.Name(), s.stream.ARN()
	shards, err := s.processorMapping.Status()
	if err != nil {
		httpx.WriteError(w, r, s.log, err)
		return
	}
	out.Stream.Shards = shards
	out.ErrorsinkMapping = s.errorsinkMapping.Status()
	out.Archive = archiveStatus{Location: s.archiveLocation, IntervalMs: s.cfg.ArchiveInterval.Milliseconds(), Status: s.archiver.Status()}
	out.Storage = s.health.status()
	out.Schedule = s.schedule.get()
	out.Schedule.Enabled, out.Schedule.IntervalMs = s.cfg.Schedule > 0, s.cfg.Schedule.Milliseconds()
	for _, q := range []struct {
		dst *queueStatus
		src interface {
			Name() string
			Depth() (int, int, error)
		}
	}{{&out.OnFailureQueue, s.queue}, {&out.DeadLetterQueue, s.dlq}} {
		v, f, err := q.src.Depth()
		if err != nil {
			httpx.WriteError(w, r, s.log, err)
			return
		}
		*q.dst = queueStatus{Name: q.src.Name(), Visible: v, InFlight: f}
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}
