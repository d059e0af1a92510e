// Package archivetest is the contract suite of the archive port: every
// adapter (dir, s3 on moto_server) must pass Run. An adapter's test hands
// Run a function that opens a fresh, empty archive:
//
//	func TestContract(t *testing.T) {
//		archivetest.Run(t, func(t *testing.T) archive.Store {
//			s, err := dir.New(t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// The suite checks what readers and writers of the archive rely on: bodies
// come back byte for byte (gzip included, never decompressed on the way);
// listing is in S3's byte-wise key order with prefix and start-after
// filters, compared with a model over keys chosen to tell that order from
// a directory walk's; a reader never sees part of an object, even while it
// is being written or replaced; missing objects, invalid keys and ended
// contexts give the errors the port promises; and a Buffer's objects read
// back through Scan.
package archivetest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu/short"
)

// Harness opens a fresh, empty archive for one test; it registers its own
// cleanup with t.
type Harness func(t *testing.T) archive.Store

// timeout bounds each test's calls.
const timeout = 60 * time.Second

// Run runs the contract suite against the archives open creates.
func Run(t *testing.T, open Harness) {
	t.Run("GzipBodyRoundTrips", func(t *testing.T) { testGzipRoundTrip(t, open(t)) })
	t.Run("EmptyObject", func(t *testing.T) { testEmptyObject(t, open(t)) })
	t.Run("ReplaceIsWhole", func(t *testing.T) { testReplace(t, open(t)) })
	t.Run("ListOrderPrefixStartAfter", func(t *testing.T) { testListModel(t, open(t)) })
	t.Run("ListStopsAtCallbackError", func(t *testing.T) { testListCallbackError(t, open(t)) })
	t.Run("OpenMissing", func(t *testing.T) { testOpenMissing(t, open(t)) })
	t.Run("InvalidKeys", func(t *testing.T) { testInvalidKeys(t, open(t)) })
	t.Run("EndedContext", func(t *testing.T) { testEndedContext(t, open(t)) })
	t.Run("CancelDuringList", func(t *testing.T) { testCancelDuringList(t, open(t)) })
	t.Run("ConcurrentPuts", func(t *testing.T) { testConcurrentPuts(t, open(t)) })
	t.Run("ReadersNeverSeePartialObjects", func(t *testing.T) { testAtomicity(t, open(t)) })
	t.Run("BufferFlushesScanReads", func(t *testing.T) { testBufferAndScan(t, open(t)) })
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return c
}

func put(t *testing.T, c context.Context, s archive.Store, key string, body []byte) {
	t.Helper()
	if err := s.Put(c, key, body); err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
}

