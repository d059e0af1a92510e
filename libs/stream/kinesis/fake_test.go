package kinesis_test

import (
	"context"
	"crypto/md5"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	kinesisadapter "github.com/scrape-pipeline/scrape-pipeline/libs/stream/kinesis"
)

// fake is an in-memory Kinesis with the API's observable behaviour, plus
// fault injection: refused entries, failed calls, throttled reads, expired
// iterators, trimming.
type fake struct {
	mu     sync.Mutex
	arn    string
	shards [][]stored // index = shard number
	seq    int
	// refuse counts, per partition key, the entries still to refuse.
	refuse map[string]int
	// callErr, if set, answers PutRecords call n (1-based) instead.
	callErr func(n int) error
	// calls records the partition keys of each PutRecords call.
	calls [][]string
	// bytes records the size of each call.
	bytes []int
	// pageSize is the most records one GetRecords returns.
	pageSize int
	// throttleReads and expireReads fail the next GetRecords calls.
	throttleReads, expireReads int
	getRecordsCalls            int
}

type stored struct {
	seq  string
	key  string
	data []byte
	at   time.Time
}

func newFake(shards int) *fake {
	return &fake{
		arn:      "arn:aws:kinesis:eu-west-2:000000000000:stream/fake",
		shards:   make([][]stored, shards),
		refuse:   map[string]int{},
		pageSize: 7,
	}
}

var _ kinesisadapter.API = (*fake)(nil)

func shardID(n int) string { return fmt.Sprintf("shardId-%012d", n) }

func (f *fake) shardOf(key string) int {
	h := md5.Sum([]byte(key))
	return int(h[0]) % len(f.shards)
}

func (f *fake) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if aws.ToString(in.StreamName) == "" && aws.ToString(in.StreamARN) == "" {
		return nil, &types.InvalidArgumentException{Message: aws.String("no stream")}
	}
	keys := make([]string, len(in.Records))
	size := 0
	for i, e := range in.Records {
		keys[i] = aws.ToString(e.PartitionKey)
		size += len(e.Data) + len(keys[i])
	}
	f.calls = append(f.calls, keys)
	f.bytes = append(f.bytes, size)
	if len(in.Records) > 500 || size > 5<<20 {
		return nil, &types.InvalidArgumentException{Message: aws.String("batch over the limits")}
	}
	if f.callErr != nil {
		if err := f.callErr(len(f.calls)); err != nil {
			return nil, err
		}
	}
	out := &kinesis.PutRecordsOutput{Records: make([]types.PutRecordsResultEntry, len(in.Records))}
	for i, e := range in.Records {
		key := keys[i]
		if f.refuse[key] > 0 {
			f.refuse[key]--
			out.Records[i] = types.PutRecordsResultEntry{
				ErrorCode:    aws.String("ProvisionedThroughputExceededException"),
				ErrorMessage: aws.String("Rate exceeded for shard"),
			}
			out.FailedRecordCount = aws.Int32(aws.ToInt32(out.FailedRecordCount) + 1)
			continue
		}
		f.seq++
		sh := f.shardOf(key)
		// 56 digits, like Kinesis's, with the shard number inside.
		seq := fmt.Sprintf("4959%02d%050d", sh, f.seq)
		f.shards[sh] = append(f.shards[sh], stored{seq: seq, key: key, data: append([]byte(nil), e.Data...), at: time.Now()})
		out.Records[i] = types.PutRecordsResultEntry{SequenceNumber: aws.String(seq), ShardId: aws.String(shardID(sh))}
	}
	return out, nil
}

func (f *fake) shardNum(id string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "shardId-"))
	if err != nil || n < 0 || n >= len(f.shards) || id != shardID(n) {
		return 0, false
	}
	return n, true
}

func (f *fake) GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, _ ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if aws.ToString(in.StreamARN) != f.arn {
		return nil, &types.ResourceNotFoundException{Message: aws.String("Stream " + aws.ToString(in.StreamARN) + " not found")}
	}
	sh, ok := f.shardNum(aws.ToString(in.ShardId))
	if !ok {
		return nil, &types.ResourceNotFoundException{Message: aws.String("Shard " + aws.ToString(in.ShardId) + " does not exist")}
	}
	recs := f.shards[sh]
	pos := 0
	switch in.ShardIteratorType {
	case types.ShardIteratorTypeTrimHorizon:
	case types.ShardIteratorTypeAtSequenceNumber, types.ShardIteratorTypeAfterSequenceNumber:
		seq := aws.ToString(in.StartingSequenceNumber)
		for pos < len(recs) && stream.CompareSeq(recs[pos].seq, seq) < 0 {
			pos++
		}
		if in.ShardIteratorType == types.ShardIteratorTypeAfterSequenceNumber && pos < len(recs) && recs[pos].seq == seq {
			pos++
		}
	default:
		return nil, &types.InvalidArgumentException{Message: aws.String("unsupported iterator type")}
	}
	// The iterator names a position by sequence number so that trimming
	// does not shift it.
	after := ""
	if pos > 0 {
		after = recs[pos-1].seq
	}
	return &kinesis.GetShardIteratorOutput{ShardIterator: aws.String(fmt.Sprintf("%d|%s", sh, after))}, nil
}

func (f *fake) GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.getRecordsCalls++
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if f.throttleReads > 0 {
		f.throttleReads--
		return nil, &types.ProvisionedThroughputExceededException{Message: aws.String("Rate exceeded")}
	}
	if f.expireReads > 0 {
		f.expireReads--
		return nil, &types.ExpiredIteratorException{Message: aws.String("Iterator expired")}
	}
	shStr, after, ok := strings.Cut(aws.ToString(in.ShardIterator), "|")
	sh, err := strconv.Atoi(shStr)
	if !ok || err != nil || sh < 0 || sh >= len(f.shards) {
		return nil, &types.InvalidArgumentException{Message: aws.String("bad iterator")}
	}
	recs := f.shards[sh]
	pos := 0
	for after != "" && pos < len(recs) && stream.CompareSeq(recs[pos].seq, after) <= 0 {
		pos++
	}
	end := min(pos+f.pageSize, len(recs))
	out := &kinesis.GetRecordsOutput{MillisBehindLatest: aws.Int64(int64(len(recs) - end))}
	for _, r := range recs[pos:end] {
		out.Records = append(out.Records, types.Record{
			SequenceNumber:              aws.String(r.seq),
			PartitionKey:                aws.String(r.key),
			Data:                        r.data,
			ApproximateArrivalTimestamp: aws.Time(r.at),
		})
	}
	next := after
	if end > pos {
		next = recs[end-1].seq
	}
	out.NextShardIterator = aws.String(fmt.Sprintf("%d|%s", sh, next))
	return out, nil
}

// readAll returns every record, shard by shard.
func (f *fake) readAll(context.Context) ([]stream.Stored, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []stream.Stored
	for sh, recs := range f.shards {
		for _, r := range recs {
			all = append(all, stream.Stored{ShardID: shardID(sh), SequenceNumber: r.seq, PartitionKey: r.key, Data: r.data, ArrivalTime: r.at})
		}
	}
	return all, nil
}

func (f *fake) refuseKey(key string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refuse[key] += n
}

func (f *fake) trim(id, seq string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sh, ok := f.shardNum(id)
	if !ok {
		return
	}
	recs := f.shards[sh]
	for len(recs) > 0 && stream.CompareSeq(recs[0].seq, seq) < 0 {
		recs = recs[1:]
	}
	f.shards[sh] = recs
}

func (f *fake) callKeys() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]string(nil), f.calls...)
}
