//go:build unix

package devstack

import (
	"os/exec"
	"syscall"
)

// terminate asks the whole process group to exit.
func terminate(cmd *exec.Cmd) error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }

// kill ends the whole process group at once.
func kill(cmd *exec.Cmd) error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
