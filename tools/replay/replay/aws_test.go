package replay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/archive/dir"
	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
)

// uniqueSuffix returns a suffix no other test uses (1-32 characters).
func uniqueSuffix(t *testing.T) string {
	t.Helper()
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "rp-" + hex.EncodeToString(b[:])
}

// copyToS3 uploads the archive in root to a new moto bucket under prefix
// and returns its location.
func copyToS3(t *testing.T, cfg aws.Config, root, prefix string) string {
	t.Helper()
	ctx := context.Background()
	client := awss3.NewFromConfig(cfg, func(o *awss3.Options) { o.UsePathStyle = true })
	bucket := uniqueSuffix(t)
	if _, err := client.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String(bucket),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(awsemu.Region)}}); err != nil {
		t.Fatal(err)
	}
	src, err := dir.New(root)
	if err != nil {
		t.Fatal(err)
	}
	err = src.List(ctx, archive.EventsPrefix, "", func(o archive.Object) error {
		body, err := src.Open(ctx, o.Key)
		if err != nil {
			return err
		}
		defer body.Close()
		b, err := io.ReadAll(body)
		if err != nil {
			return err
		}
		_, err = client.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + o.Key), Body: strings.NewReader(string(b))})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return "s3://" + bucket + "/" + prefix
}

func TestReplayFromS3(t *testing.T) {
	f := getFixture(t)
	cfg := awsemu.Moto(t)
	loc := copyToS3(t, cfg, f.archive, "firehose/")
	data := filepath.Join(t.TempDir(), "data")
	rep, err := replayInto(t, loc, data, Options{AWSConfig: &cfg, S3PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Events != int64(f.archived) {
		t.Errorf("replayed %d events from S3, want %d", rep.Events, f.archived)
	}
	if v, err := verifyDirs(t, f.reference, data); err != nil || !v.Same() {
		t.Errorf("replay from S3 differs from the one from the directory: %v\n%v", err, v.Differences)
	}
}

func TestReplayIntoDynamoDB(t *testing.T) {
	cfg := awsemu.Moto(t)
	ctx := context.Background()
	s, root := newArchive(t, streamSpec{Shards: 2, Runs: 1, Movies: 12, PoisonEvery: 7})
	written := s.writeArchive(t, filepath.Join(t.TempDir(), "again")) // same records: to count them
	suffix := uniqueSuffix(t)
	o := Options{Archive: root, AWS: true, Suffix: suffix, Create: true, SerialTables: true, AWSConfig: &cfg, Logger: quiet}
	replayAWS := func(o Options) (ReplayReport, error) {
		tool, err := New(ctx, o)
		if err != nil {
			return ReplayReport{}, err
		}
		defer tool.Close()
		rep, err := tool.Run(ctx)
		return *rep.Replay, err
	}
	rep, err := replayAWS(o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Events != int64(written) || !rep.Complete {
		t.Errorf("replay into DynamoDB = %+v, want all %d records, complete", rep, written)
	}

	// The same tables as a replay into a data directory.
	data := filepath.Join(t.TempDir(), "data")
	if _, err := replayInto(t, root, data, Options{}); err != nil {
		t.Fatal(err)
	}
	local, err := embedded.Open(filepath.Join(data, TablesFile))
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	remote := dynamo.New(dynamo.Serial(dynamodb.NewFromConfig(cfg)), dynamo.TableNames(suffix))
	v, err := verify(ctx, local, remote)
	if err != nil || !v.Same() {
		t.Errorf("DynamoDB tables differ from the data directory's: %v\n%v", err, v.Differences)
	}

	// Run again: resumes after the checkpoint, nothing left.
	if rep, err := replayAWS(o); err != nil || rep.Events != 0 || rep.Resumed == "" {
		t.Errorf("second replay = %+v, %v; want nothing after the checkpoint", rep, err)
	}
	// Another archive into the same tables, or into tables holding items
	// no replay wrote: refused.
	other := o
	other.Archive = t.TempDir()
	if _, err := replayAWS(other); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("replay of another archive into the tables = %v, want ErrNotEmpty", err)
	}
	client := dynamodb.NewFromConfig(cfg)
	names := dynamo.TableNames(suffix)
	if _, err := client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(names.Runs),
		Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: checkpointKey}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := replayAWS(o); !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), names.Movies) {
		t.Errorf("replay into tables holding items and no checkpoint = %v, want ErrNotEmpty naming the table", err)
	}
	// Missing tables without --create.
	o.Suffix, o.Create = uniqueSuffix(t), false
	if _, err := replayAWS(o); err == nil || !strings.Contains(err.Error(), "pass --create") {
		t.Errorf("replay into missing tables = %v, want a hint to pass --create", err)
	}
}
