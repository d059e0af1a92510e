package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// keyEnvVars are the go command's settings that decide the binary; their
// values as the go command sees them go into the cache key.
var keyEnvVars = []string{
	"GOVERSION", "GOOS", "GOARCH", "CGO_ENABLED", "GOFLAGS",
	"GOEXPERIMENT", "GOARM64", "GOAMD64", "GOFIPS140",
}

// keyVersion changes when the key's layout or the zip format changes, so
// old cache entries are not reused.
const keyVersion = "lambdabuild key v1"

// key returns the hex SHA-256 of every input of building pkg in the module
// at modDir (see the package doc).
func (b *builder) key(ctx context.Context, modDir, pkg string) (string, error) {
	goenv, err := b.goEnv(ctx, modDir)
	if err != nil {
		return "", err
	}
	reps, err := b.localReplaces(ctx, modDir)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", keyVersion)
	for _, k := range keyEnvVars {
		fmt.Fprintf(h, "env %s=%q\n", k, goenv[k])
	}
	fmt.Fprintf(h, "flags %q\npackage %q\n", buildFlags, pkg)
	if err := hashTree(h, "main module", modDir); err != nil {
		return "", err
	}
	for _, r := range reps {
		if err := hashTree(h, "replace "+r.module, r.dir); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// goEnv returns the key settings as the go command in modDir reports them.
func (b *builder) goEnv(ctx context.Context, modDir string) (map[string]string, error) {
	out, err := b.goCommand(ctx, modDir, append([]string{"env", "-json"}, keyEnvVars...)...)
	if err != nil {
		return nil, err
	}
	var env map[string]string
	if err := json.Unmarshal(out, &env); err != nil {
		return nil, fmt.Errorf("decode go env: %w", err)
	}
	return env, nil
}

type replaceDir struct {
	module string // the replaced module path (and version, if any)
	dir    string // absolute directory
}

// localReplaces returns the directories that the go.mod in modDir replaces
// modules with, sorted by module.
func (b *builder) localReplaces(ctx context.Context, modDir string) ([]replaceDir, error) {
	out, err := b.goCommand(ctx, modDir, "mod", "edit", "-json")
	if err != nil {
		return nil, err
	}
	var mod struct {
		Replace []struct {
			Old, New struct{ Path, Version string }
		}
	}
	if err := json.Unmarshal(out, &mod); err != nil {
		return nil, fmt.Errorf("decode go.mod of %s: %w", modDir, err)
	}
	var reps []replaceDir
	for _, r := range mod.Replace {
		if r.New.Version != "" {
			continue // replaced by another module version: pinned by go.sum
		}
		dir := r.New.Path
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(modDir, dir)
		}
		name := r.Old.Path
		if r.Old.Version != "" {
			name += "@" + r.Old.Version
		}
		reps = append(reps, replaceDir{module: name, dir: dir})
	}
	slices.SortFunc(reps, func(a, b replaceDir) int {
		switch {
		case a.module < b.module:
			return -1
		case a.module > b.module:
			return 1
		}
		return 0
	})
	return reps, nil
}

// hashTree writes to h the slash path, executable bit and content hash of
// every file under dir in lexical order, skipping .git, node_modules and
// nested modules.
// Symbolic links to files are followed, links to directories are not.
func hashTree(h hash.Hash, label, dir string) error {
	fmt.Fprintf(h, "tree %q\n", label)
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("hash %s: %w", label, err)
		}
		if d.IsDir() {
			if path == dir {
				return nil
			}
			if d.Name() == ".git" || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // a nested module is not part of this one
			}
			return nil
		}
		fi, err := os.Stat(path) // follows symbolic links
		if err != nil {
			return fmt.Errorf("hash %s: %w", label, err)
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		sum, err := fileSum(path)
		if err != nil {
			return fmt.Errorf("hash %s: %w", label, err)
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "file %q %t %x\n", filepath.ToSlash(rel), fi.Mode()&0o111 != 0, sum)
		return nil
	})
}

func fileSum(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}
