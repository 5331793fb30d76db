package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newGraphCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "graph [-o text|dot|json]",
		Short: "Show how pipelines depend on one another: gates, pipeline triggers, invokes and locks",
		Long: `Show how pipelines depend on one another. Each pipeline is listed with what it
depends on (the pipelines its gates wait for, those whose end starts it, those it
invokes, the locks it holds), then what depends on it, with the status of its
latest execution. -o dot writes Graphviz's language (sluice graph -o dot | dot -Tsvg > graph.svg);
-o json the nodes and edges.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			format = strings.ToLower(format)
			if format != "text" && format != "dot" && format != "json" {
				return fmt.Errorf("-o: unknown format %q (text, dot or json)", format)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			out, err := c.Graph(cmd.Context(), format)
			if err != nil {
				return err
			}
			_, err = g.out.Write(out)
			return err
		},
	}
	cmd.Flags().StringVarP(&format, "output", "o", "text", "output format: text, dot or json")
	return cmd
}
