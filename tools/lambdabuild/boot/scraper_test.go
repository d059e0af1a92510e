package boot_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
)

// scraperFixture sets up what the scraper needs (a stream, the tables, the
// sample site on loopback to scrape) and returns its environment and a
// recorded POST /scrape.
func scraperFixture(tb testing.TB) (map[string]string, []byte) {
	tb.Helper()
	endpoints := awsemu.All(tb)
	backend := newTables(tb, endpoints)
	stream := awsemu.Name(tb, "events")
	awsemu.CreateStream(tb, awsemu.Kinesis(tb), stream, 2)

	// The function may dial the loopback site because SCRAPE_ALLOW_PRIVATE
	// is set, as devstack does.
	site := httptest.NewServer(samplesite.New(samplesite.Options{}))
	tb.Cleanup(site.Close)
	env := backend.Env
	env[contract.EnvStreamName] = stream
	env[contract.EnvScrapeURL] = site.URL + samplesite.ChartPath
	env[contract.EnvScrapeAllowPrivate] = "true"
	return env, event(tb, "scraper-post.json")
}

func TestBootScraper(t *testing.T) {
	t.Parallel()
	env, post := scraperFixture(t)
	e := boot(t, "scraper", env)
	r := decodeHTTP(t, invokePayload(t, e, "scraper-post.json", post).Payload)
	var sum struct {
		Source    string `json:"source"`
		Published int    `json:"published"`
		Failed    int    `json:"failed"`
		Pages     int    `json:"pages"`
	}
	if err := json.Unmarshal([]byte(r.Body), &sum); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
	type result struct {
		Status                   int
		Source                   string
		Published, Failed, Pages int
	}
	got := result{r.Status, sum.Source, sum.Published, sum.Failed, sum.Pages}
	// The sample site's chart: 250 films over 5 pages.
	want := result{202, env[contract.EnvScrapeURL], 250, 0, 5}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("POST /scrape (-want +got):\n%s", diff)
	}
}
