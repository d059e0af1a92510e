package awsemu

import (
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"
)

// bucketName is S3's rule for new bucket names (3 to 63 characters).
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func TestS3BucketPutGetList(t *testing.T) {
	ctx := testContext(t)
	client := S3(t)
	bucket := Bucket(t, client, "archive-"+strings.Repeat("long-", 20))
	if !bucketName.MatchString(bucket) {
		t.Fatalf("bucket name %q breaks S3's naming rules", bucket)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("events/2026/11/27/04/a.gz"), Body: strings.NewReader("body"),
	}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("events/2026/11/27/04/a.gz")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	body, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil || string(body) != "body" {
		t.Errorf("GetObject body = %q, %v; want %q", body, err, "body")
	}
	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	if diff := cmp.Diff([]string{"events/2026/11/27/04/a.gz"}, keys); diff != "" {
		t.Errorf("ListObjectsV2 (-want +got):\n%s", diff)
	}
}
