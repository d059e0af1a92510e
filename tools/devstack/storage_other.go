//go:build !unix && !windows

package main

import (
	"errors"
	"syscall"
)

// noSpace reports whether err is the file system's refusal for lack of
// space, and names it.
func noSpace(err error) (cause string, ok bool) {
	if err != nil && errors.Is(err, syscall.ENOSPC) {
		return "ENOSPC: no space left on device", true
	}
	return "", false
}
