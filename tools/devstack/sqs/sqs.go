// Package sqs is devstack's embedded queue: the semantics of an Amazon SQS
// standard queue that a Lambda event source mapping reads, persisted in
// bbolt. Received messages stay hidden for the visibility timeout and come
// back unless deleted; each receive counts; past the redrive policy's
// maxReceiveCount a message moves to the dead-letter queue; messages older
// than the retention period are dropped. MoveMessages is the dead-letter
// queue redrive that sends them back.
package sqs

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/internal/uuid"
)

// Options configure a queue.
type Options struct {
	Name   string
	Region string
	// Retention is how long a message is kept (default 14 days).
	Retention time.Duration
	// MaxReceiveCount moves a message to DeadLetter once it has been
	// received that many times (0: no redrive policy).
	MaxReceiveCount int
	DeadLetter      *Queue
	Now             func() time.Time
}

// Queue is an embedded SQS queue. Safe for concurrent use.
type Queue struct {
	db     *bolt.DB
	opts   Options
	bucket []byte

	mu     sync.Mutex
	notify chan struct{}
}

// Message is a received message.
type Message struct {
	ID             string    `json:"id"`
	Body           string    `json:"body"`
	SentAt         time.Time `json:"sentAt"`
	ReceiveCount   int       `json:"receiveCount"`
	FirstReceiveAt time.Time `json:"firstReceiveAt,omitzero"`
	VisibleAt      time.Time `json:"visibleAt"`
	// ReceiptHandle identifies this receipt; Delete needs it.
	ReceiptHandle string `json:"-"`
}

// Open opens (creating if needed) the queue opts.Name in db.
func Open(db *bolt.DB, opts Options) (*Queue, error) {
	if opts.Name == "" {
		return nil, errors.New("sqs: queue name required")
	}
	if opts.Retention == 0 {
		opts.Retention = 14 * 24 * time.Hour
	}
	if opts.Region == "" {
		opts.Region = "local"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxReceiveCount > 0 && opts.DeadLetter == nil {
		return nil, errors.New("sqs: MaxReceiveCount needs a dead-letter queue")
	}
	if opts.DeadLetter != nil && opts.DeadLetter.db != db {
		// A message moves to the dead-letter queue in the transaction
		// that takes it off this one, so both must live in one file.
		return nil, errors.New("sqs: the dead-letter queue must be in the same database")
	}
	q := &Queue{db: db, opts: opts, bucket: []byte("sqs:" + opts.Name), notify: make(chan struct{})}
	err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(q.bucket)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqs: open %s: %w", opts.Name, err)
	}
	return q, nil
}

// ARN is the queue's ARN.
func (q *Queue) ARN() string {
	return fmt.Sprintf("arn:aws:sqs:%s:000000000000:%s", q.opts.Region, q.opts.Name)
}

// Name is the queue's name.
func (q *Queue) Name() string { return q.opts.Name }

// Notify returns a channel closed at the next Send.
func (q *Queue) Notify() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.notify
}

// MaxBodySize is SQS's message size limit.
const MaxBodySize = 256 << 10

// Send enqueues body. It is the on-failure destination's port.
func (q *Queue) Send(ctx context.Context, body []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(body) == 0 || len(body) > MaxBodySize {
		return fmt.Errorf("sqs: message of %d bytes: want 1..%d", len(body), MaxBodySize)
	}
	now := q.opts.Now()
	m := Message{ID: uuid.New(), Body: string(body), SentAt: now, VisibleAt: now}
	if err := q.put(m); err != nil {
		return err
	}
	q.wake()
	return nil
}

func (q *Queue) put(m Message) error {
	return q.db.Update(func(tx *bolt.Tx) error { return q.putTx(tx, m) })
}

func (q *Queue) putTx(tx *bolt.Tx, m Message) error {
	v, err := json.Marshal(m)
	if err != nil {
		return err
	}
	b := tx.Bucket(q.bucket)
	n, err := b.NextSequence()
	if err != nil {
		return err
	}
	return b.Put(key(n), v)
}

func key(n uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], n)
	return k[:]
}

