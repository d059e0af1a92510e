package archive_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/archive/dir"
)

func ExampleEncode() {
	at := time.Date(2026, 11, 27, 4, 20, 0, 123_000_000, time.UTC)
	for _, data := range []string{`{"type":"movie.observed","subject":"heat-1995"}`, "\xffpoison"} {
		line, err := archive.Encode(archive.Record{
			ShardID: "shardId-000000000001", SequenceNumber: "4965901", PartitionKey: "heat-1995",
			ArrivalTime: at, Data: []byte(data),
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Print(string(line))
	}
	// Output:
	// {"shardId":"shardId-000000000001","sequenceNumber":"4965901","partitionKey":"heat-1995","arrivalTime":"2026-11-27T04:20:00.123Z","data":{"type":"movie.observed","subject":"heat-1995"}}
	// {"shardId":"shardId-000000000001","sequenceNumber":"4965901","partitionKey":"heat-1995","arrivalTime":"2026-11-27T04:20:00.123Z","dataBase64":"/3BvaXNvbg=="}
}

// A consumer (devstack's archiver) adds the records it reads, flushes when
// the Buffer is full or due, and checkpoints each shard to what the object
// made durable. Replay then scans a time range.
func ExampleBuffer() {
	root, err := os.MkdirTemp("", "archive")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(root)
	store, err := dir.New(root)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	buf, err := archive.NewBuffer(store, archive.BufferOptions{Name: "devstack", Unique: func() string { return "0001" }})
	if err != nil {
		fmt.Println(err)
		return
	}
	at := time.Date(2026, 11, 27, 4, 20, 0, 0, time.UTC)
	for i, shard := range []string{"shardId-000000000000", "shardId-000000000001", "shardId-000000000000"} {
		rec := archive.Record{ShardID: shard, SequenceNumber: fmt.Sprint(100 + i), PartitionKey: "heat-1995",
			ArrivalTime: at.Add(time.Duration(i) * time.Second), Data: fmt.Appendf(nil, `{"n":%d}`, i)}
		if _, err := buf.Add(rec); err != nil {
			fmt.Println(err)
			return
		}
	}
	f, err := buf.Flush(ctx) // on a ticker: if buf.Due() { … }
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.Key)
	fmt.Println("checkpoint", f.Last)

	err = archive.Scan(ctx, store, archive.ScanOptions{Since: at, Until: at.Add(2 * time.Second)}, func(r archive.Record) error {
		fmt.Println(r.ShardID, r.SequenceNumber, string(r.Data))
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// events/2026/11/27/04/devstack-2026-11-27-04-20-00-0001.gz
	// checkpoint map[shardId-000000000000:102 shardId-000000000001:101]
	// shardId-000000000000 100 {"n":0}
	// shardId-000000000001 101 {"n":1}
}
