// Package s3 is the Amazon S3 adapter of the archive port, through
// aws-sdk-go-v2: the bucket Firehose delivers to on AWS, and devstack's
// archive with --aws. Keys are relative to a Location, a bucket and an
// optional prefix (s3://BUCKET/PREFIX/), so several stacks or copies can
// share a bucket.
//
// S3 gives the port's guarantees by itself: a PUT is atomic (a GET sees the
// old object or the new one, never a part), strongly consistent for reads
// and lists after it returns, and ListObjectsV2 lists keys in UTF-8 binary
// order. Put sends Content-Type application/x-ndjson and, for a
// gzip-compressed body (the archive's objects), Content-Encoding gzip; Open
// returns the stored bytes as they are, never decompressed on the way (the
// SDK asks for the identity encoding).
//
// The IAM actions each method needs are in Accesses.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
)

// API is the part of the S3 client the adapter uses; *s3.Client implements
// it.
type API interface {
	// PutObject stores one object, atomically.
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	// GetObject reads one object.
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	// ListObjectsV2 lists up to MaxKeys keys in order.
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

var _ API = (*s3.Client)(nil)

// Location is where an archive lives in S3: a bucket and a key prefix.
type Location struct {
	Bucket string
	// Prefix is "" (the bucket's root) or a key prefix ending in '/'.
	Prefix string
}

// bucketName is S3's rule for bucket names (general purpose buckets).
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// ParseLocation parses s3://BUCKET or s3://BUCKET/PREFIX (a trailing '/'
// is optional). The bucket must be a valid S3 bucket name and the prefix a
// valid archive key (see archive.CheckKey).
func ParseLocation(s string) (Location, error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return Location{}, fmt.Errorf("archive location %q: want s3://BUCKET[/PREFIX]", s)
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	prefix = strings.TrimSuffix(prefix, "/")
	l := Location{Bucket: bucket}
	if prefix != "" {
		l.Prefix = prefix + "/"
	}
	if err := l.Validate(); err != nil {
		return Location{}, fmt.Errorf("archive location %q: %w", s, err)
	}
	return l, nil
}

// Validate reports every problem of l at once.
func (l Location) Validate() error {
	var errs []error
	if !bucketName.MatchString(l.Bucket) || strings.Contains(l.Bucket, "..") {
		errs = append(errs, fmt.Errorf("bucket %q is not a valid S3 bucket name", l.Bucket))
	}
	if l.Prefix != "" {
		p, ok := strings.CutSuffix(l.Prefix, "/")
		if !ok {
			errs = append(errs, fmt.Errorf("prefix %q does not end in '/'", l.Prefix))
		} else if err := archive.CheckKey(p); err != nil {
			errs = append(errs, fmt.Errorf("prefix: %w", err))
		}
	}
	return errors.Join(errs...)
}

// String returns l as s3://BUCKET/PREFIX.
func (l Location) String() string { return "s3://" + l.Bucket + "/" + l.Prefix }

// Options configure a Store.
type Options struct {
	// PageSize is the most keys one ListObjectsV2 call asks for; default
	// (and S3's most) 1000.
	PageSize int32
}

// Store is an archive in S3. It is safe for concurrent use.
type Store struct {
	api API
	loc Location
	o   Options
}

var _ archive.Store = (*Store)(nil)

// New returns the archive at loc through api (an *s3.Client).
func New(api API, loc Location, o Options) (*Store, error) {
	if err := loc.Validate(); err != nil {
		return nil, fmt.Errorf("archive location %s: %w", loc, err)
	}
	if o.PageSize <= 0 || o.PageSize > 1000 {
		o.PageSize = 1000
	}
	return &Store{api: api, loc: loc, o: o}, nil
}

// Location returns where the archive is.
func (s *Store) Location() Location { return s.loc }

// Content types of the stored objects.
const (
	ContentType     = "application/x-ndjson"
	ContentEncoding = "gzip"
)

// Put stores body as the object key with one PutObject; see
// archive.Writer.
func (s *Store) Put(ctx context.Context, key string, body []byte) error {
	if err := archive.CheckKey(key); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(s.loc.Bucket),
		Key:           aws.String(s.loc.Prefix + key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String(ContentType),
	}
	if len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b {
		in.ContentEncoding = aws.String(ContentEncoding)
	}
	if _, err := s.api.PutObject(ctx, in); err != nil {
		return fmt.Errorf("put %s: %w", s.loc.Prefix+key, err)
	}
	return nil
}

// Open returns the object's body with one GetObject; see archive.Opener.
// Reading the body ends when ctx does.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := archive.CheckKey(key); err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.loc.Bucket),
		Key:    aws.String(s.loc.Prefix + key),
	})
	if isNotFound(err) {
		return nil, fmt.Errorf("open %s: %w", s.loc.Prefix+key, archive.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", s.loc.Prefix+key, err)
	}
	return out.Body, nil
}

func isNotFound(err error) bool {
	var noKey *types.NoSuchKey
	if errors.As(err, &noKey) {
		return true
	}
	var api smithy.APIError
	return errors.As(err, &api) && (api.ErrorCode() == "NoSuchKey" || api.ErrorCode() == "NotFound")
}

// List lists the objects under prefix after startAfter with ListObjectsV2,
// page by page; see archive.Lister.
func (s *Store) List(ctx context.Context, prefix, startAfter string, fn func(archive.Object) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list %s: %w", prefix, err)
	}
	in := &s3.ListObjectsV2Input{
		Bucket:  aws.String(s.loc.Bucket),
		Prefix:  aws.String(s.loc.Prefix + prefix),
		MaxKeys: aws.Int32(s.o.PageSize),
	}
	if startAfter != "" {
		in.StartAfter = aws.String(s.loc.Prefix + startAfter)
	}
	pages := s3.NewListObjectsV2Paginator(s.api, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %s: %w", s.loc.Prefix+prefix, err)
		}
		for _, o := range page.Contents {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("list %s: %w", s.loc.Prefix+prefix, err)
			}
			key := strings.TrimPrefix(aws.ToString(o.Key), s.loc.Prefix)
			if err := fn(archive.Object{Key: key, Size: aws.ToInt64(o.Size)}); err != nil {
				return err
			}
		}
	}
	return nil
}
