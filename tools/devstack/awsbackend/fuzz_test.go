package awsbackend

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// FuzzMessage feeds the system attributes of a received SQS message to
// message. It fails with an error naming the message, or maps them
// exactly: a non-negative receive count and times from the Unix epoch to
// year 9999, which the status page can still write as JSON.
func FuzzMessage(f *testing.F) {
	const all = 7 // bit set of the attributes present
	f.Add("m-1", "1", "1767225600000", "1767225600250", uint8(all))
	f.Add("m-2", "0", "0", "0", uint8(all))
	f.Add("m-3", "3", "1767225600000", "1767225600000", uint8(5))
	f.Add("m-4", "-1", "1767225600000", "1767225600000", uint8(all))
	f.Add("m-5", "1", "1.7e12", "", uint8(all))
	f.Add("m-6", "2147483647", "253402300799999", "253402300800000", uint8(all))
	f.Add("m-7", "2147483648", "9223372036854775807", "0", uint8(all))
	f.Add("", " 1", "+1767225600000", "0x10", uint8(0))
	visibleAt := time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC)
	f.Fuzz(func(t *testing.T, id, count, sent, first string, present uint8) {
		names := []types.MessageSystemAttributeName{
			types.MessageSystemAttributeNameApproximateReceiveCount,
			types.MessageSystemAttributeNameSentTimestamp,
			types.MessageSystemAttributeNameApproximateFirstReceiveTimestamp,
		}
		values := []string{count, sent, first}
		attrs := map[string]string{}
		for i, name := range names {
			if present&(1<<i) != 0 {
				attrs[string(name)] = values[i]
			}
		}
		m := types.Message{MessageId: aws.String(id), Body: aws.String("body"), ReceiptHandle: aws.String("rh"), Attributes: attrs}
		msg, err := message(m, visibleAt)
		if err != nil {
			if !strings.Contains(err.Error(), id) {
				t.Errorf("error %q does not name message %q", err, id)
			}
			if len(attrs) == len(names) && allSane(values) {
				t.Errorf("attributes %q refused: %v", attrs, err)
			}
			return
		}
		if len(attrs) != len(names) {
			t.Fatalf("attributes %q: accepted with one missing", attrs)
		}
		if msg.ID != id || msg.Body != "body" || msg.ReceiptHandle != "rh" || !msg.VisibleAt.Equal(visibleAt) {
			t.Errorf("message %+v: id, body, receipt handle or visibility not carried over", msg)
		}
		n, _ := strconv.ParseInt(count, 10, 64)
		if msg.ReceiveCount < 0 || int64(msg.ReceiveCount) != n {
			t.Errorf("receive count %q read as %d", count, msg.ReceiveCount)
		}
		for _, at := range []struct {
			raw string
			got time.Time
		}{{sent, msg.SentAt}, {first, msg.FirstReceiveAt}} {
			ms, _ := strconv.ParseInt(at.raw, 10, 64)
			if at.got.Before(time.Unix(0, 0)) || at.got.Year() > 9999 || at.got.UnixMilli() != ms {
				t.Errorf("timestamp %q read as %v; want that many milliseconds since the epoch, before year 10000", at.raw, at.got)
			}
		}
		if _, err := json.Marshal(msg); err != nil {
			t.Errorf("message %+v does not encode as JSON: %v", msg, err)
		}
	})
}

// allSane reports whether the count and the two timestamps are plain
// non-negative decimals, the count an int32, the timestamps before year
// 10000 (9999-12-31T23:59:59.999Z is 253402300799999): what SQS sends.
func allSane(values []string) bool {
	limits := []int64{math.MaxInt32, 253402300799999, 253402300799999}
	for i, v := range values {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > limits[i] {
			return false
		}
	}
	return true
}
