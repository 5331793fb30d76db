//go:build sluiceclient

package cli

import "github.com/spf13/cobra"

// localCommands: a client build (go build -tags sluiceclient) talks to a
// server only; it has no server, worker, agent or local build, and starts
// in about a third of the CPU time (docs/benchmarks.md).
func localCommands(*globals) []*cobra.Command { return nil }
