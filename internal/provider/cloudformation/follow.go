package cloudformation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"
)

// api is the part of the CloudFormation client the stack actions use.
type api interface {
	DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
	DescribeStackEvents(context.Context, *cloudformation.DescribeStackEventsInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error)
	CancelUpdateStack(context.Context, *cloudformation.CancelUpdateStackInput, ...func(*cloudformation.Options)) (*cloudformation.CancelUpdateStackOutput, error)
}

// inProgress reports whether status is one CloudFormation is still moving a
// stack out of. REVIEW_IN_PROGRESS is not: it is a stack created by a change
// set that nobody has executed, and it stays so until someone does.
func inProgress(s types.StackStatus) bool {
	return strings.HasSuffix(string(s), "_IN_PROGRESS") && s != types.StackStatusReviewInProgress
}

// succeeded reports whether a stack operation that ended in status went well.
func succeeded(s types.StackStatus) bool {
	switch s {
	case types.StackStatusCreateComplete, types.StackStatusUpdateComplete,
		types.StackStatusDeleteComplete, types.StackStatusImportComplete:
		return true
	}
	return false
}

// failedState lists the statuses REPLACE_ON_FAILURE deletes a stack in,
// because CloudFormation can neither update it nor roll it forward.
func failedState(s types.StackStatus) bool {
	switch s {
	case types.StackStatusCreateFailed, types.StackStatusRollbackComplete, types.StackStatusRollbackFailed,
		types.StackStatusDeleteFailed, types.StackStatusUpdateRollbackFailed, types.StackStatusReviewInProgress:
		return true
	}
	return false
}

// isNotFound reports CloudFormation's answer for a stack that does not exist
// (a ValidationError, not a typed error).
func isNotFound(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && strings.Contains(ae.ErrorMessage(), "does not exist")
}

// isNoUpdates reports UpdateStack's answer for a template and parameters
// equal to the stack's: CodePipeline counts it as success.
func isNoUpdates(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && strings.Contains(ae.ErrorMessage(), "No updates are to be performed")
}

// describe returns the stack named (or with the id) name, or nil when there
// is none.
func describe(ctx context.Context, c api, name string) (*types.Stack, error) {
	out, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe stack %s: %w", name, err)
	}
	if len(out.Stacks) == 0 {
		return nil, nil
	}
	return &out.Stacks[0], nil
}

// follower prints a stack's events to the action's log as they appear and
// waits for the stack to leave its *_IN_PROGRESS states.
type follower struct {
	api      api
	log      io.Writer
	interval time.Duration
	// stack is the stack's id once known: after a delete, only the id
	// still finds the stack.
	stack string
	seen  map[string]bool
	// events are those of this action's operations, oldest first.
	events []types.StackEvent
}

func newFollower(c api, log io.Writer, interval time.Duration) *follower {
	return &follower{api: c, log: log, interval: interval, seen: map[string]bool{}}
}

// skipPast marks the stack's events so far as seen, so that the log shows
// only what happens from now on.
func (f *follower) skipPast(ctx context.Context, stack string) error {
	f.stack = stack
	_, err := f.newEvents(ctx)
	f.events = nil
	return err
}

// newEvents fetches the events not seen yet, oldest first. CloudFormation
// lists events newest first, so the pages are read until a seen one.
func (f *follower) newEvents(ctx context.Context) ([]types.StackEvent, error) {
	var fresh []types.StackEvent
	var token *string
	for {
		out, err := f.api.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String(f.stack), NextToken: token})
		if isNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("describe events of stack %s: %w", f.stack, err)
		}
		done := false
		for _, e := range out.StackEvents {
			id := aws.ToString(e.EventId)
			if f.seen[id] {
				done = true
				break
			}
			f.seen[id] = true
			fresh = append(fresh, e)
		}
		if done || out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	for i, j := 0, len(fresh)-1; i < j; i, j = i+1, j-1 {
		fresh[i], fresh[j] = fresh[j], fresh[i]
	}
	f.events = append(f.events, fresh...)
	return fresh, nil
}

