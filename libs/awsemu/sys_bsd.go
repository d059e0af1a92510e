//go:build unix && !linux

package awsemu

import (
	"os/exec"
	"syscall"
)

// sysProcAttr puts the emulator in its own process group, so that stopping it
// also stops anything it started. Only Linux has a parent-death signal: here
// an emulator outlives a test binary that dies without running Main.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// spawn starts cmd.
func spawn(cmd *exec.Cmd) error { return cmd.Start() }
