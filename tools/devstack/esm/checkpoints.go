package esm

import (
	bolt "go.etcd.io/bbolt"
)

// BoltCheckpoints keeps mappings' checkpoints in bbolt.
type BoltCheckpoints struct{ DB *bolt.DB }

var _ Checkpoints = BoltCheckpoints{}

func bucketName(mapping string) []byte { return []byte("esm:" + mapping) }

// Checkpoint implements Checkpoints.
func (c BoltCheckpoints) Checkpoint(mapping, shard string) (string, error) {
	var cp string
	err := c.DB.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketName(mapping)); b != nil {
			cp = string(b.Get([]byte(shard)))
		}
		return nil
	})
	return cp, err
}

// SetCheckpoint implements Checkpoints.
func (c BoltCheckpoints) SetCheckpoint(mapping, shard, seq string) error {
	return c.DB.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketName(mapping))
		if err != nil {
			return err
		}
		return b.Put([]byte(shard), []byte(seq))
	})
}
