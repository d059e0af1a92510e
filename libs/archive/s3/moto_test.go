package s3_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
)

// motoS3 returns a client for the S3 of the test binary's shared
// moto_server (the one awsemu.Moto starts for DynamoDB and SQS). Buckets
// are addressed path-style (http://127.0.0.1:PORT/BUCKET/KEY): in the
// SDK's default virtual-hosted style the bucket is part of the host name,
// which a loopback address cannot carry.
func motoS3(t *testing.T) *s3.Client {
	t.Helper()
	return s3.NewFromConfig(awsemu.Moto(t), func(o *s3.Options) { o.UsePathStyle = true })
}

// newBucket creates a bucket whose name is unique to t and deletes it,
// with its objects, when t ends.
func newBucket(t *testing.T, client *s3.Client) string {
	t.Helper()
	name := awsemu.Name(t, "archive")
	if len(name) > 63 { // S3's limit; keep the unique end
		name = strings.TrimLeft(name[len(name)-63:], "-")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{
		Bucket:                    aws.String(name),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(awsemu.Region)},
	}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(name)})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				t.Errorf("list bucket %s: %v", name, err)
				return
			}
			for _, o := range page.Contents {
				if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(name), Key: o.Key}); err != nil {
					t.Errorf("delete s3://%s/%s: %v", name, aws.ToString(o.Key), err)
				}
			}
		}
		if _, err := client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)}); err != nil {
			t.Errorf("delete bucket %s: %v", name, err)
		}
	})
	return name
}
