package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/artifact"
)

func newLogsCmd(g *globals) *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs NAME ID ACTION [-f]",
		Short: "Print an action's log (ACTION or STAGE/ACTION)",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var offset int64
			for {
				wait := time.Duration(0)
				if follow {
					wait = 30 * time.Second
				}
				chunk, err := c.Log(cmd.Context(), args[0], args[1], args[2], offset, wait)
				if err != nil {
					return err
				}
				g.out.Write(chunk.Data)
				offset = chunk.NextOffset
				// A long log comes in pieces: read on until one comes back empty.
				if len(chunk.Data) == 0 && (!follow || chunk.Done) {
					return nil
				}
			}
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "follow the log until the action ends")
	return cmd
}

func newArtifactCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "artifact", Short: "Fetch artifacts of executions"}
	var out string
	download := &cobra.Command{
		Use:   "download NAME ID ARTIFACT --out DIR",
		Short: "Download an artifact and extract it into DIR",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("--out: a directory is required")
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			rc, err := c.Artifact(cmd.Context(), args[0], args[1], args[2])
			if err != nil {
				return err
			}
			defer rc.Close()
			if rc.FailedAttempt > 0 {
				fmt.Fprintf(g.errOut, "note: artifact %s comes from attempt %d of its action, which failed; it is kept for debugging and no later action received it\n", args[2], rc.FailedAttempt)
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			tmp, err := os.CreateTemp("", "sluice-artifact-*.zip")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name())
			defer tmp.Close()
			if _, err := tmp.ReadFrom(rc); err != nil {
				return fmt.Errorf("download artifact %s: %w", args[2], err)
			}
			if err := artifact.UnzipFile(cmd.Context(), tmp.Name(), out); err != nil {
				return err
			}
			abs, _ := filepath.Abs(out)
			fmt.Fprintf(g.out, "artifact %s extracted to %s\n", args[2], abs)
			return nil
		},
	}
	download.Flags().StringVar(&out, "out", "", "directory to extract into")
	cmd.AddCommand(download)
	return cmd
}
