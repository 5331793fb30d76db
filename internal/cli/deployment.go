package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/wire"
)

func newDeploymentCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "deployment", Short: "Deployments to deployment groups: create, list, show with each host's events and logs"}
	var app, group, revision string
	var wait bool
	create := &cobra.Command{
		Use:   "create --application A --group G --revision ZIP|DIR",
		Short: "Deploy a revision (a zip, or a directory zipped as it is) to a deployment group",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			body, err := revisionReader(cmd.Context(), revision)
			if err != nil {
				return err
			}
			defer body.Close()
			d, err := c.CreateDeployment(cmd.Context(), app, group, body)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "deployment %s created (%d hosts, %d at a time)\n", d.ID, len(d.Hosts), d.Batch)
			if !wait {
				return nil
			}
			for d.Status == "InProgress" {
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(500 * time.Millisecond):
				}
				if d, err = c.Deployment(cmd.Context(), d.ID); err != nil {
					return err
				}
			}
			printDeployment(g.out, d, false)
			if d.Status != "Succeeded" {
				return &ExitError{Code: 1, Err: fmt.Errorf("deployment %s %s: %s", d.ID, d.Status, d.Message)}
			}
			return nil
		},
	}
	create.Flags().StringVar(&app, "application", "", "application name")
	create.Flags().StringVar(&group, "group", "", "deployment group name")
	create.Flags().StringVar(&revision, "revision", "", "the revision: a zip with appspec.yml at its root, or a directory")
	create.Flags().BoolVar(&wait, "wait", false, "wait for the deployment to end; exit 1 unless it succeeded")
	var listFormat string
	list := &cobra.Command{
		Use:   "list",
		Short: "List deployments, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			ds, err := c.Deployments(cmd.Context(), app, group)
			if err != nil {
				return err
			}
			return output(g.out, listFormat, ds, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tAPPLICATION\tGROUP\tSTATUS\tHOSTS\tCREATED\tMESSAGE")
				for _, d := range ds {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.Application, d.Group, d.Status, len(d.Hosts), d.Created.Local().Format("2006-01-02 15:04:05"), d.Message)
				}
				tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&app, "application", "", "only this application's")
	list.Flags().StringVar(&group, "group", "", "only this group's")
	addOutputFlag(list, &listFormat)
	var getFormat string
	var logs bool
	get := &cobra.Command{
		Use:   "get ID",
		Short: "Show a deployment: each host's status and lifecycle events (--logs: their logs)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			d, err := c.Deployment(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return output(g.out, getFormat, d, func(w io.Writer) { printDeployment(w, d, logs) })
		},
	}
	get.Flags().BoolVar(&logs, "logs", false, "print each event's log")
	addOutputFlag(get, &getFormat)
	var agentsFormat string
	agents := &cobra.Command{
		Use:   "agents",
		Short: "List the registered agents",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			as, err := c.Agents(cmd.Context())
			if err != nil {
				return err
			}
			return output(g.out, agentsFormat, as, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tGROUP\tTAGS\tLAST SEEN")
				for _, a := range as {
					var tags []string
					for _, k := range sortedEnvKeys(a.Tags) {
						tags = append(tags, k+"="+a.Tags[k])
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.ID, a.Group, strings.Join(tags, ","), a.LastSeen.Local().Format("15:04:05"))
				}
				tw.Flush()
			})
		},
	}
	addOutputFlag(agents, &agentsFormat)
	cmd.AddCommand(create, list, get, agents, newRegisterAgentCmd(g), newDeregisterAgentCmd(g))
	return cmd
}

// revisionReader opens a zip, or zips a directory into a temporary file.
func revisionReader(ctx context.Context, p string) (io.ReadCloser, error) {
	if p == "" {
		return nil, errors.New("--revision: required")
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("--revision: %w", err)
	}
	if !st.IsDir() {
		return os.Open(p)
	}
	f, err := os.CreateTemp("", "sluice-revision-*.zip")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name()) // gone when closed
	if _, err := artifact.Zip(ctx, f, p, []string{"**/*"}); err != nil {
		f.Close()
		return nil, fmt.Errorf("--revision: zip %s: %w", p, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func printDeployment(w io.Writer, d wire.Deployment, logs bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Deployment:\t%s\n", d.ID)
	fmt.Fprintf(tw, "Group:\t%s/%s\n", d.Application, d.Group)
	fmt.Fprintf(tw, "Configuration:\t%s (%d at a time, %d healthy)\n", d.Config, d.Batch, d.MinHealthy)
	fmt.Fprintf(tw, "Status:\t%s\n", d.Status)
	if d.Message != "" {
		fmt.Fprintf(tw, "Message:\t%s\n", d.Message)
	}
	if d.RollbackOf != "" {
		fmt.Fprintf(tw, "Rollback of:\t%s\n", d.RollbackOf)
	}
	if d.RolledBack != "" {
		fmt.Fprintf(tw, "Rolled back by:\t%s\n", d.RolledBack)
	}
	tw.Flush()
	for _, h := range d.Hosts {
		fmt.Fprintf(w, "\n%s: %s %s\n", h.Agent, h.Status, h.Message)
		for _, e := range h.Events {
			fmt.Fprintf(w, "  %-20s %-9s %6dms %s\n", e.Event, e.Status, e.DurationMS, e.Message)
			if logs && e.Log != "" {
				fmt.Fprintf(w, "%s", indent(e.Log, "    | "))
			}
		}
	}
}

func indent(s, prefix string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString(prefix + strings.TrimRight(line, "\n") + "\n")
	}
	return b.String()
}

// newRegisterAgentCmd sets an agent's pinned group and tags: an agent's
// own claims cannot change them (CodeDeploy's register-on-premises-instance).
func newRegisterAgentCmd(g *globals) *cobra.Command {
	var group, format string
	var tags []string
	cmd := &cobra.Command{
		Use:   "register-agent ID --group NAME [--tag k=v]...",
		Short: "Set the group and tags an agent is pinned to (before it first runs, or to move it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if group == "" {
				return errors.New("--group: required")
			}
			tagMap, err := parseTags(tags)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			a, err := c.RegisterAgent(cmd.Context(), args[0], wire.AgentRegistration{Group: group, Tags: tagMap})
			if err != nil {
				return err
			}
			return output(g.out, format, a, func(w io.Writer) {
				fmt.Fprintf(w, "agent %s registered in group %s", a.ID, a.Group)
				for _, k := range sortedEnvKeys(a.Tags) {
					fmt.Fprintf(w, " %s=%s", k, a.Tags[k])
				}
				fmt.Fprintln(w)
			})
		},
	}
	cmd.Flags().StringVar(&group, "group", "", "the agent group")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "a tag KEY=VALUE (repeatable); the agent's tags become exactly these")
	addOutputFlag(cmd, &format)
	return cmd
}

// newDeregisterAgentCmd clears an agent's registration.
func newDeregisterAgentCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "deregister-agent ID",
		Short: "Forget an agent's registration: its next claim is trusted as a first registration",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeregisterAgent(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "agent %s deregistered\n", args[0])
			return nil
		},
	}
}

// parseTags reads --tag KEY=VALUE flags.
func parseTags(tags []string) (map[string]string, error) {
	out := map[string]string{}
	for _, t := range tags {
		k, v, ok := strings.Cut(t, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--tag %q: want KEY=VALUE", t)
		}
		out[k] = v
	}
	return out, nil
}
