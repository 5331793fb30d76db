package cli

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/wire"
)

func newRepoCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "repo", Short: "Host git repositories (push to them to start pipelines)"}
	cmd.AddCommand(newRepoCreateCmd(g), newRepoListCmd(g), newRepoGetCmd(g), newRepoDeleteCmd(g), newRepoProtectCmd(g), newRepoMirrorCmd(g))
	return cmd
}

const repoCredentialsHint = "git asks for credentials: any user name, a sluice token as the password"

func newRepoCreateCmd(g *globals) *cobra.Command {
	var description, format string
	cmd := &cobra.Command{
		Use:   "create NAME [--description D]",
		Short: "Create an empty repository",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			r, err := c.CreateRepo(cmd.Context(), args[0], description)
			if err != nil {
				return err
			}
			return output(g.out, format, r, func(w io.Writer) {
				fmt.Fprintf(w, "repository %s created\n", r.Name)
				fmt.Fprintf(w, "  git remote add sluice %s && git push sluice main\n", r.CloneURL)
				fmt.Fprintf(w, "  (%s)\n", repoCredentialsHint)
			})
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the repository holds")
	addOutputFlag(cmd, &format)
	return cmd
}

func newRepoListCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List repositories",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			repos, err := c.Repos(cmd.Context())
			if err != nil {
				return err
			}
			return output(g.out, format, repos, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tCREATED\tCLONE URL\tDESCRIPTION")
				for _, r := range repos {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.Created.Local().Format(time.DateTime), r.CloneURL, r.Description)
				}
				tw.Flush()
			})
		},
	}
	addOutputFlag(cmd, &format)
	return cmd
}

func newRepoGetCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a repository",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			r, err := c.Repo(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return output(g.out, format, r, func(w io.Writer) { printRepo(w, r) })
		},
	}
	addOutputFlag(cmd, &format)
	return cmd
}

func printRepo(w io.Writer, r wire.Repo) {
	fmt.Fprintf(w, "name:        %s\n", r.Name)
	if r.Description != "" {
		fmt.Fprintf(w, "description: %s\n", r.Description)
	}
	fmt.Fprintf(w, "created:     %s\n", r.Created.Local().Format(time.DateTime))
	fmt.Fprintf(w, "clone URL:   %s\n", r.CloneURL)
	if len(r.Protections) == 0 {
		fmt.Fprintln(w, "protected branches: none")
		return
	}
	fmt.Fprintln(w, "protected branches:")
	for _, p := range r.Protections {
		fmt.Fprintf(w, "  %s: %s\n", p.Branch, protectionText(p))
	}
}

func protectionText(p wire.BranchProtection) string {
	switch {
	case p.NoForcePush && p.NoDelete:
		return "no force pushes, no deletion"
	case p.NoForcePush:
		return "no force pushes"
	case p.NoDelete:
		return "no deletion"
	}
	return "not protected"
}

func newRepoDeleteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a repository with its history",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteRepo(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "repository %s deleted\n", args[0])
			return nil
		},
	}
}

func newRepoProtectCmd(g *globals) *cobra.Command {
	var p wire.BranchProtection
	var format string
	cmd := &cobra.Command{
		Use:   "protect NAME BRANCH [--no-force-push] [--no-delete]",
		Short: "Refuse force pushes to a branch, or its deletion (no flag: lift the protection)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			p.Branch = args[1]
			r, err := c.ProtectBranch(cmd.Context(), args[0], p)
			if err != nil {
				return err
			}
			return output(g.out, format, r, func(w io.Writer) {
				if !p.NoForcePush && !p.NoDelete {
					fmt.Fprintf(w, "branch %s of %s is not protected\n", p.Branch, r.Name)
					return
				}
				fmt.Fprintf(w, "branch %s of %s protected: %s\n", p.Branch, r.Name, protectionText(p))
			})
		},
	}
	cmd.Flags().BoolVar(&p.NoForcePush, "no-force-push", false, "refuse pushes that are not fast-forwards")
	cmd.Flags().BoolVar(&p.NoDelete, "no-delete", false, "refuse deleting the branch")
	addOutputFlag(cmd, &format)
	return cmd
}
