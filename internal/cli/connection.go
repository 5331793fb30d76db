package cli

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/connection"
)

func newConnectionCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "connection", Short: "Manage connections (how actions reach other systems: aws accounts)"}
	var file string
	apply := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Create or replace a connection",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readFileFlag(file)
			if err != nil {
				return err
			}
			// Checked here first so errors come even without a server.
			if _, err := connection.Parse(file, data); err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.ApplyConnection(cmd.Context(), file, data)
			if err != nil {
				return err
			}
			switch {
			case res.Created:
				fmt.Fprintf(g.out, "connection %s created\n", res.Name)
			case res.Changed:
				fmt.Fprintf(g.out, "connection %s updated\n", res.Name)
			default:
				fmt.Fprintf(g.out, "connection %s unchanged\n", res.Name)
			}
			return nil
		},
	}
	apply.Flags().StringVarP(&file, "file", "f", "", "connection definition, YAML or JSON (- for standard input)")
	var listFormat string
	list := &cobra.Command{
		Use:   "list",
		Short: "List connections",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			all, err := c.Connections(cmd.Context())
			if err != nil {
				return err
			}
			return output(g.out, listFormat, all, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tKIND\tREGION\tENDPOINT\tCREDENTIALS\tROLE")
				for _, k := range all {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.Name, k.Kind, k.Region, dash(k.Endpoint), connectionCredentials(k), connectionRole(k))
				}
				tw.Flush()
			})
		},
	}
	addOutputFlag(list, &listFormat)
	var getFormat string
	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a connection (its secret's name, never the keys)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			k, err := c.Connection(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return output(g.out, getFormat, k, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "Name:\t%s\nKind:\t%s\nRegion:\t%s\nEndpoint:\t%s\n", k.Name, k.Kind, k.Region, dash(k.Endpoint))
				for svc, e := range k.Endpoints {
					fmt.Fprintf(tw, "Endpoint (%s):\t%s\n", svc, e)
				}
				fmt.Fprintf(tw, "S3 path style:\t%v\nBucket:\t%s\nCredentials:\t%s\nRole:\t%s\n",
					k.PathStyle(), dash(k.Bucket), connectionCredentials(k), connectionRole(k))
				fmt.Fprintf(tw, "Created:\t%s\nUpdated:\t%s\n", k.Created.Format("2006-01-02 15:04:05"), k.Updated.Format("2006-01-02 15:04:05"))
				tw.Flush()
			})
		},
	}
	addOutputFlag(get, &getFormat)
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a connection",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteConnection(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "connection %s deleted\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(apply, list, get, del)
	return cmd
}

func connectionCredentials(k client.Connection) string {
	if k.Credentials.FromWorker {
		return "the worker's environment"
	}
	return "secret " + k.Credentials.Secret
}

func connectionRole(k client.Connection) string {
	if k.Role == nil {
		return "-"
	}
	return k.Role.ARN
}
