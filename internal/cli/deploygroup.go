package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/deploygroup"
	"github.com/sluice-ci/sluice/internal/wire"
)

func newDeployGroupCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "deploy-group", Short: "Manage deployment groups (which agents a CodeDeploy action deploys to, and how many at a time)"}
	var file string
	apply := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Create or replace a deployment group",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readFileFlag(file)
			if err != nil {
				return err
			}
			// Checked here first so errors come even without a server.
			if _, err := deploygroup.Parse(file, data); err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.ApplyDeployGroup(cmd.Context(), file, data)
			if err != nil {
				return err
			}
			what := "unchanged"
			switch {
			case res.Created:
				what = "created"
			case res.Changed:
				what = "updated"
			}
			fmt.Fprintf(g.out, "deployment group %s/%s %s\n", res.Group.Application, res.Group.Name, what)
			return nil
		},
	}
	apply.Flags().StringVarP(&file, "file", "f", "", "deployment group, YAML or JSON (- for standard input)")
	var listFormat, app string
	list := &cobra.Command{
		Use:   "list",
		Short: "List deployment groups",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			gs, err := c.DeployGroups(cmd.Context(), app)
			if err != nil {
				return err
			}
			return output(g.out, listFormat, gs, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "APPLICATION\tGROUP\tAGENTS\tCONFIGURATION\tROLLBACK")
				for _, d := range gs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\n", d.Application, d.Name, targetsText(d), configText(d), d.AutoRollback)
				}
				tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&app, "application", "", "only this application's groups")
	addOutputFlag(list, &listFormat)
	var getFormat string
	get := &cobra.Command{
		Use:   "get APPLICATION GROUP",
		Short: "Show a deployment group",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			d, err := c.DeployGroup(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return output(g.out, getFormat, d, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "Application:\t%s\n", d.Application)
				fmt.Fprintf(tw, "Group:\t%s\n", d.Name)
				fmt.Fprintf(tw, "Agents:\t%s\n", targetsText(d))
				fmt.Fprintf(tw, "Configuration:\t%s\n", configText(d))
				fmt.Fprintf(tw, "Automatic rollback:\t%v %s\n", d.AutoRollback, strings.Join(d.RollbackEvents, ","))
				fmt.Fprintf(tw, "Updated:\t%s\n", d.Updated.Local().Format("2006-01-02 15:04:05"))
				tw.Flush()
			})
		},
	}
	addOutputFlag(get, &getFormat)
	del := &cobra.Command{
		Use:   "delete APPLICATION GROUP",
		Short: "Delete a deployment group",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteDeployGroup(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "deployment group %s/%s deleted\n", args[0], args[1])
			return nil
		},
	}
	cmd.AddCommand(apply, list, get, del)
	return cmd
}

func targetsText(d wire.DeployGroup) string {
	s := "group " + d.AgentGroup
	for _, k := range sortedEnvKeys(d.Tags) {
		s += fmt.Sprintf(", %s=%s", k, d.Tags[k])
	}
	return s
}

func configText(d wire.DeployGroup) string {
	if d.Config == deploygroup.Custom {
		return fmt.Sprintf("Custom (minimum healthy %s %d)", d.MinimumHealthyType, d.MinimumHealthyValue)
	}
	return d.Config
}
