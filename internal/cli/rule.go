package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/awsid"
	"github.com/sluice-ci/sluice/internal/eventpattern"
	"github.com/sluice-ci/sluice/internal/rule"
	"github.com/sluice-ci/sluice/internal/wire"
)

func newRuleCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "rule", Short: "Manage event rules (EventBridge's rules over sluice's events: webhooks, pipelines, functions, mail)"}
	var file string
	apply := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Create or replace a rule",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readRuleFile(file)
			if err != nil {
				return err
			}
			// Checked here first so errors come even without a server.
			r, err := rule.Parse(file, data)
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			for _, d := range r.Deprecations() {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning: "+d)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.ApplyRule(cmd.Context(), file, data)
			if err != nil {
				return err
			}
			switch {
			case res.Created:
				fmt.Fprintf(g.out, "rule %s created\n", res.Name)
			case res.Changed:
				fmt.Fprintf(g.out, "rule %s updated\n", res.Name)
			default:
				fmt.Fprintf(g.out, "rule %s unchanged\n", res.Name)
			}
			return nil
		},
	}
	apply.Flags().StringVarP(&file, "file", "f", "", "rule definition, YAML or JSON (- for standard input)")

	var listFormat string
	list := &cobra.Command{
		Use:   "list",
		Short: "List rules",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			rules, err := c.Rules(cmd.Context())
			if err != nil {
				return err
			}
			return output(g.out, listFormat, rules, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tSTATE\tON\tTARGETS")
				for _, r := range rules {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.State, ruleOn(r), strings.Join(targetWords(r.Targets), "; "))
				}
				tw.Flush()
			})
		},
	}
	addOutputFlag(list, &listFormat)

	var getFormat string
	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a rule",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			r, err := c.Rule(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return output(g.out, getFormat, r, func(w io.Writer) { printRule(w, r) })
		},
	}
	addOutputFlag(get, &getFormat)

	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a rule (what it queued is still sent)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteRule(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "rule %s deleted\n", args[0])
			return nil
		},
	}

	var failFormat string
	failures := &cobra.Command{
		Use:   "failures NAME",
		Short: "List a rule's dead letters: deliveries that never got through, with their attempts and last error",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			fs, err := c.RuleFailures(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return output(g.out, failFormat, fs, func(w io.Writer) {
				if len(fs) == 0 {
					fmt.Fprintf(w, "rule %s: no failed deliveries\n", args[0])
					return
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "DELIVERY\tTARGET\tATTEMPTS\tGAVE UP\tLAST ERROR")
				for _, f := range fs {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", f.ID, f.Target, f.Attempts,
						f.Updated.Local().Format("2006-01-02 15:04:05"), ruleErrorLine(f.LastError))
				}
				tw.Flush()
			})
		},
	}
	addOutputFlag(failures, &failFormat)

	cmd.AddCommand(apply, list, get, del, newRuleTestCmd(g), failures)
	return cmd
}

func readRuleFile(file string) ([]byte, error) {
	if file == "" {
		return nil, errors.New("-f: a rule file is required")
	}
	if file == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(file)
}

