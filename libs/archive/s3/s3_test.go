package s3_test

import (
	"context"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/archive/archivetest"
	s3adapter "github.com/scrape-pipeline/scrape-pipeline/libs/archive/s3"
	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
)

func TestMain(m *testing.M) { os.Exit(awsemu.Main(m)) }

// TestContract runs the suite at a bucket's root, and under a prefix with
// small pages (so listings span several ListObjectsV2 calls) next to
// objects outside the prefix that must never show.
func TestContract(t *testing.T) {
	client := motoS3(t)
	t.Run("BucketRoot", func(t *testing.T) {
		archivetest.Run(t, func(t *testing.T) archive.Store {
			bucket := newBucket(t, client)
			s, err := s3adapter.New(client, s3adapter.Location{Bucket: bucket}, s3adapter.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
	t.Run("PrefixSmallPages", func(t *testing.T) {
		archivetest.Run(t, func(t *testing.T) archive.Store {
			bucket := newBucket(t, client)
			for _, key := range []string{"other/x", "courseX-old/events/y", "courseX", "a-before"} {
				if _, err := client.PutObject(t.Context(), &s3.PutObjectInput{
					Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("decoy"),
				}); err != nil {
					t.Fatal(err)
				}
			}
			loc, err := s3adapter.ParseLocation("s3://" + bucket + "/courseX")
			if err != nil {
				t.Fatal(err)
			}
			s, err := s3adapter.New(client, loc, s3adapter.Options{PageSize: 3})
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
}

func TestContentHeaders(t *testing.T) {
	client := motoS3(t)
	bucket := newBucket(t, client)
	s, err := s3adapter.New(client, s3adapter.Location{Bucket: bucket, Prefix: "p/"}, s3adapter.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	gz := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0} // an empty gzip stream
	if err := s.Put(ctx, "events/a.gz", gz); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "plain", []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	type headers struct{ Type, Encoding string }
	got := map[string]headers{}
	for _, key := range []string{"p/events/a.gz", "p/plain"} {
		out, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("HeadObject %s: %v", key, err)
		}
		got[key] = headers{aws.ToString(out.ContentType), aws.ToString(out.ContentEncoding)}
	}
	want := map[string]headers{
		"p/events/a.gz": {"application/x-ndjson", "gzip"},
		"p/plain":       {"application/x-ndjson", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored headers (-want +got):\n%s", diff)
	}
}

func TestParseLocation(t *testing.T) {
	tests := []struct {
		in   string
		want s3adapter.Location
		err  string
	}{
		{in: "s3://archive-bucket", want: s3adapter.Location{Bucket: "archive-bucket"}},
		{in: "s3://archive-bucket/", want: s3adapter.Location{Bucket: "archive-bucket"}},
		{in: "s3://archive.bucket.1/courseX", want: s3adapter.Location{Bucket: "archive.bucket.1", Prefix: "courseX/"}},
		{in: "s3://b12/a/b/", want: s3adapter.Location{Bucket: "b12", Prefix: "a/b/"}},
		{in: "https://b12/a", err: "want s3://BUCKET[/PREFIX]"},
		{in: "s3://", err: `bucket "" is not a valid S3 bucket name`},
		{in: "s3://Upper", err: `bucket "Upper" is not a valid S3 bucket name`},
		{in: "s3://ab", err: "is not a valid S3 bucket name"},
		{in: "s3://a..b", err: "is not a valid S3 bucket name"},
		{in: "s3://" + strings.Repeat("b", 64), err: "is not a valid S3 bucket name"},
		{in: "s3://bucket//x", err: "empty path segment"},
		{in: "s3://bucket/../x", err: "starts with '.'"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := s3adapter.ParseLocation(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseLocation(%q) = %v, %v; want an error saying %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseLocation(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if back, err := s3adapter.ParseLocation(got.String()); err != nil || back != got {
				t.Errorf("ParseLocation(%q) = %v, %v; want %v again", got.String(), back, err, got)
			}
		})
	}
}

// calls notes the IAM action of every S3 call an adapter method makes.
type calls struct {
	s3adapter.API
	mu   sync.Mutex
	seen map[s3adapter.Access]bool
}

func (c *calls) note(a s3adapter.Access) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[a] = true
}

func (c *calls) take() []s3adapter.Access {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []s3adapter.Access
	for a := range c.seen {
		out = append(out, a)
	}
	clear(c.seen)
	return sortAccess(out)
}

func sortAccess(a []s3adapter.Access) []s3adapter.Access {
	slices.SortFunc(a, func(x, y s3adapter.Access) int { return strings.Compare(x.Action+x.Resource, y.Action+y.Resource) })
	return a
}

func (c *calls) PutObject(ctx context.Context, in *s3.PutObjectInput, o ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	c.note(s3adapter.Access{Action: "s3:PutObject", Resource: s3adapter.ObjectsResource})
	return c.API.PutObject(ctx, in, o...)
}

func (c *calls) GetObject(ctx context.Context, in *s3.GetObjectInput, o ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	c.note(s3adapter.Access{Action: "s3:GetObject", Resource: s3adapter.ObjectsResource})
	return c.API.GetObject(ctx, in, o...)
}

// ListObjectsV2 is authorised by s3:ListBucket on the bucket.
func (c *calls) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, o ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	c.note(s3adapter.Access{Action: "s3:ListBucket", Resource: s3adapter.BucketResource})
	return c.API.ListObjectsV2(ctx, in, o...)
}

// TestAccessesMatchTheCalls drives every Store method through its paths
// (the missing object included) on moto_server and compares the
// permissions its calls need with Accesses, which infra's least-privilege
// policies are checked against.
func TestAccessesMatchTheCalls(t *testing.T) {
	client := motoS3(t)
	bucket := newBucket(t, client)
	rec := &calls{API: client, seen: map[s3adapter.Access]bool{}}
	s, err := s3adapter.New(rec, s3adapter.Location{Bucket: bucket, Prefix: "courseX/"}, s3adapter.Options{PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	paths := map[string]func(){
		"Put": func() { must(s.Put(ctx, "events/a", []byte("a"))); must(s.Put(ctx, "events/b", []byte("b"))) },
		"List": func() {
			must(s.List(ctx, "events/", "", func(archive.Object) error { return nil }))
		},
		"Open": func() {
			body, err := s.Open(ctx, "events/a")
			must(err)
			body.Close()
			if _, err := s.Open(ctx, "events/none"); err == nil {
				t.Error("Open of a missing object succeeded")
			}
		},
	}
	accesses := s3adapter.Accesses()
	// Every method of the port has a path and an entry, and no other.
	var methods []string
	for m := range reflect.TypeFor[archive.Store]().Methods() {
		methods = append(methods, m.Name)
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(paths)), slices.Sorted(slices.Values(methods))); diff != "" {
		t.Fatalf("methods driven (-paths +archive.Store):\n%s", diff)
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(accesses)), slices.Sorted(slices.Values(methods))); diff != "" {
		t.Errorf("methods in Accesses (-Accesses +archive.Store):\n%s", diff)
	}
	rec.take()
	for _, m := range []string{"Put", "List", "Open"} { // reads after writes
		t.Run(m, func(t *testing.T) {
			paths[m]()
			want := sortAccess(slices.Clone(accesses[m]))
			if diff := cmp.Diff(want, rec.take()); diff != "" {
				t.Errorf("permissions %s needs (-Accesses +calls made):\n%s", m, diff)
			}
		})
	}
	// Accesses returns a copy: changing it does not change the table.
	accesses["Put"][0].Action = "s3:*"
	if got := s3adapter.Accesses()["Put"][0].Action; got != "s3:PutObject" {
		t.Errorf("Accesses()[Put] changed to %q through a returned map", got)
	}
}
