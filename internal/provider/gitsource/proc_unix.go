//go:build unix && !linux

package gitsource

import (
	"os/exec"
	"syscall"
)

// killGroup starts git in a process group of its own and makes ending ctx
// kill the whole group, helpers included.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
