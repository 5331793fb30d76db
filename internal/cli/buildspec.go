package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/buildspec"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

func newBuildspecCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "buildspec", Short: "Check CodeBuild buildspec files"}
	cmd.AddCommand(newBuildspecValidateCmd(g))
	return cmd
}

func newBuildspecValidateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check buildspec files without running them (no server needed)",
		Long: "Check buildspec files without running anything. Warnings (unknown keys, settings\n" +
			"that do not apply outside AWS) are printed; the exit status is non-zero only when\n" +
			"some file has errors.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			failed := 0
			for _, file := range args {
				if !validateBuildspec(g, file) {
					failed++
				}
			}
			if failed > 0 {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
}

// validateBuildspec prints file's warnings, its errors and a verdict line,
// and reports whether the file is valid.
func validateBuildspec(g *globals, file string) bool {
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(g.errOut, "%s: %v\n", file, err)
		fmt.Fprintf(g.out, "%s: invalid\n", file)
		return false
	}
	spec, warnings, err := buildspec.Parse(file, data)
	for _, w := range warnings {
		fmt.Fprintln(g.errOut, "warning:", w.String())
	}
	if err != nil {
		var list yamlnode.ErrorList
		n := 1
		if errors.As(err, &list) {
			n = len(list)
			for _, e := range list {
				fmt.Fprintln(g.errOut, "error:", e.Error())
			}
		} else {
			fmt.Fprintln(g.errOut, "error:", err)
		}
		fmt.Fprintf(g.out, "%s: invalid (%s)\n", file, countNoun(n, "error"))
		return false
	}
	fmt.Fprintf(g.out, "%s: valid (version %s, %s)\n", file, spec.Version, countNoun(len(spec.Phases.List()), "phase"))
	return true
}

func countNoun(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
