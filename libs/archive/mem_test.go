package archive_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/archive/archivetest"
)

// memStore is an archive in memory for the package's tests and benchmarks.
// It counts the objects opened, and passes the contract suite like the
// adapters.
type memStore struct {
	mu     sync.Mutex
	objs   map[string][]byte
	opened []string
}

func newMemStore() *memStore { return &memStore{objs: map[string][]byte{}} }

func (m *memStore) Put(ctx context.Context, key string, body []byte) error {
	if err := archive.CheckKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objs[key] = bytes.Clone(body)
	return nil
}

func (m *memStore) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := archive.CheckKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	body, ok := m.objs[key]
	if !ok {
		return nil, fmt.Errorf("open %s: %w", key, archive.ErrNotFound)
	}
	m.opened = append(m.opened, key)
	return io.NopCloser(bytes.NewReader(body)), nil
}

func (m *memStore) List(ctx context.Context, prefix, startAfter string, fn func(archive.Object) error) error {
	m.mu.Lock()
	var objs []archive.Object
	for k, b := range m.objs {
		if strings.HasPrefix(k, prefix) && k > startAfter {
			objs = append(objs, archive.Object{Key: k, Size: int64(len(b))})
		}
	}
	m.mu.Unlock()
	slices.SortFunc(objs, func(a, b archive.Object) int { return strings.Compare(a.Key, b.Key) })
	for _, o := range objs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("list %s: %w", prefix, err)
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) takeOpened() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.opened
	m.opened = nil
	return o
}

func TestMemStoreContract(t *testing.T) {
	archivetest.Run(t, func(*testing.T) archive.Store { return newMemStore() })
}
