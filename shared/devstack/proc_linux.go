package devstack

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the process in its own group, so that Stop reaches every process
// it starts and a terminal's Ctrl-C does not kill it before its parent cleans up,
// and has the kernel kill it if the parent dies without calling Stop.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
