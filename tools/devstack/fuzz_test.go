package main

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
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