func read(t *testing.T, c context.Context, s archive.Store, key string) []byte {
	t.Helper()
	body, err := s.Open(c, key)
	if err != nil {
		t.Fatalf("Open(%s): %v", key, err)
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

// keys lists the keys under prefix after startAfter.
func keys(t *testing.T, c context.Context, s archive.Store, prefix, startAfter string) []string {
	t.Helper()
	out := []string{}
	err := s.List(c, prefix, startAfter, func(o archive.Object) error {
		out = append(out, o.Key)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q, %q): %v", prefix, startAfter, err)
	}
	return out
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func testGzipRoundTrip(t *testing.T, s archive.Store) {
	c := ctx(t)
	var lines []byte
	for i := range 200 {
		rec := archive.Record{ShardID: "shardId-000000000000", SequenceNumber: fmt.Sprint(1000 + i), PartitionKey: fmt.Sprintf("movie-%d", i%7),
			ArrivalTime: time.Date(2026, 11, 27, 4, 20, i, 0, time.UTC), Data: fmt.Appendf(nil, `{"n":%d}`, i)}
		var err error
		if lines, err = archive.AppendLine(lines, rec); err != nil {
			t.Fatal(err)
		}
	}
	body := gzipped(t, lines)
	key := archive.ObjectKey("contract", time.Date(2026, 11, 27, 4, 20, 0, 0, time.UTC), "u1")
	put(t, c, s, key, body)

	got := read(t, c, s, key)
	if !bytes.Equal(body, got) {
		t.Fatalf("Open returned %d bytes, want the %d gzip bytes put (decompressed on the way?)", len(got), len(body))
	}
	zr, err := gzip.NewReader(bytes.NewReader(got))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(lines, plain) {
		t.Errorf("gunzipped body differs from the lines put")
	}
	var sizes []archive.Object
	if err := s.List(c, archive.EventsPrefix, "", func(o archive.Object) error {
		sizes = append(sizes, o)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]archive.Object{{Key: key, Size: int64(len(body))}}, sizes); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

func testEmptyObject(t *testing.T, s archive.Store) {
	c := ctx(t)
	put(t, c, s, "x/empty", nil)
	if got := read(t, c, s, "x/empty"); len(got) != 0 {
		t.Errorf("empty object read back as %d bytes", len(got))
	}
	if diff := cmp.Diff([]string{"x/empty"}, keys(t, c, s, "", "")); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

func testReplace(t *testing.T, s archive.Store) {
	c := ctx(t)
	put(t, c, s, "x/k", []byte("first version, longer than the second"))
	put(t, c, s, "x/k", []byte("second"))
	if got := read(t, c, s, "x/k"); string(got) != "second" {
		t.Errorf("after replacing, Open = %q, want %q", got, "second")
	}
	if diff := cmp.Diff([]string{"x/k"}, keys(t, c, s, "", "")); diff != "" {
		t.Errorf("List after replacing (-want +got):\n%s", diff)
	}
}

// modelKeys tell S3's byte-wise order from a directory walk's: '-' and '.'
// sort before '/', '0' after it.
var modelKeys = []string{
	"x/a-c", "x/a.d", "x/a/b", "x/a/b2/c", "x/a0", "x/ab", "x/é", "x/z", "y/1",
	"events/2026/11/27/04/w-2026-11-27-04-20-00-u1.gz", "events/2026/11/27/04/w-2026-11-27-04-59-00-u2.gz",
	"events/2026/11/27/05/w-2026-11-27-05-00-00-u3.gz", "events/2026/11/28/00/w-2026-11-28-00-00-00-u4.gz",
}

func testListModel(t *testing.T, s archive.Store) {
	c := ctx(t)
	// Put in an order unlike the key order.
	for _, i := range rand.Perm(len(modelKeys)) {
		put(t, c, s, modelKeys[i], []byte(modelKeys[i]))
	}
	sorted := slices.Sorted(slices.Values(modelKeys))
	if diff := cmp.Diff(sorted, keys(t, c, s, "", "")); diff != "" {
		t.Fatalf("List of everything (-want +got):\n%s", diff)
	}
	prefixes := []string{"", "x", "x/", "x/a", "x/a/", "x/a/b", "x/a-", "x/é", "y/", "events/2026/11/27/", "events/2026/11/2", "nope/", "x/a/b2/c/"}
	afters := []string{"", "x/a-c", "x/a.", "x/a/", "x/a/b", "x/a/b2/c", "x/a0", "events/2026/11/27/04/", "events/2026/11/27/05/w", "y", "zzz"}
	// -short lists each prefix alone and each start-after alone (24 lists),
	// not every pair of them (143): on moto each list is a few requests.
	pairs := !short.On(t) // every prefix with every start-after
	for _, prefix := range prefixes {
		for _, after := range afters {
			if !pairs && prefix != "" && after != "" {
				continue
			}
			want := []string{}
			for _, k := range sorted {
				if strings.HasPrefix(k, prefix) && k > after {
					want = append(want, k)
				}
			}
			if diff := cmp.Diff(want, keys(t, c, s, prefix, after)); diff != "" {
				t.Errorf("List(prefix %q, startAfter %q) (-want +got):\n%s", prefix, after, diff)
			}
		}
	}
	// Resuming from each key seen lists the rest.
	for i, k := range sorted {
		if diff := cmp.Diff(append([]string{}, sorted[i+1:]...), keys(t, c, s, "", k)); diff != "" {
			t.Errorf("List resumed after %q (-want +got):\n%s", k, diff)
		}
	}
}

func testListCallbackError(t *testing.T, s archive.Store) {
	c := ctx(t)
	for _, k := range []string{"x/1", "x/2", "x/3"} {
		put(t, c, s, k, []byte(k))
	}
	stop := errors.New("enough")
	calls := 0
	err := s.List(c, "x/", "", func(archive.Object) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Errorf("List = %v after %d calls, want the callback's error after 2", err, calls)
	}
}

func testOpenMissing(t *testing.T, s archive.Store) {
	c := ctx(t)
	put(t, c, s, "x/a/b", []byte("b"))
	for _, key := range []string{"x/none", "x/a", "x/a/b/c", "y"} {
		body, err := s.Open(c, key)
		if err == nil {
			body.Close()
		}
		if !errors.Is(err, archive.ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrNotFound", key, err)
		}
	}
}

func testInvalidKeys(t *testing.T, s archive.Store) {
	c := ctx(t)
	bad := []string{"", "/abs", "a//b", "a/", "../up", "a/../b", "a/./b", ".hidden", "a/.tmp-x", `a\b`, "a\x00b", "a\nb", "bad\xffutf8", strings.Repeat("k", archive.MaxKeyLen+1)}
	for _, key := range bad {
		if err := s.Put(c, key, []byte("x")); !errors.Is(err, archive.ErrInvalidKey) {
			t.Errorf("Put(%q) = %v, want ErrInvalidKey", key, err)
		}
		body, err := s.Open(c, key)
		if err == nil {
			body.Close()
		}
		if !errors.Is(err, archive.ErrInvalidKey) {
			t.Errorf("Open(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
	if got := keys(t, c, s, "", ""); len(got) != 0 {
		t.Errorf("invalid keys stored objects: %q", got)
	}
}

func testEndedContext(t *testing.T, s archive.Store) {
	live := ctx(t)
	put(t, live, s, "x/there", []byte("x"))
	c, cancel := context.WithCancel(live)
	cancel()
	if err := s.Put(c, "x/canceled", []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a canceled context = %v, want context.Canceled", err)
	}
	if diff := cmp.Diff([]string{"x/there"}, keys(t, live, s, "", "")); diff != "" {
		t.Errorf("objects after a canceled Put (-want +got):\n%s", diff)
	}
	if err := s.List(c, "", "", func(archive.Object) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("List with a canceled context = %v, want context.Canceled", err)
	}
	body, err := s.Open(c, "x/there")
	if err == nil {
		body.Close()
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a canceled context = %v, want context.Canceled", err)
	}
	expired, cancel2 := context.WithDeadline(live, time.Now().Add(-time.Second))
	defer cancel2()
	if err := s.Put(expired, "x/late", []byte("x")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Put past its deadline = %v, want context.DeadlineExceeded", err)
	}
}

func testCancelDuringList(t *testing.T, s archive.Store) {
	live := ctx(t)
	for i := range 5 {
		put(t, live, s, fmt.Sprintf("x/%d", i), []byte("x"))
	}
	c, cancel := context.WithCancel(live)
	defer cancel()
	calls := 0
	err := s.List(c, "", "", func(archive.Object) error {
		calls++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("List canceled in its first callback = %v after %d calls, want context.Canceled after 1", err, calls)
	}
}

func testConcurrentPuts(t *testing.T, s archive.Store) {
	c := ctx(t)
	const writers, each = 6, 5
	var want []string
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		for i := range each {
			key := fmt.Sprintf("events/2026/11/27/04/w%d-%d.gz", w, i)
			want = append(want, key)
			wg.Go(func() { errs <- s.Put(c, key, []byte(key)) })
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Put: %v", err)
		}
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, keys(t, c, s, "events/", "")); diff != "" {
		t.Errorf("List after concurrent Puts (-want +got):\n%s", diff)
	}
	for _, k := range want {
		if got := read(t, c, s, k); string(got) != k {
			t.Errorf("Open(%s) = %q", k, got)
		}
	}
}

// versionBody is the body of version v: a header naming v, then bytes no
// other version has, so a reader can tell a whole object from a part or a
// mix of two.
func versionBody(v uint64, size int) []byte {
	b := fmt.Appendf(make([]byte, 0, size), "version %08d\n", v)
	src := rand.NewChaCha8([32]byte{byte(v), byte(v >> 8), byte(v >> 16), 1})
	tail := make([]byte, size-len(b))
	_, _ = src.Read(tail)
	return append(b, tail...)
}

func checkBody(got []byte, size int) error {
	var v uint64
	if _, err := fmt.Sscanf(string(got[:min(len(got), 17)]), "version %08d\n", &v); err != nil {
		return fmt.Errorf("%d bytes without a version header", len(got))
	}
	if len(got) != size {
		return fmt.Errorf("version %d: %d bytes, want %d: a partial object", v, len(got), size)
	}
	if !bytes.Equal(got, versionBody(v, size)) {
		return fmt.Errorf("version %d: bytes differ from the version's: a torn object", v)
	}
	return nil
}

func testAtomicity(t *testing.T, s archive.Store) {
	c := ctx(t)
	const size = 2 << 20
	versions := 10
	if short.On(t) {
		versions = 4 // 16 MiB written instead of 40, the same checks
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	wg.Go(func() {
		defer done.Store(true)
		for v := range uint64(versions) {
			body := versionBody(v, size)
			if err := s.Put(c, fmt.Sprintf("x/new-%02d", v), body); err != nil {
				t.Errorf("Put new object %d: %v", v, err)
				return
			}
			if err := s.Put(c, "x/replaced", body); err != nil {
				t.Errorf("Put replacement %d: %v", v, err)
				return
			}
		}
	})
	for range 2 {
		wg.Go(func() {
			for !done.Load() && c.Err() == nil {
				err := s.List(c, "x/", "", func(o archive.Object) error {
					body, err := s.Open(c, o.Key)
					if errors.Is(err, archive.ErrNotFound) {
						return nil
					}
					if err != nil {
						return err
					}
					defer body.Close()
					got, err := io.ReadAll(body)
					if err != nil {
						return fmt.Errorf("read %s: %w", o.Key, err)
					}
					reads.Add(1)
					if err := checkBody(got, size); err != nil {
						return fmt.Errorf("%s: %w", o.Key, err)
					}
					return nil
				})
				if err != nil {
					t.Errorf("reading while writing: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if reads.Load() == 0 {
		t.Errorf("the readers read no object while the writer wrote")
	}
	t.Logf("%d objects read whole while %d were written", reads.Load(), 2*versions)
	if got := read(t, c, s, "x/replaced"); checkBody(got, size) != nil || !bytes.Equal(got, versionBody(uint64(versions-1), size)) {
		t.Errorf("the replaced object is not the last version")
	}
}

func testBufferAndScan(t *testing.T, s archive.Store) {
	c := ctx(t)
	start := time.Date(2026, 11, 27, 4, 50, 0, 0, time.UTC)
	buf, err := archive.NewBuffer(s, archive.BufferOptions{Name: "contract", MaxBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	var want []archive.Record
	var flushed []archive.Flushed
	for i := range 120 {
		rec := archive.Record{
			ShardID:        fmt.Sprintf("shardId-00000000000%d", i%3),
			SequenceNumber: fmt.Sprint(100 + i),
			PartitionKey:   fmt.Sprintf("movie-%d", i%10),
			ArrivalTime:    start.Add(time.Duration(i) * 30 * time.Second), // 04:50 to 05:49:30
			Data:           fmt.Appendf(nil, `{"i":%d,"pad":"%s"}`, i, strings.Repeat("p", 100)),
		}
		if i%17 == 0 {
			rec.Data = []byte{0xff, byte(i)} // poison: not JSON
		}
		want = append(want, rec)
		full, err := buf.Add(rec)
		if err != nil {
			t.Fatalf("Add: %v", err)
		}
		if full {
			f, err := buf.Flush(c)
			if err != nil {
				t.Fatalf("Flush: %v", err)
			}
			flushed = append(flushed, f)
		}
	}
	f, err := buf.Flush(c)
	if err != nil {
		t.Fatalf("last Flush: %v", err)
	}
	flushed = append(flushed, f)
	n := 0
	for _, f := range flushed {
		n += f.Records
		if _, ok := archive.KeyHour(f.Key); !ok {
			t.Errorf("object key %s is not in an hour prefix", f.Key)
		}
	}
	if n != len(want) || len(flushed) < 3 {
		t.Fatalf("%d objects holding %d records, want several holding %d", len(flushed), n, len(want))
	}

	var got []archive.Record
	var last archive.Progress
	err = archive.Scan(c, s, archive.ScanOptions{Progress: func(p archive.Progress) { last = p }}, func(r archive.Record) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Scan of everything (-want +got):\n%s", diff)
	}
	if last.Objects != len(flushed) || last.Matched != int64(len(want)) {
		t.Errorf("last progress %+v, want %d objects and %d records", last, len(flushed), len(want))
	}

	since, until := start.Add(20*time.Minute), start.Add(40*time.Minute) // 05:10 to 05:30
	got = nil
	err = archive.Scan(c, s, archive.ScanOptions{Since: since, Until: until}, func(r archive.Record) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatalf("bounded Scan: %v", err)
	}
	var wantRange []archive.Record
	for _, r := range want {
		if !r.ArrivalTime.Before(since) && r.ArrivalTime.Before(until) {
			wantRange = append(wantRange, r)
		}
	}
	if diff := cmp.Diff(wantRange, got); diff != "" {
		t.Errorf("Scan of [05:10, 05:30) (-want +got):\n%s", diff)
	}
}
