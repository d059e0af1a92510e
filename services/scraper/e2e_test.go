package scraper_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	kinesisadapter "github.com/scrape-pipeline/scrape-pipeline/libs/stream/kinesis"
	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
)

func TestMain(m *testing.M) { os.Exit(awsemu.Main(m)) }

// TestScrapeIntoKinesis is the "done when": the sample site served
// by httptest is scraped through the real handler, over HTTP, into
// kinesis-mock, and reading the stream back gives exactly the 250
// movie.observed events plus the run's two events, each key's events in
// order.
func TestScrapeIntoKinesis(t *testing.T) {
	t.Parallel() // mostly kinesis-mock's start: beside the deadline tests' waits
	cfg := awsemu.Kinesis(t)
	client := kinesis.NewFromConfig(cfg)
	name := awsemu.Name(t, "events")
	awsemu.CreateStream(t, cfg, name, 2)
	pub, err := kinesisadapter.New(client, kinesisadapter.Options{StreamName: name})
	if err != nil {
		t.Fatal(err)
	}

	site := httptest.NewServer(samplesite.New(samplesite.Options{}))
	defer site.Close()
	svc, err := scraper.New(scraper.Config{URL: site.URL + samplesite.ChartPath, AllowPrivate: true},
		scraper.Deps{Publisher: pub, Store: embedded.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(svc.Handler())
	defer api.Close()

	resp, err := http.Post(api.URL+"/scrape", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var sum scraper.Summary
	if err := json.Unmarshal(body, &sum); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /scrape: %d %s (%v)", resp.StatusCode, body, err)
	}
	if sum.Published != 250 || sum.Failed != 0 || sum.Skipped != 0 || sum.Pages != 5 {
		t.Fatalf("summary %+v; want 250 published over 5 pages", sum)
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	shards, err := readStream(ctx, client, name)
	if err != nil {
		t.Fatal(err)
	}
	// Group by partition key in stream order (a key lives on one shard).
	byKey := map[string][]events.Event{}
	total := 0
	for _, recs := range shards {
		for _, r := range recs {
			e, err := events.Decode(r.Data)
			if err != nil {
				t.Fatalf("record %s does not decode: %v", aws.ToString(r.SequenceNumber), err)
			}
			if e.PartitionKey() != aws.ToString(r.PartitionKey) {
				t.Errorf("event %s under partition key %s", e.Subject, aws.ToString(r.PartitionKey))
			}
			byKey[e.PartitionKey()] = append(byKey[e.PartitionKey()], e)
			total++
		}
	}
	if total != 252 {
		t.Errorf("%d records on the stream, want 250 movies and 2 run events", total)
	}
	run := byKey[sum.RunID]
	if len(run) != 2 || run[0].Type() != events.TypeScrapeStarted || run[1].Type() != events.TypeScrapeCompleted {
		var types []string
		for _, e := range run {
			types = append(types, e.Type())
		}
		t.Fatalf("run key %s holds %v; want scrape.started then scrape.completed", sum.RunID, types)
	}
	completed := run[1].Data.(events.ScrapeCompleted)
	if completed.Published != 250 || completed.Pages != 5 || completed.Error != "" {
		t.Errorf("scrape.completed %+v", completed)
	}
	movies := map[string]events.MovieObserved{}
	for key, evs := range byKey {
		if key == sum.RunID {
			continue
		}
		if len(evs) != 1 {
			t.Errorf("movie %s has %d events, want 1", key, len(evs))
		}
		m, ok := evs[0].Data.(events.MovieObserved)
		if !ok || evs[0].RunID != sum.RunID {
			t.Errorf("key %s: %s of run %s", key, evs[0].Type(), evs[0].RunID)
			continue
		}
		movies[key] = m
	}
	if diff := cmp.Diff(wantMovies(site.URL), movies); diff != "" {
		t.Errorf("movies on the stream (-want +got):\n%s", diff)
	}
	// Run events bracket the movie events in time.
	for key, evs := range byKey {
		if key != sum.RunID && (evs[0].Time.Before(run[0].Time) || evs[0].Time.After(run[1].Time)) {
			t.Errorf("movie %s observed at %v, outside the run %v..%v", key, evs[0].Time, run[0].Time, run[1].Time)
		}
	}
}

// readStream reads every shard of the stream from its trim horizon with the
// raw client.
func readStream(ctx context.Context, client *kinesis.Client, name string) (map[string][]types.Record, error) {
	shards, err := client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(name)})
	if err != nil {
		return nil, err
	}
	out := map[string][]types.Record{}
	for _, sh := range shards.Shards {
		it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String(name), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			return nil, err
		}
		for iter := it.ShardIterator; iter != nil; {
			page, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				return nil, err
			}
			out[aws.ToString(sh.ShardId)] = append(out[aws.ToString(sh.ShardId)], page.Records...)
			if len(page.Records) == 0 && aws.ToInt64(page.MillisBehindLatest) == 0 {
				break
			}
			iter = page.NextShardIterator
		}
	}
	return out, nil
}