// print fetches and logs the new events.
func (f *follower) print(ctx context.Context) error {
	evs, err := f.newEvents(ctx)
	for _, e := range evs {
		fmt.Fprintln(f.log, formatEvent(e))
	}
	return err
}

func formatEvent(e types.StackEvent) string {
	var b strings.Builder
	b.WriteString(aws.ToTime(e.Timestamp).UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, " %s %s %s", aws.ToString(e.LogicalResourceId), aws.ToString(e.ResourceType), e.ResourceStatus)
	if r := aws.ToString(e.ResourceStatusReason); r != "" {
		b.WriteString(" ")
		b.WriteString(r)
	}
	return b.String()
}

// wait follows the stack until it is no longer in progress and returns it
// (nil once deleted). When ctx ends first during an update it asks
// CloudFormation to cancel the update, which rolls it back, and says so.
func (f *follower) wait(ctx context.Context) (*types.Stack, error) {
	// Polls start at a fifth of the interval and double up to it: a quick
	// operation (a change set, a parameter update) is seen to end soon
	// after it does, a long one costs no more calls than the interval's.
	d := max(f.interval/5, time.Millisecond)
	for {
		if err := f.print(ctx); err != nil && ctx.Err() == nil {
			return nil, err
		}
		st, err := describe(ctx, f.api, f.stack)
		if err != nil && ctx.Err() == nil {
			return nil, err
		}
		if err == nil && (st == nil || !inProgress(st.StackStatus)) {
			// The last events (the stack's own final one) may have
			// landed between the two calls.
			if err := f.print(ctx); err != nil {
				return nil, err
			}
			return st, nil
		}
		timer := time.NewTimer(d)
		d = min(2*d, f.interval)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, f.cancel(ctx, st)
		case <-timer.C:
		}
	}
}

// cancel answers a stop: an update in progress is cancelled where
// CloudFormation allows it (UPDATE_IN_PROGRESS only); anything else is left
// to finish on its own, and the log says which.
func (f *follower) cancel(ctx context.Context, st *types.Stack) error {
	status := types.StackStatus("")
	if st != nil {
		status = st.StackStatus
	}
	if status != types.StackStatusUpdateInProgress {
		fmt.Fprintf(f.log, "stopped: stack %s is %s, which CloudFormation cannot cancel; it goes on without this action\n", f.stack, status)
		return fmt.Errorf("stopped while stack %s was %s: %w", f.stack, status, ctx.Err())
	}
	// The action's context is over; the cancel call gets a short one of
	// its own.
	cctx, done := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer done()
	if _, err := f.api.CancelUpdateStack(cctx, &cloudformation.CancelUpdateStackInput{StackName: aws.String(f.stack)}); err != nil {
		fmt.Fprintf(f.log, "stopped: cancelling the update of stack %s failed: %v\n", f.stack, err)
		return fmt.Errorf("stopped; cancelling the update of stack %s failed: %v: %w", f.stack, err, ctx.Err())
	}
	fmt.Fprintf(f.log, "stopped: cancelled the update of stack %s; CloudFormation rolls it back\n", f.stack)
	return fmt.Errorf("stopped; the update of stack %s was cancelled and rolls back: %w", f.stack, ctx.Err())
}

// FailureCause names what made a stack operation fail: the first resource
// event of the operation in a *_FAILED status with a reason that is not
// merely the consequence of another failure ("Resource creation cancelled"),
// or "" when the events say nothing.
func FailureCause(events []types.StackEvent) string {
	var fallback string
	for _, e := range events {
		if !strings.HasSuffix(string(e.ResourceStatus), "_FAILED") {
			continue
		}
		reason := aws.ToString(e.ResourceStatusReason)
		msg := fmt.Sprintf("resource %s (%s) %s: %s", aws.ToString(e.LogicalResourceId), aws.ToString(e.ResourceType), e.ResourceStatus, reason)
		if aws.ToString(e.ResourceType) == "AWS::CloudFormation::Stack" {
			if fallback == "" {
				fallback = msg
			}
			continue
		}
		if strings.Contains(reason, "cancelled") && fallback != "" {
			continue
		}
		if strings.Contains(reason, "cancelled") {
			fallback = msg
			continue
		}
		return msg
	}
	return fallback
}
