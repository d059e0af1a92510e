package query

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
)

// Issue 10's load: 150 failed records of 1 MiB each (the store keeps
// store.MaxPayload bytes of each), read by 200 concurrent GET
// /errors?limit=100.
const (
	bigErrors       = 150
	bigRecordSize   = 1 << 20
	loadConcurrency = 200
	loadTarget      = "/errors?limit=100"
)

// seedBigErrors stores n error items whose records were bigRecordSize
// bytes, each with payloadLen bytes kept.
func seedBigErrors(tb testing.TB, st store.Store, n, payloadLen int) {
	tb.Helper()
	payload := make([]byte, payloadLen)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Second)
		seq := strconv.Itoa(i)
		e := store.ErrorItem{ID: store.ErrorID(store.StageDecode, shard, seq, ""), Stage: store.StageDecode, Reason: "invalid character",
			Payload: payload, PayloadSize: bigRecordSize, ShardID: shard, SequenceNumber: seq, Attempts: 1,
			FirstFailure: at, LastFailure: at, ExpiresAt: time.Now().Add(24 * time.Hour).Truncate(time.Second)}
		if err := st.PutError(context.Background(), e); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestErrorsListingCostsWhatItShows checks that what GET /errors?limit=100
// allocates does not grow with the size of the payloads it previews: the
// listing reads previews, never whole payloads. (Reading 100 whole
// payloads of store.MaxPayload bytes would allocate 30 MB.)
func TestErrorsListingCostsWhatItShows(t *testing.T) {
	perRequest := func(payloadLen int) uint64 {
		st := embedded.NewMemory()
		seedBigErrors(t, st, bigErrors, payloadLen)
		h := newTestHandler(t, st)
		r := httptest.NewRequest("GET", loadTarget, nil)
		w := &discard{h: http.Header{}}
		h.ServeHTTP(w, r) // warm the pools
		const n = 10
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range n {
			clear(w.h)
			h.ServeHTTP(w, r)
		}
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / n
	}
	small := perRequest(store.PreviewBytes + 1) // as long a preview as any
	big := perRequest(store.MaxPayload)
	t.Logf("GET %s allocates %d bytes with payloads of %d bytes, %d with payloads of %d", loadTarget,
		small, store.PreviewBytes+1, big, store.MaxPayload)
	const slack = 64 << 10
	if big > small+slack {
		t.Errorf("GET %s allocates %d bytes with payloads of %d bytes, %d with %d: more than %d bytes apart",
			loadTarget, big, store.MaxPayload, small, store.PreviewBytes+1, slack)
	}
}

// BenchmarkErrorsUnderLoad is issue 10's measurement: on the embedded
// bbolt store (devstack's) holding 150 records of 1 MiB, each op is 200
// concurrent GET /errors?limit=100 through the handler. Besides the time
// it reports how much memory the load added at its peak, over what the
// process held before the first op (after a GC): peak-heap-MB (live and
// not yet collected heap objects) and peak-rss-MB (the process's resident
// set, what devstack's figure measured). Run it with -benchtime=Nx and
// compare with benchstat.
func BenchmarkErrorsUnderLoad(b *testing.B) {
	st, err := embedded.Open(filepath.Join(b.TempDir(), "tables.db"), embedded.WithNoSync())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	seedBigErrors(b, st, bigErrors, store.MaxPayload)
	h, err := New(st, Options{CursorKey: testKey, Logger: quietLog})
	if err != nil {
		b.Fatal(err)
	}
	serveOne := func() {
		w := &discard{h: http.Header{}}
		h.ServeHTTP(w, httptest.NewRequest("GET", loadTarget, nil))
	}
	serveOne()

	runtime.GC()
	debug.FreeOSMemory()
	heap0, rss0 := heapObjects(), residentSet()
	var peakHeap, peakRSS atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // sample the memory until stop
		defer close(sampled)
		tick := time.NewTicker(200 * time.Microsecond)
		defer tick.Stop()
		for {
			peakHeap.Store(max(peakHeap.Load(), heapObjects()))
			peakRSS.Store(max(peakRSS.Load(), residentSet()))
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		var start, done sync.WaitGroup
		start.Add(1)
		for range loadConcurrency {
			done.Go(func() {
				start.Wait()
				serveOne()
			})
		}
		start.Done()
		done.Wait()
	}
	close(stop)
	<-sampled
	const mb = 1e6
	b.ReportMetric(float64(peakHeap.Load()-min(heap0, peakHeap.Load()))/mb, "peak-heap-MB")
	if rss0 > 0 {
		b.ReportMetric(float64(peakRSS.Load()-min(rss0, peakRSS.Load()))/mb, "peak-rss-MB")
	}
}

// heapObjects is the bytes of heap objects, live or not yet swept.
func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// residentSet is the process's resident set size in bytes (Linux), or 0.
func residentSet() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}
