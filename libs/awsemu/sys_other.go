//go:build !unix

package awsemu

import (
	"errors"
	"os/exec"
	"syscall"
)

var errUnsupported = &missingError{tool: "a Unix-like OS", hint: "run these tests on Linux or macOS"}

func sysProcAttr() *syscall.SysProcAttr { return nil }

func spawn(*exec.Cmd) error { return errUnsupported }

func killGroup(int) error { return errors.New("awsemu: process groups need a Unix-like OS") }

func lockFile(string) (func(), error) { return nil, errUnsupported }
