package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/function"
	"github.com/sluice-ci/sluice/internal/wire"
)

func newFunctionCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "function", Short: "Manage functions (what the Function/Lambda invoke action runs: a command or a URL)"}
	var file string
	apply := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Create or replace a function",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readFileFlag(file)
			if err != nil {
				return err
			}
			// Checked here first so errors come even without a server.
			if _, err := function.Parse(file, data); err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.ApplyFunction(cmd.Context(), file, data)
			if err != nil {
				return err
			}
			switch {
			case res.Created:
				fmt.Fprintf(g.out, "function %s created\n", res.Name)
			case res.Changed:
				fmt.Fprintf(g.out, "function %s updated\n", res.Name)
			default:
				fmt.Fprintf(g.out, "function %s unchanged\n", res.Name)
			}
			return nil
		},
	}
	apply.Flags().StringVarP(&file, "file", "f", "", "function definition, YAML or JSON (- for standard input)")
	var listFormat string
	list := &cobra.Command{
		Use:   "list",
		Short: "List functions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			fns, err := c.Functions(cmd.Context())
			if err != nil {
				return err
			}
			return output(g.out, listFormat, fns, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tRUNS\tTIMEOUT")
				for _, f := range fns {
					fmt.Fprintf(tw, "%s\t%s\t%dm\n", f.Name, functionRuns(f), f.TimeoutInMinutes)
				}
				tw.Flush()
			})
		},
	}
	addOutputFlag(list, &listFormat)
	var getFormat string
	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a function",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			f, err := c.Function(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return output(g.out, getFormat, f, func(w io.Writer) { printFunction(w, f) })
		},
	}
	addOutputFlag(get, &getFormat)
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a function",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteFunction(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "function %s deleted\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(apply, list, get, del)
	return cmd
}

// functionRuns says in one line what a function runs.
func functionRuns(f wire.Function) string {
	if f.URL != "" {
		return "POST " + f.URL
	}
	return strings.Join(f.Command, " ")
}

func printFunction(w io.Writer, f wire.Function) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Name:\t%s\n", f.Name)
	if f.URL != "" {
		fmt.Fprintf(tw, "URL:\t%s\n", f.URL)
	} else {
		fmt.Fprintf(tw, "Command:\t%s\n", strings.Join(f.Command, " "))
		if f.WorkingDirectory != "" {
			fmt.Fprintf(tw, "Working directory:\t%s\n", f.WorkingDirectory)
		}
	}
	fmt.Fprintf(tw, "Timeout:\t%d minutes\n", f.TimeoutInMinutes)
	fmt.Fprintf(tw, "Updated:\t%s\n", f.Updated.Local().Format("2006-01-02 15:04:05"))
	tw.Flush()
	if len(f.Environment) > 0 {
		fmt.Fprintln(w, "\nEnvironment:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, k := range sortedEnvKeys(f.Environment) {
			fmt.Fprintf(tw, "  %s\t%s\n", k, f.Environment[k])
		}
		tw.Flush()
	}
}

func sortedEnvKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
