package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/archive/dir"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/kinesis"
)

// statusView is the part of GET /_devstack/status the tests read.
type statusView struct {
	Stream struct {
		Shards []struct {
			ShardID            string `json:"shardId"`
			Latest             string `json:"latestSequenceNumber"`
			Checkpoint         string `json:"checkpoint"`
			Invocations        int64  `json:"invocations"`
			BatchesDone        int64  `json:"batchesDone"`
			BatchesToOnFailure int64  `json:"batchesToOnFailure"`
		} `json:"shards"`
	} `json:"stream"`
	OnFailureQueue struct {
		Visible int `json:"visible"`
	} `json:"onFailureQueue"`
	Archive struct {
		Location   string `json:"location"`
		IntervalMs int64  `json:"intervalMs"`
		Objects    int64  `json:"objects"`
		Records    int64  `json:"records"`
		LastObject *struct {
			Key string `json:"key"`
		} `json:"lastObject"`
		Lost      int64  `json:"lost"`
		LastError string `json:"lastError"`
		Shards    []struct {
			ShardID      string `json:"shardId"`
			ArchivedUpTo string `json:"archivedUpTo"`
			LagMs        int64  `json:"lagMs"`
		} `json:"shards"`
	} `json:"archive"`
	Storage struct {
		OK      bool       `json:"ok"`
		DataDir string     `json:"dataDir"`
		Error   string     `json:"error"`
		Since   *time.Time `json:"since"`
	} `json:"storage"`
	Schedule scheduleStatus `json:"schedule"`
}

func (c client) status() statusView {
	c.t.Helper()
	var st statusView
	c.json("GET", "/_devstack/status", nil, http.StatusOK, &st)
	return st
}

// waitArchived waits until the archiver has every record of the stream in
// the archive: each shard archived up to its latest record.
func (c client) waitArchived() statusView {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := c.status()
		latest := map[string]string{}
		for _, sh := range st.Stream.Shards {
			latest[sh.ShardID] = sh.Latest
		}
		done := len(st.Archive.Shards) > 0
		for _, sh := range st.Archive.Shards {
			done = done && sh.ArchivedUpTo == latest[sh.ShardID]
		}
		if done {
			return st
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the archive did not catch up with the stream: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// streamRecords returns every record on the stream of a stopped devstack's
// data directory, as the archive keeps them, shard by shard in order.
func streamRecords(t *testing.T, dataDir, suffix string, shards int) []archive.Record {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dataDir, "stream.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := kinesis.Open(db, kinesis.Options{Name: contract.Name(contract.StreamBase, suffix), Shards: shards})
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.ReadAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return asArchived(all)
}

func asArchived(recs []stream.Stored) []archive.Record {
	out := make([]archive.Record, len(recs))
	for i, r := range recs {
		out[i] = archive.Record{ShardID: r.ShardID, SequenceNumber: r.SequenceNumber, PartitionKey: r.PartitionKey,
			ArrivalTime: r.ArrivalTime.UTC(), Data: r.Data}
	}
	return out
}

// archivedRecords reads every record of an archive, shard by shard in
// sequence order, each once: a record archived twice (allowed after a
// crash) must be the same record both times. It returns how many
// duplicates there were.
func archivedRecords(t *testing.T, r archive.Reader) ([]archive.Record, int) {
	t.Helper()
	type place struct{ shard, seq string }
	seen := map[place]archive.Record{}
	dupes := 0
	err := archive.Scan(context.Background(), r, archive.ScanOptions{}, func(rec archive.Record) error {
		p := place{rec.ShardID, rec.SequenceNumber}
		if prev, ok := seen[p]; ok {
			dupes++
			if diff := cmp.Diff(prev, rec); diff != "" {
				t.Errorf("record %s/%s archived twice, differently (-first +second):\n%s", p.shard, p.seq, diff)
			}
			return nil
		}
		seen[p] = rec
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]archive.Record, 0, len(seen))
	for _, rec := range seen {
		out = append(out, rec)
	}
	slices.SortFunc(out, func(a, b archive.Record) int {
		if a.ShardID != b.ShardID {
			return cmpString(a.ShardID, b.ShardID)
		}
		return stream.CompareSeq(a.SequenceNumber, b.SequenceNumber)
	})
	return out, dupes
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// checkArchive fails t unless the archive of a stopped devstack's data
// directory holds every record of its stream, byte for byte, with its
// shard, sequence number, partition key and arrival time, and nothing
// else. It returns the number of records and of duplicates.
func checkArchive(t *testing.T, dataDir, suffix string, shards int) (records, dupes int) {
	t.Helper()
	want := streamRecords(t, dataDir, suffix, shards)
	store, err := dir.New(filepath.Join(dataDir, "archive"))
	if err != nil {
		t.Fatal(err)
	}
	got, dupes := archivedRecords(t, store)
	// cmp.Diff only on a mismatch: on thousands of records it costs a
	// second of CPU even when they are equal.
	if !slices.EqualFunc(want, got, sameRecord) {
		diff := cmp.Diff(want, got)
		t.Errorf("archive differs from the stream (-stream +archive):\n%s", diff)
	}
	return len(want), dupes
}

// sameRecord reports whether a and b are the same record, field by field.
// The conversion below stops the build when archive.Record gains a field
// that sameRecord does not compare.
func sameRecord(a, b archive.Record) bool {
	_ = struct {
		ShardID, SequenceNumber string
		SubsequenceNumber       int64
		PartitionKey            string
		ArrivalTime             time.Time
		Data                    []byte
	}(a)
	return a.ShardID == b.ShardID && a.SequenceNumber == b.SequenceNumber &&
		a.SubsequenceNumber == b.SubsequenceNumber && a.PartitionKey == b.PartitionKey &&
		a.ArrivalTime.Equal(b.ArrivalTime) && bytes.Equal(a.Data, b.Data)
}

// lockedBuffer collects logs written concurrently.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
