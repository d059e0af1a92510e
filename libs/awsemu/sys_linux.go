//go:build linux

package awsemu

import (
	"os/exec"
	"runtime"
	"syscall"
)

// sysProcAttr puts the emulator in its own process group, so that stopping it
// also stops anything it started, and has the kernel SIGKILL it when the
// thread that started it dies: the test binary may be killed without running
// Main (SIGKILL, a -timeout panic, os.Exit in a test).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// spawnReq asks the spawner thread to start a command.
type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

var spawnCh = make(chan spawnReq)

// The parent-death signal fires when the *thread* that forked the child
// exits, not the process. Go may end an OS thread (a goroutine that exits
// while locked to it), so emulators are started from one goroutine that locks
// its thread and never returns: its thread lives as long as the binary.
func init() {
	go func() {
		runtime.LockOSThread()
		for req := range spawnCh {
			req.done <- req.cmd.Start()
		}
	}()
}

// spawn starts cmd on the spawner thread.
func spawn(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	spawnCh <- spawnReq{cmd: cmd, done: done}
	return <-done
}
