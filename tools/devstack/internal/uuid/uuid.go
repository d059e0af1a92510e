// Package uuid makes the random (version 4) UUIDs devstack uses as Lambda
// request ids and SQS message ids.
package uuid

import (
	"crypto/rand"
	"encoding/hex"
)

// New returns a random RFC 9562 version 4 UUID in its text form.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