// newRuleTestCmd is `sluice rule test`: EventBridge's TestEventPattern, here
// and offline. Exit 0: a match, 1: none, 2: the rule or the event is wrong.
func newRuleTestCmd(g *globals) *cobra.Command {
	var file, eventFile string
	cmd := &cobra.Command{
		Use:   "test -f RULE --event EVENT.json",
		Short: "Say whether a rule's pattern matches an event, and why not (no server needed)",
		Long: `Matches the rule's event pattern against an event (a JSON object, as
'sluice events -o json' prints them, or a list of them) and says, field by
field, why it does not match. For a match, prints what each target with an
input transformer would receive. Exits 0 when the event matches (with a list:
when one does), 1 when none does, 2 when the rule or the event is not valid.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readRuleFile(file)
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			r, err := rule.Parse(file, data)
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			for _, d := range r.Deprecations() {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning: "+d)
			}
			p, err := r.Pattern()
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			if p == nil {
				return &ExitError{Code: 2, Err: fmt.Errorf("rule %s has no eventPattern: it fires on its schedule (%s)", r.Name, r.ScheduleExpression)}
			}
			events, err := readEvents(eventFile)
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			matched := 0
			for i, ev := range events {
				prefix := ""
				if len(events) > 1 {
					id, _ := ev["id"].(string)
					prefix = fmt.Sprintf("event %d (%s): ", i+1, id)
				}
				ok, why := p.Explain(ev)
				if !ok {
					fmt.Fprintf(g.out, "%srule %s does not match:\n", prefix, r.Name)
					for _, w := range why {
						fmt.Fprintf(g.out, "  %s\n", w)
					}
					continue
				}
				matched++
				fmt.Fprintf(g.out, "%srule %s matches\n", prefix, r.Name)
				printTransformed(g.out, r, ev)
			}
			if matched == 0 {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "rule definition, YAML or JSON")
	cmd.Flags().StringVar(&eventFile, "event", "", "the event, JSON (- for standard input)")
	return cmd
}

func readEvents(file string) ([]map[string]any, error) {
	if file == "" {
		return nil, errors.New("--event: an event file is required")
	}
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(data)
	if bytes.HasPrefix(trimmed, []byte("[")) {
		var list []json.RawMessage
		if err := json.Unmarshal(trimmed, &list); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		var out []map[string]any
		for i, raw := range list {
			ev, err := eventpattern.DecodeEvent(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: item %d: %w", file, i, err)
			}
			out = append(out, ev)
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%s: an empty list: no event to test", file)
		}
		return out, nil
	}
	ev, err := eventpattern.DecodeEvent(trimmed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return []map[string]any{ev}, nil
}

// printTransformed shows what each target with an input transformer would
// receive for the event.
func printTransformed(w io.Writer, r *rule.Rule, ev map[string]any) {
	for i, t := range r.Targets {
		it := t.Transformer()
		if it == nil {
			continue
		}
		tr, err := eventpattern.CompileTransformer(it.InputPathsMap, it.InputTemplate)
		if err != nil {
			continue // Parse checked it
		}
		out, err := tr.Apply(ev, eventpattern.Predefined{RuleName: r.Name, RuleARN: rule.ARN(awsid.Default(), r.Name)})
		if err != nil {
			fmt.Fprintf(w, "  targets[%d] (%s): %v\n", i, t.Describe(), err)
			continue
		}
		fmt.Fprintf(w, "  targets[%d] (%s) would receive: %s\n", i, t.Describe(), out)
	}
}

// ruleOn says what a rule reacts to, in a few words.
func ruleOn(r wire.Rule) string {
	if r.ScheduleExpression != "" {
		return r.ScheduleExpression
	}
	// The server sends the pattern indented: one line of it for a table.
	var compact bytes.Buffer
	s := string(r.EventPattern)
	if json.Compact(&compact, r.EventPattern) == nil {
		s = compact.String()
	}
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

func targetWords(ts []wire.RuleTarget) []string {
	var out []string
	for _, t := range ts {
		switch {
		case t.Webhook != nil:
			out = append(out, "webhook "+redact(t.Webhook.URL))
		case t.Pipeline != nil:
			out = append(out, "pipeline "+t.Pipeline.Name)
		case t.Function != nil:
			out = append(out, "function "+t.Function.Name)
		case t.Email != nil:
			out = append(out, "email "+strings.Join(t.Email.To, ", "))
		}
	}
	return out
}

func redact(u string) string {
	return rule.Target{Webhook: &rule.WebhookTarget{URL: u}}.Describe()[len("webhook "):]
}

func printRule(w io.Writer, r wire.Rule) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Name:\t%s\n", r.Name)
	if r.Description != "" {
		fmt.Fprintf(tw, "Description:\t%s\n", r.Description)
	}
	fmt.Fprintf(tw, "State:\t%s\n", r.State)
	fmt.Fprintf(tw, "ARN:\t%s\n", r.ARN)
	if r.ScheduleExpression != "" {
		fmt.Fprintf(tw, "Schedule:\t%s (UTC)\n", r.ScheduleExpression)
	}
	fmt.Fprintf(tw, "Updated:\t%s\n", r.Updated.Local().Format("2006-01-02 15:04:05"))
	tw.Flush()
	if len(r.EventPattern) > 0 {
		var pretty bytes.Buffer
		if json.Indent(&pretty, r.EventPattern, "  ", "  ") == nil {
			fmt.Fprintf(w, "\nEvent pattern:\n  %s\n", pretty.String())
		}
	}
	fmt.Fprintln(w, "\nTargets:")
	for i, t := range r.Targets {
		words := targetWords([]wire.RuleTarget{t})
		fmt.Fprintf(w, "  %d. %s\n", i+1, strings.Join(words, ""))
		var it *wire.InputTransformer
		retry := ""
		switch {
		case t.Webhook != nil:
			it, retry = t.Webhook.InputTransformer, t.Webhook.RetryFor
			if t.Webhook.Secret != "" {
				fmt.Fprintf(w, "     signed with secret %s\n", t.Webhook.Secret)
			}
		case t.Pipeline != nil:
			retry = t.Pipeline.RetryFor
			for _, k := range sortedEnvKeys(t.Pipeline.Variables) {
				fmt.Fprintf(w, "     variable %s = %s\n", k, t.Pipeline.Variables[k])
			}
		case t.Function != nil:
			it, retry = t.Function.InputTransformer, t.Function.RetryFor
		case t.Email != nil:
			it, retry = t.Email.InputTransformer, t.Email.RetryFor
		}
		if it != nil {
			fmt.Fprintf(w, "     input: %s\n", it.InputTemplate)
		}
		if retry == "" {
			retry = "24h"
		}
		fmt.Fprintf(w, "     retried for %s\n", retry)
	}
}

func ruleErrorLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}