// Receive returns up to limit visible messages, oldest first, hiding them for
// visibility. A message past MaxReceiveCount goes to the dead-letter queue
// instead; a message past retention is dropped.
func (q *Queue) Receive(limit int, visibility time.Duration) ([]Message, error) {
	now := q.opts.Now()
	var out []Message
	err := q.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(q.bucket).Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			var m Message
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("sqs: corrupt message: %w", err)
			}
			switch {
			case now.Sub(m.SentAt) > q.opts.Retention:
				if err := c.Delete(); err != nil {
					return err
				}
				continue
			case m.VisibleAt.After(now):
				continue
			case q.opts.MaxReceiveCount > 0 && m.ReceiveCount >= q.opts.MaxReceiveCount:
				// Moved in this very transaction: never in neither queue.
				m.VisibleAt, m.ReceiveCount, m.FirstReceiveAt = now, 0, time.Time{}
				if err := q.opts.DeadLetter.putTx(tx, m); err != nil {
					return fmt.Errorf("sqs: move %s to the dead-letter queue: %w", m.ID, err)
				}
				if err := c.Delete(); err != nil {
					return err
				}
				continue
			}
			m.ReceiveCount++
			if m.FirstReceiveAt.IsZero() {
				m.FirstReceiveAt = now
			}
			m.VisibleAt = now.Add(visibility)
			nv, err := json.Marshal(m)
			if err != nil {
				return err
			}
			if err := tx.Bucket(q.bucket).Put(k, nv); err != nil {
				return err
			}
			m.ReceiptHandle = strconv.FormatUint(binary.BigEndian.Uint64(k), 10) + ":" + m.ID + ":" + strconv.Itoa(m.ReceiveCount)
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ErrStaleReceipt: the receipt handle is not the message's latest receipt
// (it became visible and was received again) or the message is gone.
var ErrStaleReceipt = errors.New("sqs: receipt handle is stale")

// Delete removes the message of receipt handle rh.
func (q *Queue) Delete(rh string) error {
	parts := strings.Split(rh, ":")
	if len(parts) != 3 {
		return fmt.Errorf("sqs: bad receipt handle %q", rh)
	}
	n, err := strconv.ParseUint(parts[0], 10, 64)
	if err != nil {
		return fmt.Errorf("sqs: bad receipt handle %q", rh)
	}
	return q.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(q.bucket)
		v := b.Get(key(n))
		if v == nil {
			return ErrStaleReceipt
		}
		var m Message
		if err := json.Unmarshal(v, &m); err != nil {
			return err
		}
		if m.ID != parts[1] || strconv.Itoa(m.ReceiveCount) != parts[2] {
			return ErrStaleReceipt
		}
		return b.Delete(key(n))
	})
}

// Depth is the number of messages: visible ones and those in flight.
func (q *Queue) Depth() (visible, inFlight int, err error) {
	now := q.opts.Now()
	err = q.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(q.bucket).ForEach(func(_, v []byte) error {
			var m Message
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			if m.VisibleAt.After(now) {
				inFlight++
			} else {
				visible++
			}
			return nil
		})
	})
	return visible, inFlight, err
}

// MoveMessages moves the messages waiting in q, a dead-letter queue, to
// dest (the queue whose redrive policy sent them to q, or any other), as
// Amazon SQS's dead-letter queue redrive (StartMessageMoveTask) does:
// oldest first, each as a new message — a new id, sent now (its retention
// starts again), never received (its receive count starts again from
// zero, so dest's redrive policy gives it every receive anew). It moves
// them in one transaction, so a message is in one queue or the other,
// never in both or neither. Messages in flight in q (received, their
// visibility timeout not yet over) stay there, as SQS moves only the
// messages it can receive; messages past q's retention are dropped, as a
// receive would. It returns how many it moved (0 when q is empty) and
// wakes dest's Notify waiters. Both queues must be in the same database;
// dest must not be q. Safe for concurrent use with every other method.
func (q *Queue) MoveMessages(ctx context.Context, dest *Queue) (int, error) {
	switch {
	case dest == nil || dest == q || dest.opts.Name == q.opts.Name:
		return 0, fmt.Errorf("sqs: move messages of %s: the destination must be another queue", q.opts.Name)
	case dest.db != q.db:
		return 0, fmt.Errorf("sqs: move messages of %s to %s: both queues must be in the same database", q.opts.Name, dest.opts.Name)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("sqs: move messages of %s: %w", q.opts.Name, err)
	}
	now := q.opts.Now()
	var moved int
	err := q.db.Update(func(tx *bolt.Tx) error {
		moved = 0
		c := tx.Bucket(q.bucket).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var m Message
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("corrupt message: %w", err)
			}
			expired := now.Sub(m.SentAt) > q.opts.Retention
			if !expired && m.VisibleAt.After(now) {
				continue // in flight
			}
			if !expired {
				fresh := Message{ID: uuid.New(), Body: m.Body, SentAt: now, VisibleAt: now}
				if err := dest.putTx(tx, fresh); err != nil {
					return fmt.Errorf("move %s to %s: %w", m.ID, dest.opts.Name, err)
				}
				moved++
			}
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqs: move messages of %s to %s: %w", q.opts.Name, dest.opts.Name, err)
	}
	if moved > 0 {
		dest.wake()
	}
	return moved, nil
}

// wake closes the Notify channel of the moment and makes the next one.
func (q *Queue) wake() {
	q.mu.Lock()
	close(q.notify)
	q.notify = make(chan struct{})
	q.mu.Unlock()
}

// MD5OfBody is the hex MD5 of a body, as SQS reports it.
func MD5OfBody(body string) string {
	sum := md5.Sum([]byte(body))
	return hex.EncodeToString(sum[:])
}
