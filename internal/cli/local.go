//go:build !sluiceclient

package cli

import "github.com/spf13/cobra"

// localCommands are the commands that run sluice's own machinery in this
// process: the server, a worker, the deploy agent and local builds. They link
// the whole product (the store, the engine, every provider and the AWS SDK's
// clients), whose package initialisation every command pays at start; a
// build with the sluiceclient tag leaves them out (local_client.go).
func localCommands(g *globals) []*cobra.Command {
	return []*cobra.Command{newServerCmd(g), newWorkerCmd(g), newAgentCmd(g), newBuildCmd(g)}
}
