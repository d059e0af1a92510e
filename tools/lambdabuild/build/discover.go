package build

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// LambdaDir is where, inside a service, its Lambda entry point (package
// main) lives.
const LambdaDir = "cmd/lambda"

// Discover returns one [Function] for every directory
// root/services/<name>/cmd/lambda that holds a Go file (not a test), named
// <name>, sorted by name, with Dir relative to root. A repository without
// any such directory is an error.
func Discover(root string) ([]Function, error) {
	dirs, err := filepath.Glob(filepath.Join(root, "services", "*", filepath.FromSlash(LambdaDir)))
	if err != nil {
		return nil, fmt.Errorf("discover functions: %w", err)
	}
	var fns []Function
	for _, d := range dirs {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() || !hasGoFile(d) {
			continue
		}
		rel, err := filepath.Rel(root, d)
		if err != nil {
			return nil, fmt.Errorf("discover functions: %w", err)
		}
		name := filepath.Base(filepath.Dir(filepath.Dir(d)))
		fns = append(fns, Function{Name: name, Dir: rel})
	}
	if len(fns) == 0 {
		return nil, fmt.Errorf("discover functions: no services/*/%s directory under %s", LambdaDir, root)
	}
	slices.SortFunc(fns, func(a, b Function) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return fns, nil
}

// FindRoot returns the repository root: the nearest directory at or above
// dir that holds a go.work file (the workspace every module is listed in).
func FindRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find root: %w", err)
	}
	for d := abs; ; {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("find root: %w", err)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("find root: no go.work at or above %s", abs)
		}
		d = parent
	}
}

// hasGoFile reports whether dir holds a .go file that is not a test.
func hasGoFile(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			return true
		}
	}
	return false
}
