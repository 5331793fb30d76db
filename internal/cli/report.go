package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newReportCmd(g *globals) *cobra.Command {
	var format string
	var all bool
	cmd := &cobra.Command{
		Use:   "report NAME ID ACTION",
		Short: "Show the test reports a build action kept (ACTION or STAGE/ACTION)",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			reports, err := c.Reports(cmd.Context(), args[0], args[1], args[2])
			if err != nil {
				return err
			}
			return output(g.out, format, reports, func(w io.Writer) {
				if len(reports) == 0 {
					fmt.Fprintf(w, "action %s kept no test report\n", args[2])
				}
				for _, r := range reports {
					fmt.Fprintf(w, "report group %s (%s/%s): %s\n", r.Group, r.Stage, r.Action, r.Report.Summary())
					tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
					for _, tc := range r.Report.Cases {
						if !all && (tc.Status == "SUCCEEDED" || tc.Status == "SKIPPED") {
							continue
						}
						name := tc.Name
						if tc.Class != "" {
							name = tc.Class + "." + tc.Name
						}
						msg, _, _ := strings.Cut(tc.Message, "\n")
						fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", tc.Status, name, tc.Duration, msg)
					}
					tw.Flush()
				}
			})
		},
	}
	addOutputFlag(cmd, &format)
	cmd.Flags().BoolVar(&all, "all", false, "list every test case, not only the failed ones")
	return cmd
}
