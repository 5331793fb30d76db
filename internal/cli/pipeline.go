package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/cfntemplate"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/wire"
)

func newPipelineCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "pipeline", Short: "Declare and manage pipelines"}
	cmd.AddCommand(newPipelineApplyCmd(g), newPipelineValidateCmd(g), newPipelineListCmd(g), newPipelineGetCmd(g), newPipelineDeleteCmd(g), newPipelineExportCmd(g))
	return cmd
}

func readFileFlag(file string) ([]byte, error) {
	if file == "" {
		return nil, fmt.Errorf("-f: a pipeline file is required")
	}
	if file == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(file)
}

func newPipelineApplyCmd(g *globals) *cobra.Command {
	var file string
	var tf templateFlags
	cmd := &cobra.Command{
		Use:   "apply -f FILE [--parameter K=V]…",
		Short: "Create a pipeline or update it to a new version; or every AWS::CodePipeline::Pipeline of a CloudFormation template",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readFileFlag(file)
			if err != nil {
				return err
			}
			isTemplate, tps, err := readTemplate(file, data, &tf, pipeline.RequireRunnable)
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			if isTemplate {
				return applyTemplate(cmd, g, file, tps)
			}
			// Checked here first so errors come even without a server; the server
			// checks again, as any API client may send anything.
			if _, err := pipeline.ParseWith(file, data, pipeline.RequireRunnable); err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.ApplyPipeline(cmd.Context(), file, data, false)
			if err != nil {
				return err
			}
			switch {
			case res.Created:
				fmt.Fprintf(g.out, "pipeline %s created (version %d)\n", res.Name, res.Version)
			case res.Changed:
				fmt.Fprintf(g.out, "pipeline %s updated to version %d\n", res.Name, res.Version)
			default:
				fmt.Fprintf(g.out, "pipeline %s unchanged (version %d)\n", res.Name, res.Version)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "pipeline file, YAML or JSON, or a CloudFormation template (- for standard input)")
	tf.add(cmd)
	return cmd
}

func newPipelineValidateCmd(g *globals) *cobra.Command {
	var file string
	var tf templateFlags
	cmd := &cobra.Command{
		Use:   "validate -f FILE",
		Short: "Check a pipeline file (or a CloudFormation template) without applying it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readFileFlag(file)
			if err != nil {
				return err
			}
			isTemplate, tps, err := readTemplate(file, data, &tf, pipeline.RequireRunnable)
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			if isTemplate {
				for _, tp := range tps {
					printNotes(cmd, tp.Notes)
					fmt.Fprintf(g.out, "%s: %s: pipeline %s is valid (%d stages)\n", file, tp.Logical, tp.decl.Name, len(tp.decl.Stages))
				}
				return nil
			}
			p, err := pipeline.ParseWith(file, data, pipeline.RequireRunnable)
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			fmt.Fprintf(g.out, "%s: pipeline %s is valid (%d stages)\n", file, p.Name, len(p.Stages))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "pipeline file, YAML or JSON, or a CloudFormation template (- for standard input)")
	tf.add(cmd)
	return cmd
}

// applyTemplate applies each pipeline a template declares, then disables
// the transitions it says start disabled.
func applyTemplate(cmd *cobra.Command, g *globals, file string, tps []templatePipeline) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	for _, tp := range tps {
		printNotes(cmd, tp.Notes)
		res, err := c.ApplyPipeline(cmd.Context(), file+"#"+tp.Logical+".json", tp.json, false)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", file, tp.Logical, err)
		}
		switch {
		case res.Created:
			fmt.Fprintf(g.out, "pipeline %s created (version %d) from %s\n", res.Name, res.Version, tp.Logical)
		case res.Changed:
			fmt.Fprintf(g.out, "pipeline %s updated to version %d from %s\n", res.Name, res.Version, tp.Logical)
		default:
			fmt.Fprintf(g.out, "pipeline %s unchanged (version %d) from %s\n", res.Name, res.Version, tp.Logical)
		}
		for _, t := range tp.DisabledTransitions {
			reason := t.Reason
			if reason == "" {
				reason = "DisableInboundStageTransitions in " + file
			}
			if err := c.SetTransition(cmd.Context(), res.Name, t.Stage, wire.TransitionRequest{Enabled: false, Reason: reason}); err != nil {
				return fmt.Errorf("%s:%d: disable the transition into stage %s: %w", file, t.Line, t.Stage, err)
			}
			fmt.Fprintf(g.out, "  transition into %s disabled: %s\n", t.Stage, reason)
		}
	}
	return nil
}

func printNotes(cmd *cobra.Command, notes []string) {
	for _, n := range notes {
		fmt.Fprintln(cmd.ErrOrStderr(), "note: "+n)
	}
}

func newPipelineExportCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "export NAME -o json|cloudformation",
		Short: "Print a pipeline as the JSON of aws codepipeline get-pipeline, or as a CloudFormation template",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			raw, err := c.Pipeline(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			switch format {
			case "json":
				var doc any
				if err := json.Unmarshal(raw, &doc); err != nil {
					return err
				}
				return output(g.out, "json", doc, nil)
			case "cloudformation", "cfn":
				tmpl, notes, err := cfntemplate.Export(raw)
				if err != nil {
					return err
				}
				printNotes(cmd, notes)
				_, err = g.out.Write(tmpl)
				return err
			}
			return fmt.Errorf("-o %q: json or cloudformation", format)
		},
	}
	cmd.Flags().StringVarP(&format, "output", "o", "json", "json (get-pipeline's document) or cloudformation (a template, YAML)")
	return cmd
}

func newPipelineListCmd(g *globals) *cobra.Command {
	var format, nextToken string
	var maxResults int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List pipelines",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var ps []wire.PipelineSummary
			if cmd.Flags().Changed("max-results") || cmd.Flags().Changed("next-token") {
				var next string
				if ps, next, err = c.PipelinePage(cmd.Context(), maxResults, nextToken); err != nil {
					return err
				}
				if next != "" {
					defer fmt.Fprintf(cmd.ErrOrStderr(), "more pipelines follow: --next-token %s\n", next)
				}
			} else if ps, err = c.Pipelines(cmd.Context()); err != nil {
				return err
			}
			return output(g.out, format, ps, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tVERSION\tMODE\tUPDATED\tLATEST EXECUTION")
				for _, p := range ps {
					latest := "-"
					if l := p.LatestExecution; l != nil {
						latest = l.PipelineExecutionID + " " + statusText(l.Status, l.Waiting)
					}
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", p.Name, p.Version, p.ExecutionMode, p.Updated.Local().Format(time.DateTime), latest)
				}
				tw.Flush()
			})
		},
	}
	addOutputFlag(cmd, &format)
	cmd.Flags().IntVar(&maxResults, "max-results", 0, "list one page of at most this many pipelines (1-1000), in name order; the token of the next page is printed on stderr")
	cmd.Flags().StringVar(&nextToken, "next-token", "", "list the page a previous --max-results listing said follows")
	return cmd
}

func newPipelineGetCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Print a pipeline's declaration (CodePipeline's get-pipeline document)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			raw, err := c.Pipeline(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			var doc any
			if err := json.Unmarshal(raw, &doc); err != nil {
				return err
			}
			if format == "text" {
				format = "yaml"
			}
			return output(g.out, format, doc, nil)
		},
	}
	cmd.Flags().StringVarP(&format, "output", "o", "yaml", "output format: json or yaml")
	return cmd
}

func newPipelineDeleteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a pipeline with its executions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeletePipeline(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "pipeline %s deleted\n", args[0])
			return nil
		},
	}
}
