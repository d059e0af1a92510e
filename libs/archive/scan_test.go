package archive_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
)

// putObject stores recs as one gzip object named for hour h.
func putObject(t *testing.T, s archive.Store, h time.Time, unique string, recs ...archive.Record) string {
	t.Helper()
	var lines []byte
	for _, r := range recs {
		var err error
		if lines, err = archive.AppendLine(lines, r); err != nil {
			t.Fatal(err)
		}
	}
	key := archive.ObjectKey("w", h, unique)
	if err := s.Put(t.Context(), key, gzipBytes(t, lines)); err != nil {
		t.Fatal(err)
	}
	return key
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func collect(t *testing.T, s archive.Reader, o archive.ScanOptions) ([]string, error) {
	t.Helper()
	var seqs []string
	err := archive.Scan(t.Context(), s, o, func(r archive.Record) error {
		seqs = append(seqs, r.SequenceNumber)
		return nil
	})
	return seqs, err
}

// TestScanBoundsReadTheSkew: an object's hour is Firehose's, not every
// record's, so a bounded scan reads an hour more on each side and keeps
// records by their own arrival time — and reads no more than that.
func TestScanBoundsReadTheSkew(t *testing.T) {
	s := newMemStore()
	hour := func(h int) time.Time { return time.Date(2026, 11, 27, h, 0, 0, 0, time.UTC) }
	at := func(h, m int) time.Time { return hour(h).Add(time.Duration(m) * time.Minute) }
	k02 := putObject(t, s, at(2, 59), "a", shardRec(0, "1", at(2, 59), "{}"))
	k04 := putObject(t, s, at(4, 50), "b", shardRec(0, "2", at(4, 50), "{}"), shardRec(0, "3", at(5, 10), "{}")) // delivered early in hour 04
	k05 := putObject(t, s, at(5, 0), "c", shardRec(0, "4", at(5, 0), "{}"), shardRec(0, "5", at(5, 29), "{}"), shardRec(0, "6", at(5, 30), "{}"))
	k06 := putObject(t, s, at(6, 40), "d", shardRec(1, "7", at(5, 15), "{}")) // Firehose caught up late, in hour 06
	k07 := putObject(t, s, at(7, 0), "e", shardRec(1, "8", at(5, 20), "{}"))  // later than the skew: not found
	_ = putObject(t, s, at(8, 0), "f", shardRec(1, "9", at(8, 0), "{}"))

	tests := []struct {
		name   string
		o      archive.ScanOptions
		want   []string
		opened []string
	}{
		{"unbounded reads everything", archive.ScanOptions{},
			[]string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}, nil},
		{"[05:00, 05:30) reads 04 to 06", archive.ScanOptions{Since: at(5, 0), Until: at(5, 30)},
			[]string{"3", "4", "5", "7"}, []string{k04, k05, k06}},
		{"a wider skew finds the late one", archive.ScanOptions{Since: at(5, 0), Until: at(5, 30), Skew: 2 * time.Hour},
			[]string{"3", "4", "5", "7", "8"}, []string{k04, k05, k06, k07}},
		{"no skew reads only the bounds' hours", archive.ScanOptions{Since: at(5, 0), Until: at(5, 30), Skew: -1},
			[]string{"4", "5"}, []string{k05}},
		{"since only", archive.ScanOptions{Since: at(7, 30)}, []string{"9"}, nil},
		{"until only", archive.ScanOptions{Until: at(4, 0)}, []string{"1"}, []string{k02, k04}},
		{"until on the hour stops before the next skew hour", archive.ScanOptions{Since: at(2, 0), Until: at(3, 0)},
			[]string{"1"}, []string{k02}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.takeOpened()
			got, err := collect(t, s, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if opened := s.takeOpened(); tt.opened != nil {
				if diff := cmp.Diff(tt.opened, opened); diff != "" {
					t.Errorf("objects opened (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestScanResumesAfterTheLastObject(t *testing.T) {
	s := newMemStore()
	h := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	for i, u := range []string{"a", "b", "c"} {
		putObject(t, s, h.Add(time.Duration(i)*time.Minute), u,
			shardRec(0, string(rune('1'+2*i)), h, "{}"), shardRec(0, string(rune('2'+2*i)), h, "{}"))
	}
	stop := errors.New("interrupted")
	var first []string
	var last archive.Progress
	err := archive.Scan(t.Context(), s, archive.ScanOptions{Progress: func(p archive.Progress) { last = p }}, func(r archive.Record) error {
		if r.SequenceNumber == "3" {
			return stop
		}
		first = append(first, r.SequenceNumber)
		return nil
	})
	if err != stop {
		t.Fatalf("Scan = %v, want fn's error as it is", err)
	}
	if last.Objects != 1 || last.Records != 2 || last.Matched != 2 || last.Key == "" || last.Bytes == 0 {
		t.Errorf("progress at the interruption = %+v, want one object of two records done", last)
	}
	rest, err := collect(t, s, archive.ScanOptions{StartAfter: last.Key})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"1", "2", "3", "4", "5", "6"}, append(first, rest...)); diff != "" {
		t.Errorf("first run + resumed run (-want +got):\n%s", diff)
	}
}

func TestScanReadsPlainAndEmptyObjects(t *testing.T) {
	s := newMemStore()
	ctx := t.Context()
	line, _ := archive.Encode(shardRec(0, "1", arrival, `{"plain":true}`))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Put(ctx, "events/2026/11/27/04/a-plain", line))
	must(s.Put(ctx, "events/2026/11/27/04/b-empty.gz", nil))
	must(s.Put(ctx, "events/2026/11/27/04/c-gzip-empty.gz", gzipBytes(t, nil)))
	must(s.Put(ctx, "errors/processing-failed/2026/11/27/04/x", []byte("not lines")))
	got, err := collect(t, s, archive.ScanOptions{})
	if err != nil || !cmp.Equal(got, []string{"1"}) {
		t.Errorf("Scan = %v, %v; want the plain object's one record", got, err)
	}
}

func TestScanErrorsNameTheObject(t *testing.T) {
	good, _ := archive.Encode(shardRec(0, "1", arrival, `{}`))
	tests := []struct {
		name string
		body []byte
		want []string
	}{
		{"bad line", gzipBytes(t, append(append([]byte{}, good...), "{\"oops\n"...)),
			[]string{"read events/2026/11/27/04/x.gz: line 2: invalid archive record"}},
		{"truncated gzip", gzipBytes(t, good)[:20], []string{"read events/2026/11/27/04/x.gz", "unexpected EOF"}},
		{"corrupt gzip", func() []byte {
			b := gzipBytes(t, good)
			b[len(b)-5] ^= 0xff // the length/CRC trailer
			return b
		}(), []string{"read events/2026/11/27/04/x.gz", "gzip: invalid checksum"}},
		{"bad gzip header", []byte{0x1f, 0x8b, 0, 0}, []string{"read events/2026/11/27/04/x.gz: gzip:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newMemStore()
			if err := s.Put(t.Context(), "events/2026/11/27/04/x.gz", tt.body); err != nil {
				t.Fatal(err)
			}
			_, err := collect(t, s, archive.ScanOptions{})
			for _, m := range tt.want {
				if err == nil || !strings.Contains(err.Error(), m) {
					t.Errorf("Scan = %v, want an error saying %q", err, m)
				}
			}
		})
	}
}

func TestScanHonoursTheContext(t *testing.T) {
	s := newMemStore()
	h := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	putObject(t, s, h, "a", shardRec(0, "1", h, "{}"))
	putObject(t, s, h.Add(time.Minute), "b", shardRec(0, "2", h, "{}"))
	ctx, cancel := context.WithCancel(t.Context())
	n := 0
	err := archive.Scan(ctx, s, archive.ScanOptions{}, func(archive.Record) error {
		n++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Errorf("Scan canceled in its first record = %v after %d records, want context.Canceled after 1", err, n)
	}
}

// TestScanMemoryIsBounded scans one object of 24 MiB of lines: read
// whole, it would take 24 MiB of heap and more; streamed, a few.
func TestScanMemoryIsBounded(t *testing.T) {
	const size = 24 << 20
	var body bytes.Buffer
	zw, err := gzip.NewWriterLevel(&body, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	var line []byte
	n := 0
	for raw := 0; raw < size; n++ {
		if line, err = archive.AppendLine(line[:0], event(n)); err != nil {
			t.Fatal(err)
		}
		raw += len(line)
		if _, err := zw.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	s := newMemStore()
	if err := s.Put(t.Context(), "events/2026/11/27/04/big.gz", body.Bytes()); err != nil {
		t.Fatal(err)
	}
	body = bytes.Buffer{}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	seen := 0
	err = archive.Scan(t.Context(), s, archive.ScanOptions{}, func(archive.Record) error {
		if seen++; seen%2000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	if err != nil || seen != n {
		t.Fatalf("Scan = %v after %d records, want %d", err, seen, n)
	}
	if grew := peak - base; grew > 16<<20 {
		t.Errorf("the heap grew by %d MiB while scanning a 24 MiB object: not streamed", grew>>20)
	} else {
		t.Logf("heap grew by at most %.1f MiB scanning %d records (24 MiB of lines)", float64(grew)/(1<<20), n)
	}
}
