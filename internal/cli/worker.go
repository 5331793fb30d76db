//go:build !sluiceclient

package cli

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/process"
	"github.com/sluice-ci/sluice/internal/provider/registry"
	"github.com/sluice-ci/sluice/internal/sandbox"
	"github.com/sluice-ci/sluice/internal/startgc"
	"github.com/sluice-ci/sluice/internal/worker"
)

func newWorkerCmd(g *globals) *cobra.Command {
	var concurrency int
	var workRoot, id, isolation, bwrap, tokenFile, regionName string
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a remote worker that takes jobs from a sluice server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			startgc.Restore() // runs for days: the collector as usual
			if tokenFile != "" {
				// A token in a file (or SLUICE_TOKEN) never shows in the
				// process list, as --token does.
				b, err := os.ReadFile(tokenFile)
				if err != nil {
					return fmt.Errorf("--token-file: %w", err)
				}
				g.token = strings.TrimSpace(string(b))
			}
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
			if workRoot != "" {
				if workRoot, err = filepath.Abs(workRoot); err != nil {
					return err
				}
			}
			if workRoot == "" {
				if workRoot, err = os.MkdirTemp("", "sluice-worker-"); err != nil {
					return err
				}
				defer os.RemoveAll(workRoot)
			}
			log := slog.New(slog.NewTextHandler(g.errOut, nil))
			// Other workers may share the directory: only one alone there
			// takes the sandboxes it finds for leftovers.
			n, release, err := process.KillStaleAlone(workRoot)
			if err != nil {
				return err
			}
			defer release()
			if n > 0 {
				log.Warn("killed sandboxes left by an earlier run", "count", n)
			}
			// Jobs never see the work directory, whatever holds it: other
			// jobs' directories are there.
			iso, err := sandbox.New(isolation, bwrap, workRoot)
			if err != nil {
				return fmt.Errorf("--isolation: %w", err)
			}
			var wg sync.WaitGroup
			for i := range concurrency {
				w := &worker.Worker{
					ID: fmt.Sprintf("%s-%d", id, i), API: c, Providers: registry.Implementations(registry.Options{ServerURL: g.server, Token: g.token, Isolation: iso, CAFile: caFile}),
					WorkRoot: workRoot, ScratchRoot: worker.DefaultScratchRoot(), BaseEnv: worker.DefaultBaseEnv(), Logger: log,
					Region: regionName,
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					w.Run(cmd.Context())
				}()
			}
			log.Info("sluice worker started", "server", g.server, "id", id, "concurrency", concurrency, "isolation", iso.Describe(), "region", regionName)
			if !iso.Enabled() {
				log.Warn("actions that run code are not sandboxed on this worker: " + iso.Describe())
			}
			wg.Wait()
			return nil
		},
	}
	cmd.Flags().IntVar(&concurrency, "concurrency", 2, "jobs run at the same time")
	addIsolationFlags(cmd, &isolation, &bwrap)
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "file holding the worker's token (instead of --token, which other users see in the process list)")
	cmd.Flags().StringVar(&workRoot, "work-dir", "", "where jobs' working directories go (default: a temporary directory)")
	cmd.Flags().StringVar(&id, "id", "", "worker id (default: HOST-PID)")
	cmd.Flags().StringVar(&regionName, "region", "", "the region this worker is in: it takes only the jobs of actions whose region is this one (default: the server's home region)")
	return cmd
}
