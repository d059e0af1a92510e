package awsbackend

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	s3archive "github.com/scrape-pipeline/scrape-pipeline/libs/archive/s3"
	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
)

// TestOpenArchive: a missing bucket is ErrMissing naming it and --create;
// with create the bucket is made, encrypted, and the archive works; a
// second open keeps it.
func TestOpenArchive(t *testing.T) {
	cfg := awsemu.Moto(t)
	ctx := testCtx(t)
	bucket := awsemu.Name(t, "archive")
	loc := s3archive.Location{Bucket: bucket, Prefix: "courseX/"}
	_, err := OpenArchive(ctx, cfg, loc, false)
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), bucket) || !strings.Contains(err.Error(), "--create") {
		t.Fatalf("OpenArchive of a missing bucket = %v, want ErrMissing naming it and --create", err)
	}
	st, err := OpenArchive(ctx, cfg, loc, true)
	if err != nil {
		t.Fatal(err)
	}
	client := NewS3(cfg)
	t.Cleanup(func() { emptyBucket(t, client, bucket) })
	enc, err := client.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(bucket)})
	if err != nil || len(enc.ServerSideEncryptionConfiguration.Rules) != 1 ||
		enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != "AES256" {
		t.Errorf("bucket encryption = %+v, %v; want SSE-S3", enc, err)
	}
	key := archive.ObjectKey("devstack-test", time.Date(2026, 11, 27, 4, 20, 0, 0, time.UTC), archive.NewUnique())
	if err := st.Put(ctx, key, []byte("lines")); err != nil {
		t.Fatal(err)
	}
	again, err := OpenArchive(ctx, cfg, loc, true)
	if err != nil {
		t.Fatalf("second OpenArchive with create: %v", err)
	}
	body, err := again.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	var got bytes.Buffer
	got.ReadFrom(body)
	if got.String() != "lines" {
		t.Errorf("object read back = %q", got.String())
	}
	if _, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("courseX/" + key)}); err != nil {
		t.Errorf("the object is not under the prefix: %v", err)
	}
}

func emptyBucket(t *testing.T, client *s3.Client, bucket string) {
	ctx := context.Background()
	out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Errorf("list %s: %v", bucket, err)
		return
	}
	for _, o := range out.Contents {
		client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key})
	}
	if _, err := client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Errorf("delete bucket %s: %v", bucket, err)
	}
}
