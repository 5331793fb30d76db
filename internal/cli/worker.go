package cli

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/server"
	"github.com/sluice-ci/sluice/internal/worker"
)

func newWorkerCmd(g *globals) *cobra.Command {
	var concurrency int
	var workRoot, id, isolation string
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a remote worker that takes jobs from a sluice server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			// git and command functions read the file themselves.
			caFile := ""
			if g.caCert != "" {
				if caFile, err = filepath.Abs(g.caCert); err != nil {
					return err
				}
			}
			if id == "" {
				host, _ := os.Hostname()
				id = fmt.Sprintf("%s-%d", host, os.Getpid())
			}
			if workRoot == "" {
				if workRoot, err = os.MkdirTemp("", "sluice-worker-"); err != nil {
					return err
				}
				defer os.RemoveAll(workRoot)
			}
			log := slog.New(slog.NewTextHandler(g.errOut, nil))
			var wg sync.WaitGroup
			for i := range concurrency {
				w := &worker.Worker{
					ID: fmt.Sprintf("%s-%d", id, i), API: c, Providers: server.Providers(g.server, g.token, isolation, caFile),
					WorkRoot: workRoot, ScratchRoot: worker.DefaultScratchRoot(), BaseEnv: worker.DefaultBaseEnv(), Logger: log,
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					w.Run(cmd.Context())
				}()
			}
			log.Info("sluice worker started", "server", g.server, "id", id, "concurrency", concurrency)
			wg.Wait()
			return nil
		},
	}
	cmd.Flags().IntVar(&concurrency, "concurrency", 2, "jobs run at the same time")
	cmd.Flags().StringVar(&isolation, "isolation", "auto", "build isolation: auto (bubblewrap where installed, as each project says) or none")
	cmd.Flags().StringVar(&workRoot, "work-dir", "", "where jobs' working directories go (default: a temporary directory)")
	cmd.Flags().StringVar(&id, "id", "", "worker id (default: HOST-PID)")
	return cmd
}
