//go:build !unix

package gitsource

import "os/exec"

// killGroup leaves exec's default, which kills git alone: there are no
// process groups to kill here.
func killGroup(*exec.Cmd) {}
