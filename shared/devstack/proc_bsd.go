//go:build unix && !linux

package devstack

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the process in its own group, so that Stop reaches every process
// it starts and a terminal's Ctrl-C does not kill it before its parent cleans up.
// These systems have no parent-death signal.
func setProcAttr(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }
