package main

import (
	"errors"
	"syscall"
)

// Windows's names for a full disk (winerror.h).
const (
	errorHandleDiskFull syscall.Errno = 39
	errorDiskFull       syscall.Errno = 112
	errorDiskQuota      syscall.Errno = 1295 // ERROR_DISK_QUOTA_EXCEEDED
)

// noSpace reports whether err is the file system's refusal for lack of
// space, and names it.
func noSpace(err error) (cause string, ok bool) {
	switch {
	case err == nil:
		return "", false
	case errors.Is(err, errorDiskFull), errors.Is(err, errorHandleDiskFull), errors.Is(err, syscall.ENOSPC):
		return "ERROR_DISK_FULL: there is not enough space on the disk", true
	case errors.Is(err, errorDiskQuota):
		return "ERROR_DISK_QUOTA_EXCEEDED: disk quota exceeded", true
	}
	return "", false
}
