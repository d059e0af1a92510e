//go:build !linux

package embedded

import bolt "go.etcd.io/bbolt"

// releaseMapped does nothing outside Linux (see mapped_linux.go).
func releaseMapped(*bolt.DB) {}
