// Package dir is the local-directory adapter of the archive port: devstack's
// <data>/archive/. An object key is a path under the root directory
// (events/2026/11/27/04/devstack-….gz), so the archive is browsable and
// `zcat … | jq` reads it.
//
// Put is atomic and durable the way a careful database file is: the body
// goes to a temporary file in the object's own directory (a name starting
// with '.', which no key can have, so List never shows it), which is
// fsynced, renamed over the key (rename is atomic within a file system), and
// the directory is fsynced so the rename survives a crash; directories Put
// creates are fsynced into their parents too. A reader therefore sees the
// old object, the new one or none, never a part, and a killed process
// leaves at most a temporary file behind, never a torn object.
//
// List walks the tree in S3's byte-wise key order, not in directory order:
// in a directory, a subdirectory d sorts as "d/" among the file names (so
// "a-b" < "a/…" < "a0"), which is exactly where its keys fall. Subtrees
// outside the prefix or wholly before the start-after key are not read.
//
// Unlike S3, a directory cannot hold an object "a" and an object "a/b":
// the second Put fails.
package dir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
)

// errNotDir: a path goes through a file, as "a/b" when "a" is an object.
var errNotDir = syscall.ENOTDIR

// Store is an archive in a directory. It is safe for concurrent use, also
// by several processes.
type Store struct {
	root string
}

var _ archive.Store = (*Store)(nil)

// New returns the archive rooted at root, creating the directory if needed.
func New(root string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("archive directory %s: %w", root, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("archive directory: %w", err)
	}
	return &Store{root: abs}, nil
}

// Root returns the archive's directory.
func (s *Store) Root() string { return s.root }

func (s *Store) path(key string) string {
	return filepath.Join(s.root, filepath.FromSlash(key))
}

// Put stores body as the object key; see archive.Writer.
func (s *Store) Put(ctx context.Context, key string, body []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := archive.CheckKey(key); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	path := s.path(key)
	if err := s.mkdirAll(filepath.Dir(path)); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := writeAtomic(ctx, path, body); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// writeAtomic writes body to a temporary file next to path, syncs it,
// renames it to path and syncs the directory. ctx is checked last before
// the rename: an object whose Put reports ctx's error does not exist.
func writeAtomic(ctx context.Context, path string, body []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := io.Copy(f, bytes.NewReader(body)); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// mkdirAll creates dir and its missing parents under the root, syncing
// each new directory's parent so that the new entries are durable.
func (s *Store) mkdirAll(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is an object, not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir && dir != s.root {
		if err := s.mkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

// syncDir makes the entries of dir durable. Windows cannot sync a
// directory, and NTFS journals renames.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// Open returns the object's body, an *os.File; see archive.Opener. Once
// open, the file is read without regard to ctx.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	if err := archive.CheckKey(key); err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	f, err := os.Open(s.path(key))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDir) {
		return nil, fmt.Errorf("open %s: %w", key, archive.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", key, archive.ErrNotFound)
	}
	return f, nil
}

// List lists the objects under prefix after startAfter in key order; see
// archive.Lister.
func (s *Store) List(ctx context.Context, prefix, startAfter string, fn func(archive.Object) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list %s: %w", prefix, err)
	}
	// Start at the deepest directory the prefix names: "events/2026/1"
	// starts in events/2026/.
	base := prefix[:strings.LastIndexByte(prefix, '/')+1]
	if base != "" && archive.CheckKey(strings.TrimSuffix(base, "/")) != nil {
		return nil // no key can begin with it
	}
	w := walker{ctx: ctx, prefix: prefix, after: startAfter, fn: fn}
	return w.walk(s.path(base), base)
}

type walker struct {
	ctx           context.Context
	prefix, after string
	fn            func(archive.Object) error
}

type entry struct {
	sortKey string // the key, or a directory's key prefix ("d/")
	path    string
	dir     bool
}

// walk lists the keys under the directory path, whose keys begin with
// dirKey ("" or ending in '/').
func (w *walker) walk(path, dirKey string) error {
	des, err := os.ReadDir(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDir) {
		return nil // no such prefix, or removed since its parent was read
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", w.prefix, err)
	}
	entries := make([]entry, 0, len(des))
	for _, de := range des {
		name := de.Name()
		switch {
		case strings.HasPrefix(name, "."): // temporary files
		case de.IsDir():
			entries = append(entries, entry{dirKey + name + "/", filepath.Join(path, name), true})
		case de.Type().IsRegular():
			entries = append(entries, entry{dirKey + name, filepath.Join(path, name), false})
		}
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.sortKey, b.sortKey) })
	for _, e := range entries {
		if err := w.ctx.Err(); err != nil {
			return fmt.Errorf("list %s: %w", w.prefix, err)
		}
		if e.dir {
			// Every key below begins with e.sortKey: skip the subtree if
			// none can begin with the prefix or sort after startAfter.
			if !strings.HasPrefix(e.sortKey, w.prefix) && !strings.HasPrefix(w.prefix, e.sortKey) {
				continue
			}
			if e.sortKey < w.after && !strings.HasPrefix(w.after, e.sortKey) {
				continue
			}
			if err := w.walk(e.path, e.sortKey); err != nil {
				return err
			}
			continue
		}
		if !strings.HasPrefix(e.sortKey, w.prefix) || e.sortKey <= w.after {
			continue
		}
		fi, err := os.Stat(e.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // replaced or removed since ReadDir
		}
		if err != nil {
			return fmt.Errorf("list %s: %w", w.prefix, err)
		}
		if err := w.fn(archive.Object{Key: e.sortKey, Size: fi.Size()}); err != nil {
			return err
		}
	}
	return nil
}
