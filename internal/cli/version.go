package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is the release, set when building one:
//
//	go build -ldflags "-X github.com/sluice-ci/sluice/internal/cli.Version=v1.2.0" ./cmd/sluice
//
// Without it the module version from the build info is shown ("(devel)" for a
// build from a checkout).
var Version = ""

// BuildInfo is what `sluice version` reports.
type BuildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	CommitAt  string `json:"commitTime,omitempty"`
	Modified  bool   `json:"modified,omitempty"` // built from a work tree with uncommitted changes
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

func readBuildInfo() BuildInfo {
	bi := BuildInfo{Version: Version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		if bi.Version == "" {
			bi.Version = "unknown"
		}
		return bi
	}
	if bi.Version == "" {
		bi.Version = info.Main.Version
	}
	if bi.Version == "" {
		bi.Version = "(devel)"
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			bi.Commit = s.Value
		case "vcs.time":
			bi.CommitAt = s.Value
		case "vcs.modified":
			bi.Modified = s.Value == "true"
		}
	}
	return bi
}

func newVersionCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of this sluice binary, its commit and its Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			bi := readBuildInfo()
			return output(g.out, format, bi, func(w io.Writer) {
				fmt.Fprintf(w, "sluice %s\n", bi.Version)
				if bi.Commit != "" {
					commit := bi.Commit
					if bi.Modified {
						commit += " (modified)"
					}
					if bi.CommitAt != "" {
						commit += ", " + bi.CommitAt
					}
					fmt.Fprintf(w, "commit: %s\n", commit)
				}
				fmt.Fprintf(w, "go: %s %s\n", bi.GoVersion, bi.Platform)
			})
		},
	}
	addOutputFlag(cmd, &format)
	return cmd
}
