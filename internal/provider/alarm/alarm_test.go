package alarm

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
	"github.com/sluice-ci/sluice/internal/provider"
)

// TestAgainstMoto reads real alarms from moto's CloudWatch: an alarm in OK
// passes, one in ALARM fails (at once without a WaitTime), one that leaves
// ALARM while the rule waits passes, and AlarmStates changes what fails.
func TestAgainstMoto(t *testing.T) {
	moto := mototest.Start(t)
	conn := awsconn.Static("moto", mototest.Region, moto.URL, mototest.Key, mototest.Secret, "")
	cw := Client(conn)
	ctx := context.Background()
	put := func(name string) {
		t.Helper()
		_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String(name), MetricName: aws.String("Errors"), Namespace: aws.String("Shop"),
			Statistic: types.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
			Threshold: aws.Float64(1), ComparisonOperator: types.ComparisonOperatorGreaterThanOrEqualToThreshold,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	set := func(name string, state types.StateValue) {
		t.Helper()
		_, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(name), StateValue: state, StateReason: aws.String("set by the test")})
		if err != nil {
			t.Fatal(err)
		}
	}
	run := func(cfg map[string]string, p Provider) (provider.Result, error, string) {
		var log bytes.Buffer
		job := &provider.Job{Configuration: cfg, Log: &log,
			AWS: func(context.Context, string) (*awsconn.Conn, error) { return conn, nil }}
		res, err := p.Run(ctx, job)
		return res, err, log.String()
	}

	put("healthy")
	set("healthy", types.StateValueOk)
	if res, err, _ := run(map[string]string{"AlarmName": "healthy"}, Provider{}); err != nil || res.Summary != "alarm healthy is OK" {
		t.Fatalf("OK alarm: %+v, %v", res, err)
	}

	put("firing")
	set("firing", types.StateValueAlarm)
	_, err, _ := run(map[string]string{"AlarmName": "firing"}, Provider{})
	if err == nil || !strings.Contains(err.Error(), "alarm firing is ALARM: set by the test") {
		t.Fatalf("ALARM alarm: %v", err)
	}
	// Watching only INSUFFICIENT_DATA, an alarm in ALARM passes.
	if _, err, _ := run(map[string]string{"AlarmName": "firing", "AlarmStates": "INSUFFICIENT_DATA"}, Provider{}); err != nil {
		t.Fatalf("ALARM alarm watched for INSUFFICIENT_DATA: %v", err)
	}

	// While the rule waits, the alarm goes back to OK: the rule passes.
	put("recovering")
	set("recovering", types.StateValueAlarm)
	done := make(chan error, 1)
	var log bytes.Buffer
	lw := &notifyWriter{w: &log, seen: make(chan struct{}, 1)}
	go func() {
		_, err := Provider{PollInterval: 50 * time.Millisecond}.Run(ctx, &provider.Job{
			Configuration: map[string]string{"AlarmName": "recovering", "WaitTime": "1"}, Log: lw,
			AWS: func(context.Context, string) (*awsconn.Conn, error) { return conn, nil }})
		done <- err
	}()
	<-lw.seen // the rule has read ALARM once
	set("recovering", types.StateValueOk)
	if err := <-done; err != nil {
		t.Fatalf("recovering alarm: %v", err)
	}

	if _, err, _ := run(map[string]string{"AlarmName": "missing"}, Provider{}); err == nil || !strings.Contains(err.Error(), "alarm missing not found") {
		t.Fatalf("missing alarm: %v", err)
	}
}

// notifyWriter tells, once, that something was written.
type notifyWriter struct {
	w    *bytes.Buffer
	seen chan struct{}
}

func (n *notifyWriter) Write(p []byte) (int, error) {
	select {
	case n.seen <- struct{}{}:
	default:
	}
	return len(p), nil
}
