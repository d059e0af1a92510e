package pipeline

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/scrape-pipeline/scrape-pipeline/infra/internal/mocktest"
	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/services/archiver"
)

// TestArchiveBucket checks the bucket and each of its settings: the name,
// forceDestroy, public access blocked, ACLs off, SSE-S3, and a lifecycle
// that expires objects after archiveDays (never with 0) and always aborts
// forgotten multipart uploads.
func TestArchiveBucket(t *testing.T) {
	abort := map[string]any{
		"id": "abort-incomplete-uploads", "status": "Enabled", "filter": map[string]any{"prefix": ""},
		"abortIncompleteMultipartUpload": map[string]any{"daysAfterInitiation": float64(AbortUploadDays)},
	}
	tests := []struct {
		desc         string
		days         int
		forceDestroy bool
		rules        []any
	}{
		{"defaults", 365, true, []any{abort, map[string]any{
			"id": "expire-after-365-days", "status": "Enabled", "filter": map[string]any{"prefix": ""},
			"expiration": map[string]any{"days": 365.0},
		}}},
		{"kept forever, kept at destroy", 0, false, []any{abort}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			cfg := testConfig()
			cfg.ArchiveDays, cfg.ArchiveForceDestroy = tc.days, tc.forceDestroy
			r := mustRun(t, cfg)
			b := testBucket()
			for _, c := range []struct {
				typ, name string
				want      map[string]any
			}{
				{typeBucket, ArchiveBase, map[string]any{"bucket": b, "forceDestroy": tc.forceDestroy}},
				{typePAB, ArchiveBase + "-public-access", map[string]any{"bucket": b,
					"blockPublicAcls": true, "blockPublicPolicy": true, "ignorePublicAcls": true, "restrictPublicBuckets": true}},
				{typeOwnership, ArchiveBase + "-ownership", map[string]any{"bucket": b,
					"rule": map[string]any{"objectOwnership": "BucketOwnerEnforced"}}},
				{typeSSE, ArchiveBase + "-encryption", map[string]any{"bucket": b, "rules": []any{map[string]any{
					"applyServerSideEncryptionByDefault": map[string]any{"sseAlgorithm": "AES256"}}}}},
				{typeLifecycle, ArchiveBase + "-lifecycle", map[string]any{"bucket": b, "rules": tc.rules}},
			} {
				if diff := cmp.Diff(c.want, r.plain(t, c.typ, c.name)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", c.name, diff)
				}
			}
		})
	}
}

// TestBucketName checks the archive bucket's name: S3's rules (3-63
// characters of lower-case letters, digits, hyphens and dots), unique per
// account, ending with the suffix.
func TestBucketName(t *testing.T) {
	for _, sfx := range []string{"courseX", "a", strings.Repeat("Z9-", 10) + "ab"} {
		name := BucketName("123456789012", sfx)
		if contract.ValidSuffix(sfx) != nil {
			t.Fatalf("bad test suffix %q", sfx)
		}
		if len(name) < 3 || len(name) > 63 || strings.ToLower(name) != name || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			t.Errorf("BucketName(%q) = %q breaks S3's naming rules", sfx, name)
		}
		if !strings.HasSuffix(name, "-"+strings.ToLower(sfx)) || !strings.Contains(name, "123456789012") {
			t.Errorf("BucketName(%q) = %q does not end with the suffix or lacks the account", sfx, name)
		}
	}
}

