package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/wire"
)

// newPRCmd is `sluice pr`: pull requests of hosted repositories.
func newPRCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "pr", Short: "Pull requests of hosted repositories: create, review, approve, merge"}
	var format string

	var source, dest, title, description string
	create := &cobra.Command{
		Use:   "create REPO --source BRANCH --destination BRANCH --title TITLE",
		Short: "Open a pull request to merge one branch into another (sluice:CreatePullRequest)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			pr, err := c.CreatePullRequest(cmd.Context(), args[0], wire.CreatePullRequestRequest{Title: title, Description: description, Source: source, Destination: dest})
			if err != nil {
				return err
			}
			return output(g.out, format, pr, func(w io.Writer) {
				fmt.Fprintf(w, "pull request %d opened in %s: %s into %s\n", pr.ID, pr.Repository, pr.Source, pr.Destination)
				printRules(w, pr)
			})
		},
	}
	create.Flags().StringVar(&source, "source", "", "the branch to merge")
	create.Flags().StringVar(&dest, "destination", "main", "the branch to merge into")
	create.Flags().StringVar(&title, "title", "", "the title")
	create.Flags().StringVar(&description, "description", "", "the description")
	addOutputFlag(create, &format)

	var status, author string
	list := &cobra.Command{
		Use:   "list REPO [--status open|closed] [--author NAME]",
		Short: "List a repository's pull requests, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			prs, err := c.PullRequests(cmd.Context(), args[0], status, author)
			if err != nil {
				return err
			}
			return output(g.out, format, prs, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSTATUS\tTITLE\tSOURCE\tDESTINATION\tAUTHOR\tAPPROVED BY\tUPDATED")
				for _, pr := range prs {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", pr.ID, prStatus(pr), pr.Title, pr.Source, pr.Destination, pr.Author,
						strings.Join(pr.Approved, ","), pr.Updated.Local().Format(time.DateTime))
				}
				tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&status, "status", "", "OPEN or CLOSED")
	list.Flags().StringVar(&author, "author", "", "only those of this principal")
	addOutputFlag(list, &format)

	var diff bool
	get := &cobra.Command{
		Use:   "get REPO ID [--diff]",
		Short: "Show a pull request: commits, approvals, rules, comments, pipelines (and its diff)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := prID(args[1])
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			pr, err := c.PullRequest(cmd.Context(), args[0], id)
			if err != nil {
				return err
			}
			var d wire.PullDiff
			if diff {
				if d, err = c.PullRequestDiff(cmd.Context(), args[0], id); err != nil {
					return err
				}
			}
			return output(g.out, format, pr, func(w io.Writer) {
				fmt.Fprintf(w, "pull request %d: %s [%s]\n%s into %s, by %s\n", pr.ID, pr.Title, prStatus(pr), pr.Source, pr.Destination, pr.Author)
				if pr.Description != "" {
					fmt.Fprintf(w, "\n%s\n", pr.Description)
				}
				fmt.Fprintf(w, "\ncommits (%s..%s):\n", short(pr.MergeBase), short(pr.SourceCommit))
				for _, c := range pr.Commits {
					fmt.Fprintf(w, "  %s %s (%s)\n", short(c.ID), firstLine(c.Message), c.Author)
				}
				printRules(w, pr)
				for _, p := range pr.Pipelines {
					fmt.Fprintf(w, "pipeline %s: execution %s %s\n", p.Pipeline, p.ExecutionID, p.Status)
				}
				for _, c := range pr.Comments {
					where := ""
					if c.FilePath != "" {
						where = fmt.Sprintf(" on %s:%d", c.FilePath, c.Line)
					}
					fmt.Fprintf(w, "comment %d by %s%s: %s\n", c.ID, c.Author, where, c.Content)
				}
				if diff {
					fmt.Fprintf(w, "\n%s", d.Diff)
					if d.Truncated {
						fmt.Fprintln(w, "(diff truncated)")
					}
				}
			})
		},
	}
	get.Flags().BoolVar(&diff, "diff", false, "print the diff too")
	addOutputFlag(get, &format)

	var message, file string
	var line int
	comment := &cobra.Command{
		Use:   "comment REPO ID -m TEXT [--file PATH --line N]",
		Short: "Comment on a pull request, or on a line of a file of its diff",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := prID(args[1])
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			cm, err := c.CommentOnPullRequest(cmd.Context(), args[0], id, wire.PullCommentRequest{Content: message, FilePath: file, Line: line})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "comment %d added to pull request %d\n", cm.ID, id)
			return nil
		},
	}
	comment.Flags().StringVarP(&message, "message", "m", "", "the comment")
	comment.Flags().StringVar(&file, "file", "", "a file of the diff to comment on")
	comment.Flags().IntVar(&line, "line", 0, "the line of --file, from 1")

	simple := func(use, short string, run func(cmd *cobra.Command, repo string, id int64) (wire.PullRequest, error), done string) *cobra.Command {
		return &cobra.Command{
			Use: use + " REPO ID", Short: short, Args: cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				id, err := prID(args[1])
				if err != nil {
					return err
				}
				pr, err := run(cmd, args[0], id)
				if err != nil {
					return err
				}
				fmt.Fprintf(g.out, "pull request %d %s\n", pr.ID, done)
				printRules(g.out, pr)
				return nil
			},
		}
	}
	approve := simple("approve", "Approve the pull request's current revision (sluice:UpdatePullRequestApprovalState)",
		func(cmd *cobra.Command, repo string, id int64) (wire.PullRequest, error) {
			c, err := g.client()
			if err != nil {
				return wire.PullRequest{}, err
			}
			return c.SetPullRequestApproval(cmd.Context(), repo, id, "APPROVE")
		}, "approved")
	revoke := simple("revoke", "Revoke your approval", func(cmd *cobra.Command, repo string, id int64) (wire.PullRequest, error) {
		c, err := g.client()
		if err != nil {
			return wire.PullRequest{}, err
		}
		return c.SetPullRequestApproval(cmd.Context(), repo, id, "REVOKE")
	}, "approval revoked")
	closeCmd := simple("close", "Close a pull request without merging it", func(cmd *cobra.Command, repo string, id int64) (wire.PullRequest, error) {
		c, err := g.client()
		if err != nil {
			return wire.PullRequest{}, err
		}
		return c.ClosePullRequest(cmd.Context(), repo, id)
	}, "closed")
	var undo bool
	override := simple("override", "Set the approval rules aside (sluice:OverridePullRequestApprovalRules, audited); --revoke puts them back",
		func(cmd *cobra.Command, repo string, id int64) (wire.PullRequest, error) {
			c, err := g.client()
			if err != nil {
				return wire.PullRequest{}, err
			}
			st := "OVERRIDE"
			if undo {
				st = "REVOKE"
			}
			return c.OverridePullRequestApprovalRules(cmd.Context(), repo, id, st)
		}, "approval rules override updated")
	override.Flags().BoolVar(&undo, "revoke", false, "put the rules back")

	var strategy, commitMsg string
	merge := &cobra.Command{
		Use:   "merge REPO ID [--strategy fast-forward|squash|three-way] [-m MESSAGE]",
		Short: "Merge a pull request whose approval rules are satisfied; a conflict is refused naming the files",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := prID(args[1])
			if err != nil {
				return err
			}
			switch strategy {
			case "fast-forward", "squash", "three-way":
			default:
				return fmt.Errorf("--strategy: %q is not fast-forward, squash or three-way", strategy)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			pr, err := c.MergePullRequest(cmd.Context(), args[0], id, strategy, wire.MergePullRequestRequest{Message: commitMsg})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "pull request %d merged into %s by %s: %s\n", pr.ID, pr.Destination, strategy, pr.MergeCommit)
			return nil
		},
	}
	merge.Flags().StringVar(&strategy, "strategy", "fast-forward", "fast-forward, squash or three-way")
	merge.Flags().StringVarP(&commitMsg, "message", "m", "", "the merge commit's message (squash, three-way)")

	var newTitle, newDescription string
	update := &cobra.Command{
		Use:   "update REPO ID [--title T] [--description D]",
		Short: "Change a pull request's title or description",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := prID(args[1])
			if err != nil {
				return err
			}
			var req wire.UpdatePullRequestRequest
			if cmd.Flags().Changed("title") {
				req.Title = &newTitle
			}
			if cmd.Flags().Changed("description") {
				req.Description = &newDescription
			}
			if req.Title == nil && req.Description == nil {
				return errors.New("give --title, --description or both")
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if _, err := c.UpdatePullRequest(cmd.Context(), args[0], id, req); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "pull request %d updated\n", id)
			return nil
		},
	}
	update.Flags().StringVar(&newTitle, "title", "", "the new title")
	update.Flags().StringVar(&newDescription, "description", "", "the new description")

	cmd.AddCommand(create, list, get, comment, approve, revoke, merge, closeCmd, override, update, newApprovalTemplateCmd(g))
	return cmd
}

