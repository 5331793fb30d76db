// Command sluice is the sluice server, worker and client in one binary.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluice-ci/sluice/internal/cli"
	_ "github.com/sluice-ci/sluice/internal/startgc" // before the heavy inits: see its doc
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
