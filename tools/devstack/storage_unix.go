//go:build unix

package main

import (
	"errors"
	"syscall"
)

// noSpace reports whether err is the file system's refusal for lack of
// space, and names it: ENOSPC (the device is full) or EDQUOT (the user's
// quota is used up).
func noSpace(err error) (cause string, ok bool) {
	switch {
	case err == nil:
		return "", false
	case errors.Is(err, syscall.ENOSPC):
		return "ENOSPC: no space left on device", true
	case errors.Is(err, syscall.EDQUOT):
		return "EDQUOT: disk quota exceeded", true
	}
	return "", false
}
