//go:build linux

package gitsource

import (
	"os/exec"
	"syscall"
)

// killGroup starts git in a process group of its own and makes ending ctx
// kill the whole group: git runs helpers (git-remote-https, ssh,
// index-pack) that a kill of git alone would leave running. If the worker
// dies, so does git.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error {
		// os/exec calls Cancel only while it has not seen git exit, so the
		// pid still names git's group unless git is being reaped in this
		// very instant and the pid reused at once.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
