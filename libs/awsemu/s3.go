package awsemu

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3 returns a client for moto_server's S3, which the shared moto_server
// serves on the same port as DynamoDB and SQS (started on first use; skips
// or fails t like [Moto]). It addresses buckets path-style
// (http://127.0.0.1:PORT/BUCKET/KEY): in the virtual-hosted style the SDK
// uses by default, the bucket is part of the host name, which a loopback
// address cannot carry.
func S3(t testing.TB) *s3.Client {
	t.Helper()
	return s3.NewFromConfig(Moto(t), func(o *s3.Options) { o.UsePathStyle = true })
}

// maxBucketLen is S3's limit on bucket names.
const maxBucketLen = 63

// Bucket creates, through client (see [S3]), a bucket whose name is unique
// to t and starts with prefix, and returns its name. The bucket and every
// object in it are deleted when t ends. It fails t if the bucket cannot be
// created.
func Bucket(t testing.TB, client *s3.Client, prefix string) string {
	t.Helper()
	name := Name(t, prefix)
	if len(name) > maxBucketLen {
		// Keep the unique end; a bucket name starts with a letter or digit.
		name = strings.TrimLeft(name[len(name)-maxBucketLen:], "-")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{
		Bucket: aws.String(name),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{
			LocationConstraint: types.BucketLocationConstraint(Region),
		},
	}); err != nil {
		t.Fatalf("awsemu: create bucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(name)})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				t.Errorf("awsemu: list bucket %s: %v", name, err)
				return
			}
			for _, o := range page.Contents {
				if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(name), Key: o.Key}); err != nil {
					t.Errorf("awsemu: delete s3://%s/%s: %v", name, aws.ToString(o.Key), err)
				}
			}
		}
		if _, err := client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)}); err != nil {
			t.Errorf("awsemu: delete bucket %s: %v", name, err)
		}
	})
	return name
}
