package rie

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// maxUnzipped is Lambda's limit on a function's unzipped size.
const maxUnzipped = 250 << 20

// ExtractBootstrap writes the bootstrap entry of the Lambda zip at zipPath
// into dir with the entry's mode, as Lambda unpacks it into /var/task, and
// returns its path. A zip with any other entry, or without an executable
// bootstrap, is an error: Lambda would not run it either.
func ExtractBootstrap(zipPath, dir string) (string, error) {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return "", fmt.Errorf("open function zip: %w", err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		names := make([]string, len(zr.File))
		for i, f := range zr.File {
			names[i] = f.Name
		}
		return "", fmt.Errorf("function zip %s holds %q, want only bootstrap", zipPath, names)
	}
	f := zr.File[0]
	mode := f.Mode()
	if !mode.IsRegular() || mode.Perm()&0o111 == 0 {
		return "", fmt.Errorf("function zip %s: bootstrap has mode %s, not executable", zipPath, mode)
	}
	if f.UncompressedSize64 > maxUnzipped {
		return "", fmt.Errorf("function zip %s: bootstrap is %d bytes, over Lambda's %d", zipPath, f.UncompressedSize64, maxUnzipped)
	}
	rc, err := f.Open()
	if err != nil {
		return "", fmt.Errorf("open bootstrap in %s: %w", zipPath, err)
	}
	defer rc.Close()
	path := filepath.Join(dir, "bootstrap")
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode.Perm())
	if err != nil {
		return "", fmt.Errorf("extract bootstrap: %w", err)
	}
	if _, err := io.Copy(out, io.LimitReader(rc, maxUnzipped)); err != nil {
		out.Close()
		return "", fmt.Errorf("extract bootstrap: %w", err)
	}
	if err := out.Close(); err != nil {
		return "", fmt.Errorf("extract bootstrap: %w", err)
	}
	// OpenFile's mode is filtered by the umask; Lambda keeps the zip's.
	if err := os.Chmod(path, mode.Perm()); err != nil {
		return "", fmt.Errorf("extract bootstrap: %w", err)
	}
	return path, nil
}
