package awsbackend

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	s3archive "github.com/scrape-pipeline/scrape-pipeline/libs/archive/s3"
)

// S3Admin is the part of the S3 client OpenArchive uses besides the
// archive adapter's own calls; *s3.Client implements it.
type S3Admin interface {
	// HeadBucket tells whether the bucket exists (and is ours to use).
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	// CreateBucket makes it.
	CreateBucket(ctx context.Context, in *s3.CreateBucketInput, optFns ...func(*s3.Options)) (*s3.CreateBucketOutput, error)
	// PutBucketEncryption sets its default encryption.
	PutBucketEncryption(ctx context.Context, in *s3.PutBucketEncryptionInput, optFns ...func(*s3.Options)) (*s3.PutBucketEncryptionOutput, error)
}

var _ S3Admin = (*s3.Client)(nil)

// NewS3 returns the S3 client of cfg. An endpoint of its own (an emulator
// such as moto_server through AWS_ENDPOINT_URL_S3) is addressed path-style:
// emulators on 127.0.0.1 have no DNS name per bucket.
func NewS3(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if o.BaseEndpoint != nil {
			o.UsePathStyle = true
		}
	})
}

// OpenArchive returns the archive at loc, in S3 through cfg. With create it
// makes the bucket if it does not exist (in cfg's region, with SSE-S3
// default encryption); without it a missing bucket is an error wrapping
// ErrMissing that says to pass --create.
func OpenArchive(ctx context.Context, cfg aws.Config, loc s3archive.Location, create bool) (*s3archive.Store, error) {
	client := NewS3(cfg)
	if err := EnsureBucket(ctx, client, loc.Bucket, cfg.Region, create); err != nil {
		return nil, err
	}
	st, err := s3archive.New(client, loc, s3archive.Options{})
	if err != nil {
		return nil, fmt.Errorf("archive %s: %w", loc, err)
	}
	return st, nil
}

// EnsureBucket checks that bucket exists and, with create, makes it first
// if it does not.
func EnsureBucket(ctx context.Context, client S3Admin, bucket, region string, create bool) error {
	_, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	switch {
	case err == nil:
		return nil
	case !bucketMissing(err):
		return fmt.Errorf("archive bucket %s: %w", bucket, err)
	case !create:
		return fmt.Errorf("%w: archive bucket %s; pass --create to create it", ErrMissing, bucket)
	}
	in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	if region != "us-east-1" { // the one region that takes no constraint
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
	}
	var owned *s3types.BucketAlreadyOwnedByYou
	if _, err := client.CreateBucket(ctx, in); err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("create archive bucket %s: %w", bucket, err)
	}
	// S3 encrypts new objects with SSE-S3 by default; say so explicitly,
	// as the stack's buckets do.
	_, err = client.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{
		Bucket: aws.String(bucket),
		ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256},
		}}},
	})
	if err != nil {
		return fmt.Errorf("archive bucket %s: default encryption: %w", bucket, err)
	}
	return nil
}

// bucketMissing reports whether a HeadBucket error says there is no such
// bucket (HEAD answers have no body: a bare 404 NotFound).
func bucketMissing(err error) bool {
	var nb *s3types.NoSuchBucket
	var nf *s3types.NotFound
	var api smithy.APIError
	return errors.As(err, &nb) || errors.As(err, &nf) ||
		errors.As(err, &api) && (api.ErrorCode() == "NoSuchBucket" || api.ErrorCode() == "NotFound")
}
