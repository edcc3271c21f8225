//go:build !unix

package devstack

import "os/exec"

func setProcAttr(*exec.Cmd) {}

// terminate has no gentler signal to send here.
func terminate(cmd *exec.Cmd) error { return cmd.Process.Kill() }

func kill(cmd *exec.Cmd) error { return cmd.Process.Kill() }
