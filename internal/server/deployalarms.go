package server

import (
	"context"
	"errors"
	"io"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/deploygroup"
	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/provider/alarm"
	"github.com/sluice-ci/sluice/internal/provider/metric"
	"github.com/sluice-ci/sluice/internal/service"
)

// deployAlarmCheck reads a deployment group's alarm or rule with the stage
// conditions' own rule providers, so that a CloudWatchAlarm or Metric rule
// means the same on a deployment group as on a stage.
func deployAlarmCheck(svc *service.Service) service.AlarmCheck {
	rules := map[string]provider.Provider{
		deploygroup.RuleCloudWatchAlarm: alarm.Provider{},
		deploygroup.RuleMetric:          metric.Provider{},
	}
	return func(ctx context.Context, g deploygroup.Group, c deploygroup.Check) (bool, string, error) {
		p, ok := rules[c.Provider]
		if !ok {
			return false, "", errors.New("unknown rule type " + c.Provider)
		}
		job := &provider.Job{
			Provider: c.Provider, Configuration: c.Configuration, Log: io.Discard,
			AWS: func(ctx context.Context, name string) (*awsconn.Conn, error) {
				settings, err := svc.DeployGroupConnection(ctx, g, name)
				if err != nil {
					return nil, err
				}
				return awsconn.Open(ctx, settings, awsconn.DefaultSessionName)
			},
		}
		_, err := p.Run(ctx, job)
		var verdict *provider.RuleFailedError
		if errors.As(err, &verdict) {
			return false, verdict.Error(), nil
		}
		return err == nil, "", err
	}
}
