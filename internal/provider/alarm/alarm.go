// Package alarm is the CloudWatchAlarm rule of stage conditions: it reads a
// CloudWatch alarm's state through the job's aws connection and fails while
// the alarm is in one of the states the rule watches (ALARM unless
// AlarmStates says otherwise), waiting up to WaitTime minutes for it to
// leave them, as CodePipeline's CloudWatchAlarm rule does.
package alarm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/provider"
)

// DefaultPollInterval is how often the alarm is read while the rule waits.
const DefaultPollInterval = 15 * time.Second

// Provider runs CloudWatchAlarm rules.
type Provider struct {
	// PollInterval is how often DescribeAlarms is called while waiting; 0
	// means DefaultPollInterval. Tests shorten it.
	PollInterval time.Duration
}

// Client is a CloudWatch client for conn, at its cloudwatch endpoint when
// it names one (moto, LocalStack). go.mod keeps the CloudWatch SDK at a
// version that speaks CloudWatch's query protocol, which AWS still serves
// and moto speaks, rather than the newer CBOR one moto does not.
func Client(conn *awsconn.Conn) *cloudwatch.Client {
	return cloudwatch.NewFromConfig(conn.Config, func(o *cloudwatch.Options) {
		if e := conn.EndpointFor("monitoring"); e != "" {
			o.BaseEndpoint = aws.String(e)
		}
	})
}

// Run implements provider.Provider.
func (p Provider) Run(ctx context.Context, job *provider.Job) (provider.Result, error) {
	cfg := job.Configuration
	name := cfg["AlarmName"]
	if name == "" {
		return provider.Result{}, errors.New("AlarmName is required")
	}
	watched := splitStates(cfg["AlarmStates"])
	wait, err := provider.WaitTime(cfg)
	if err != nil {
		return provider.Result{}, err
	}
	if job.AWS == nil {
		return provider.Result{}, errors.New("this worker has no aws connections")
	}
	conn, err := job.AWS(ctx, cfg["Connection"])
	if err != nil {
		return provider.Result{}, fmt.Errorf("aws connection: %w", err)
	}
	client := Client(conn)
	interval := p.PollInterval
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	deadline := time.Now().Add(wait)
	for {
		state, reason, err := alarmState(ctx, client, name)
		if err != nil {
			return provider.Result{}, err
		}
		if !slices.Contains(watched, state) {
			msg := fmt.Sprintf("alarm %s is %s", name, state)
			fmt.Fprintln(job.Log, msg)
			return provider.Result{Summary: msg}, nil
		}
		fmt.Fprintf(job.Log, "alarm %s is %s: %s\n", name, state, reason)
		if !time.Now().Before(deadline) {
			if wait > 0 {
				return provider.Result{}, provider.RuleFailed(fmt.Errorf("alarm %s is %s after waiting %s: %s", name, state, wait, reason))
			}
			return provider.Result{}, provider.RuleFailed(fmt.Errorf("alarm %s is %s: %s", name, state, reason))
		}
		t := time.NewTimer(min(interval, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return provider.Result{}, ctx.Err()
		case <-t.C:
		}
	}
}

func alarmState(ctx context.Context, client *cloudwatch.Client, name string) (state, reason string, err error) {
	out, err := client.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name}})
	if err != nil {
		return "", "", fmt.Errorf("describe alarm %s: %w", name, err)
	}
	for _, a := range out.MetricAlarms {
		return string(a.StateValue), aws.ToString(a.StateReason), nil
	}
	for _, a := range out.CompositeAlarms {
		return string(a.StateValue), aws.ToString(a.StateReason), nil
	}
	return "", "", fmt.Errorf("alarm %s not found", name)
}

// splitStates reads AlarmStates, ALARM when it is empty.
func splitStates(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return []string{"ALARM"}
	}
	return out
}