// TestDeliveryStream checks the Firehose delivery stream against the
// archive's layout (libs/archive) and the archiver's batch sizes
// (services/archiver): source, destination, prefixes, compression,
// buffering, the Lambda processor and error logging.
func TestDeliveryStream(t *testing.T) {
	r := mustRun(t, testConfig())
	role := fmt.Sprintf("arn:aws:iam::%s:role/%s", mocktest.Account, contract.Name(FirehoseRoleBase, testStack))
	name := contract.Name(ArchiveBase, testStack)
	param := func(n, v string) any { return map[string]any{"parameterName": n, "parameterValue": v} }
	want := map[string]any{
		"name":        name,
		"destination": "extended_s3",
		"kinesisSourceConfiguration": map[string]any{
			"kinesisStreamArn": streamARN(),
			"roleArn":          role,
		},
		"extendedS3Configuration": map[string]any{
			"roleArn":           role,
			"bucketArn":         bucketARN(),
			"prefix":            archive.FirehosePrefix,
			"errorOutputPrefix": archive.FirehoseErrorPrefix,
			"compressionFormat": "GZIP",
			"bufferingSize":     float64(archive.DefaultMaxBytes >> 20),
			"bufferingInterval": float64(ArchiveBufferIntervalSeconds),
			"cloudwatchLoggingOptions": map[string]any{
				"enabled": true, "logGroupName": "/aws/kinesisfirehose/" + name, "logStreamName": FirehoseLogStream,
			},
			"processingConfiguration": map[string]any{
				"enabled": true,
				"processors": []any{map[string]any{
					"type": "Lambda",
					"parameters": []any{
						param("LambdaArn", functionARN(Archiver)+":$LATEST"),
						param("BufferSizeInMBs", fmt.Sprint(archiver.BufferSizeMB)),
						param("BufferIntervalInSeconds", fmt.Sprint(archiver.BufferIntervalSeconds)),
						param("NumberOfRetries", fmt.Sprint(ArchiveProcessorRetries)),
					},
				}},
			},
		},
	}
	if diff := cmp.Diff(want, r.plain(t, typeFirehose, ArchiveBase)); diff != "" {
		t.Errorf("delivery stream (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"name": FirehoseLogStream, "logGroupName": "/aws/kinesisfirehose/" + name},
		r.plain(t, typeLogStream, ArchiveBase+"-delivery-errors")); diff != "" {
		t.Errorf("log stream (-want +got):\n%s", diff)
	}
	// The prefix and the objects Firehose names must be what the archive's
	// readers list: events/YYYY/MM/DD/HH/, .gz.
	if !strings.HasPrefix(archive.FirehosePrefix, archive.EventsPrefix) || archive.ObjectExt != ".gz" {
		t.Errorf("Firehose writes %s…, %s; the archive reads %s…, .gz", archive.FirehosePrefix, archive.ObjectExt, archive.EventsPrefix)
	}
}

// TestArchiveOrder checks what must exist before what: each bucket
// setting after the one before (S3 refuses concurrent bucket changes), and
// the delivery stream after its policy, the archiver and every bucket
// setting.
func TestArchiveOrder(t *testing.T) {
	r := mustRun(t, testConfig())
	deps := func(typ, name string) []string {
		res, ok := r.rec.Get(typ, name)
		if !ok {
			t.Fatalf("no %s %s", typ, name)
		}
		return res.DependsOn
	}
	chain := []struct{ typ, name string }{
		{typeBucket, ArchiveBase}, {typePAB, ArchiveBase + "-public-access"}, {typeOwnership, ArchiveBase + "-ownership"},
		{typeSSE, ArchiveBase + "-encryption"}, {typeBucketPol, ArchiveBase + "-tls-only"}, {typeLifecycle, ArchiveBase + "-lifecycle"},
	}
	for i := 1; i < len(chain); i++ {
		before := chain[i-1].typ + "::" + chain[i-1].name
		if !slices.Contains(deps(chain[i].typ, chain[i].name), before) {
			t.Errorf("%s does not wait for %s: %v", chain[i].name, before, deps(chain[i].typ, chain[i].name))
		}
	}
	delivery := deps(typeFirehose, ArchiveBase)
	for _, want := range []string{
		typePolicy + "::" + ArchiveBase + "-firehose-policy",
		typeFunction + "::" + Archiver,
		typeLifecycle + "::" + ArchiveBase + "-lifecycle",
		typeStream + "::" + contract.StreamBase,
	} {
		if !slices.Contains(delivery, want) {
			t.Errorf("the delivery stream does not wait for %s: %v", want, delivery)
		}
	}
}

// TestSchedule checks the schedule: none without the setting; with it, a
// schedule that invokes the scraper with its schedule input, exactly on
// time, retrying a little, under its own role.
func TestSchedule(t *testing.T) {
	if got := mustRun(t, testConfig()).rec.OfType(typeSchedule); len(got) != 0 {
		t.Errorf("%d schedules without a schedule setting", len(got))
	}
	cfg := testConfig()
	cfg.Schedule = "rate(2 hours)"
	r := mustRun(t, cfg)
	name := contract.Name(ScheduleBase, testStack)
	want := map[string]any{
		"name":               name,
		"description":        "Scrapes the stack's default page on rate(2 hours)",
		"scheduleExpression": "rate(2 hours)",
		"flexibleTimeWindow": map[string]any{"mode": "OFF"},
		"target": map[string]any{
			"arn":     functionARN(Scraper),
			"roleArn": fmt.Sprintf("arn:aws:iam::%s:role/%s", mocktest.Account, name),
			"input":   testScheduleInput,
			"retryPolicy": map[string]any{
				"maximumRetryAttempts":     float64(ScheduleRetries),
				"maximumEventAgeInSeconds": float64(ScheduleMaxEventAgeS),
			},
		},
	}
	if diff := cmp.Diff(want, r.plain(t, typeSchedule, ScheduleBase)); diff != "" {
		t.Errorf("schedule (-want +got):\n%s", diff)
	}
	// Scheduler's own limits on the retry policy.
	if ScheduleRetries > 185 || ScheduleMaxEventAgeS < 60 || ScheduleMaxEventAgeS > 86400 {
		t.Errorf("retry policy %d retries, %d s is outside Scheduler's limits", ScheduleRetries, ScheduleMaxEventAgeS)
	}
}

// TestAlarmEmail checks the alarm topic: none without alarmEmail; with
// it, an encrypted topic, its e-mail subscription and its key, and every
// alarm notifying the topic on alarm and on OK.
func TestAlarmEmail(t *testing.T) {
	plainRun := mustRun(t, testConfig())
	for _, typ := range []string{typeTopic, typeSubscr, typeKey} {
		if got := plainRun.rec.OfType(typ); len(got) != 0 {
			t.Errorf("%d %s without alarmEmail", len(got), typ)
		}
	}
	cfg := testConfig()
	cfg.AlarmEmail = "ops@example.org"
	r := mustRun(t, cfg)
	topicName := contract.Name(AlarmTopicBase, testStack)
	topicARN := fmt.Sprintf("arn:aws:sns:%s:%s:%s", mocktest.Region, mocktest.Account, topicName)
	keyARN := fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", mocktest.Region, mocktest.Account, mocktest.KeyID)
	if diff := cmp.Diff(map[string]any{"name": topicName, "kmsMasterKeyId": keyARN}, r.plain(t, typeTopic, AlarmTopicBase)); diff != "" {
		t.Errorf("topic (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"topic": topicARN, "protocol": "email", "endpoint": "ops@example.org"},
		r.plain(t, typeSubscr, AlarmTopicBase+"-email")); diff != "" {
		t.Errorf("subscription (-want +got):\n%s", diff)
	}
	key := r.plain(t, typeKey, AlarmTopicBase+"-key")
	delete(key, "policy") // TestAlarmKeyPolicy
	if diff := cmp.Diff(map[string]any{
		"description":          "Encrypts SNS topic " + topicName,
		"enableKeyRotation":    true,
		"deletionWindowInDays": float64(AlarmKeyDeletionDays),
		"tags":                 map[string]any{contract.StackTagKey: testStack},
	}, key); diff != "" {
		t.Errorf("key (-want +got):\n%s", diff)
	}
	alarms := r.rec.OfType(typeAlarm)
	if len(alarms) != len(plainRun.rec.OfType(typeAlarm)) {
		t.Errorf("%d alarms with alarmEmail, %d without", len(alarms), len(plainRun.rec.OfType(typeAlarm)))
	}
	for _, a := range alarms {
		in := mocktest.Plain(a.Inputs)
		for _, k := range []string{"alarmActions", "okActions"} {
			if diff := cmp.Diff([]any{topicARN}, in[k]); diff != "" {
				t.Errorf("alarm %s %s (-want +got):\n%s", a.Name, k, diff)
			}
		}
	}
}

// TestReservedConcurrency checks that a reservation reaches its function
// alone and that the others stay unreserved.
func TestReservedConcurrency(t *testing.T) {
	cfg := testConfig()
	cfg.SampleSite = true
	cfg.ReservedConcurrency = map[string]int{Processor: 2, Archiver: 1}
	r := mustRun(t, cfg)
	got := map[string]any{}
	for _, svc := range Deployed(cfg) {
		if v, ok := r.plain(t, typeFunction, svc)["reservedConcurrentExecutions"]; ok {
			got[svc] = v
		}
	}
	if diff := cmp.Diff(map[string]any{Processor: 2.0, Archiver: 1.0}, got); diff != "" {
		t.Errorf("reserved concurrency (-want +got):\n%s", diff)
	}
}

// TestDetailConcurrencyEnv checks that scrapeDetailConcurrency reaches the
// scraper only when set.
func TestDetailConcurrencyEnv(t *testing.T) {
	for _, n := range []int{0, 4} {
		cfg := testConfig()
		cfg.ScrapeDetailConcurrency = n
		env := mustRun(t, cfg).plain(t, typeFunction, Scraper)["environment"].(map[string]any)["variables"].(map[string]any)
		v, ok := env[contract.EnvScrapeDetailConcurrency]
		if (n == 0) == ok || (ok && v != fmt.Sprint(n)) {
			t.Errorf("scrapeDetailConcurrency %d: %s = %v (set %v)", n, contract.EnvScrapeDetailConcurrency, v, ok)
		}
	}
}

// TestFunctionEnvNamesItsTables checks that every table a function's
// policy names is also in its environment, under the table's variable,
// and the other way round: a function granted the history table (say,
// once the processor records observations) that is not told its name
// fails at its first write, and one told a name it may not use fails
// likewise.
func TestFunctionEnvNamesItsTables(t *testing.T) {
	envOf := map[string]string{
		contract.MoviesTableBase: contract.EnvMoviesTable, contract.RunsTableBase: contract.EnvRunsTable,
		contract.ErrorsTableBase: contract.EnvErrorsTable, contract.HistoryTableBase: contract.EnvHistoryTable,
	}
	cfg := testConfig()
	cfg.SampleSite = true
	r := mustRun(t, cfg)
	for _, svc := range Deployed(cfg) {
		t.Run(svc, func(t *testing.T) {
			_, stmts := parsePolicy(t, r.plain(t, typePolicy, svc+"-policy")["policy"].(string))
			var granted []string
			for _, s := range stmts {
				for _, res := range s.Resources {
					for base := range envOf {
						if res == tableARN(base) || strings.HasPrefix(res, tableARN(base)+"/index/") {
							granted = append(granted, envOf[base])
						}
					}
				}
			}
			var told []string
			if env, ok := r.plain(t, typeFunction, svc)["environment"].(map[string]any); ok {
				for k := range env["variables"].(map[string]any) {
					for _, v := range envOf {
						if k == v {
							told = append(told, k)
						}
					}
				}
			}
			slices.Sort(granted)
			slices.Sort(told)
			if diff := cmp.Diff(slices.Compact(granted), told); diff != "" {
				t.Errorf("table variables (-granted +environment):\n%s", diff)
			}
		})
	}
}
