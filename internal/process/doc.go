// Package process runs a shell script in a process group of its own, so that
// everything the script starts is killed when it is stopped and nothing is
// left behind when the shell exits, optionally as another user and inside a
// sandbox (internal/sandbox) made for one job. It is the machinery under the
// Compute/Commands provider (provider/commands), the buildspec runner
// (buildspec), builds and functions; it knows nothing of pipelines or jobs.
package process
