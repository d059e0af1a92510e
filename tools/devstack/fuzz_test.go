package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/kinesis"
)

// FuzzDecodeRecordRequest feeds POST /_devstack/records bodies: every body
// gives a record within Kinesis's limits or a 4xx *httpx.Error, never a
// panic.
func FuzzDecodeRecordRequest(f *testing.F) {
	for _, s := range []string{
		`{"partitionKey":"k","data":"x"}`, `{"partitionKey":"k","dataBase64":"AAE="}`, `{`, `null`, `[]`,
		`{"partitionKey":"","data":"x"}`, `{"partitionKey":"k","data":""}`, `{"partitionKey":"k","data":"x"} {}`,
		`{"partitionKey":"k","data":"x","dataBase64":"eA=="}`, `{"partitionKey":"k","dataBase64":"%%"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		rec, err := decodeRecordRequest(strings.NewReader(body))
		if err != nil {
			var he *httpx.Error
			if !errors.As(err, &he) || he.Status < 400 || he.Status > 499 {
				t.Fatalf("error %v is not a 4xx *httpx.Error", err)
			}
			return
		}
		if n := utf8.RuneCountInString(rec.PartitionKey); n < 1 || n > kinesis.MaxPartitionKeyLen {
			t.Fatalf("accepted a partition key of %d characters", n)
		}
		if len(rec.Data) == 0 || len(rec.Data)+len(rec.PartitionKey) > kinesis.MaxRecordSize {
			t.Fatalf("accepted a record of %d bytes", len(rec.Data))
		}
	})
}

// FuzzAllowHost feeds --allow-host values: never a panic, and a value
// devstack accepts is one the scraper accepts too (else devstack would
// start and then fail in scraper.New with the Lambda's variable name).
func FuzzAllowHost(f *testing.F) {
	for _, s := range []string{"example.org", "localhost:9000", "[::1]:8080", "a:b:c", "example.org/x", "http://x", ":80", "x:0", "x:65536", " ", "é.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if checkHostPattern(h) != nil {
			return
		}
		_, err := scraper.New(scraper.Config{URL: "http://127.0.0.1:8081/site/chart", AllowHosts: []string{h}},
			scraper.Deps{Publisher: nopPublisher{}, Store: embedded.NewMemory()})
		if err != nil {
			t.Fatalf("--allow-host %q passes devstack's check but the scraper refuses it: %v", h, err)
		}
	})
}

type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, []stream.Record) (stream.Result, error) {
	return stream.Result{}, nil
}
