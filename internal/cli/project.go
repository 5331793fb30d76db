package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/buildproject"
	"github.com/sluice-ci/sluice/internal/wire"
)

func newProjectCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "project", Short: "Manage build projects (CodeBuild's projects: buildspec, environment, timeout, isolation)"}
	var file string
	apply := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Create or replace a build project",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readFileFlag(file)
			if err != nil {
				return err
			}
			if _, err := buildproject.Parse(file, data); err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			p, err := c.ApplyProject(cmd.Context(), file, data)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "project %s applied\n", p.Name)
			return nil
		},
	}
	apply.Flags().StringVarP(&file, "file", "f", "", "build project, YAML or JSON (CodeBuild's create-project JSON too; - for standard input)")
	var listFormat string
	list := &cobra.Command{
		Use:   "list",
		Short: "List build projects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			projects, err := c.Projects(cmd.Context())
			if err != nil {
				return err
			}
			return output(g.out, listFormat, projects, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tBUILDSPEC\tTIMEOUT\tISOLATION\tVARIABLES")
				for _, p := range projects {
					fmt.Fprintf(tw, "%s\t%s\t%dm\t%s\t%d\n", p.Name, buildspecSummary(p.Buildspec), p.TimeoutInMinutes, p.Isolation, len(p.EnvironmentVariables))
				}
				tw.Flush()
			})
		},
	}
	addOutputFlag(list, &listFormat)
	var getFormat string
	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a build project",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			p, err := c.Project(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return output(g.out, getFormat, p, func(w io.Writer) { printProject(w, p) })
		},
	}
	addOutputFlag(get, &getFormat)
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a build project",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteProject(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "project %s deleted\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(apply, list, get, del)
	return cmd
}

func buildspecSummary(spec string) string {
	if buildproject.IsInline(spec) {
		return fmt.Sprintf("(inline, %d lines)", strings.Count(strings.TrimRight(spec, "\n"), "\n")+1)
	}
	return spec
}

func printProject(w io.Writer, p wire.Project) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Name:\t%s\n", p.Name)
	if p.Description != "" {
		fmt.Fprintf(tw, "Description:\t%s\n", p.Description)
	}
	fmt.Fprintf(tw, "Buildspec:\t%s\n", buildspecSummary(p.Buildspec))
	fmt.Fprintf(tw, "Timeout:\t%d minutes\n", p.TimeoutInMinutes)
	fmt.Fprintf(tw, "Isolation:\t%s\n", p.Isolation)
	fmt.Fprintf(tw, "Network:\t%t\n", p.Network)
	fmt.Fprintf(tw, "Updated:\t%s\n", p.Updated.Local().Format("2006-01-02 15:04:05"))
	tw.Flush()
	if len(p.EnvironmentVariables) > 0 {
		fmt.Fprintln(w, "\nEnvironment variables:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  NAME\tTYPE\tVALUE")
		for _, v := range p.EnvironmentVariables {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, v.Type, v.Value)
		}
		tw.Flush()
	}
	if buildproject.IsInline(p.Buildspec) {
		fmt.Fprintf(w, "\nBuildspec:\n%s", p.Buildspec)
		if !strings.HasSuffix(p.Buildspec, "\n") {
			fmt.Fprintln(w)
		}
	}
}