// newApprovalTemplateCmd is `sluice pr template`: approval rule templates.
func newApprovalTemplateCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "template", Short: "Approval rule templates (CodeCommit's), associated with repositories"}
	var file, description string
	create := &cobra.Command{
		Use:   "create NAME -f RULE.json",
		Short: "Create a template from CodeCommit's approval rule content JSON",
		Long: "RULE.json is CodeCommit's approval rule content, for example\n" +
			`  {"Version":"2018-11-08","DestinationReferences":["refs/heads/main"],` + "\n" +
			`   "Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":2,"ApprovalPoolMembers":["arn:aws:iam::*:user/alice","policy/approver"]}]}` + "\n" +
			"A pool member is a pattern matched against the approver's user ARN or name, or policy/NAME (approvers whose token has that policy).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return errors.New("-f: give the rule content file")
			}
			data, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if _, err := c.CreateApprovalRuleTemplate(cmd.Context(), args[0], description, string(data)); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			fmt.Fprintf(g.out, "approval rule template %s created\n", args[0])
			return nil
		},
	}
	create.Flags().StringVarP(&file, "file", "f", "", "the approval rule content (JSON)")
	create.Flags().StringVar(&description, "description", "", "a description")
	assoc := func(use string, on bool) *cobra.Command {
		return &cobra.Command{
			Use: use + " NAME REPO", Short: use + " a template and a repository", Args: cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := g.client()
				if err != nil {
					return err
				}
				t, err := c.AssociateApprovalRuleTemplate(cmd.Context(), args[0], args[1], on)
				if err != nil {
					return err
				}
				fmt.Fprintf(g.out, "approval rule template %s: repositories %s\n", t.Name, strings.Join(t.Repositories, ", "))
				return nil
			},
		}
	}
	var format string
	list := &cobra.Command{
		Use: "list", Short: "List approval rule templates", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			ts, err := c.ApprovalRuleTemplates(cmd.Context())
			if err != nil {
				return err
			}
			return output(g.out, format, ts, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tREPOSITORIES\tCONTENT")
				for _, t := range ts {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, strings.Join(t.Repositories, ","), t.Content)
				}
				tw.Flush()
			})
		},
	}
	addOutputFlag(list, &format)
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete a template (pull requests keep the rules it gave them)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteApprovalRuleTemplate(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "approval rule template %s deleted\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, assoc("associate", true), assoc("disassociate", false), list, del)
	return cmd
}

func prID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, fmt.Errorf("ID: %q is not a pull request id (a number from 1)", s)
	}
	return id, nil
}

func prStatus(pr wire.PullRequest) string {
	if pr.Merged {
		return "MERGED"
	}
	return pr.Status
}

func printRules(w io.Writer, pr wire.PullRequest) {
	fmt.Fprintf(w, "approved by: %s\n", orDash(strings.Join(pr.Approved, ", ")))
	for _, r := range pr.Rules {
		state := "not satisfied"
		if r.Satisfied {
			state = "satisfied"
		}
		from := ""
		if r.FromTemplate != "" {
			from = " (template " + r.FromTemplate + ")"
		}
		fmt.Fprintf(w, "rule %s%s: %s\n", r.Name, from, state)
	}
	if pr.OverriddenBy != "" {
		fmt.Fprintf(w, "approval rules overridden by %s\n", pr.OverriddenBy)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
