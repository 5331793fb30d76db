package service

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-ci/sluice/internal/deploygroup"
)

// A deployment group's alarmConfiguration is watched here, as CodeDeploy
// watches a group's CloudWatch alarms: while a deployment runs, and for the
// group's watchSeconds after its hosts are done, every alarm and rule is
// read each interval; one that fails (an alarm in ALARM, a metric past its
// threshold), or one that cannot be read unless ignorePollAlarmFailure,
// stops the deployment, and DEPLOYMENT_STOP_ON_ALARM rolls the group back
// to its last revision that succeeded. A rollback deployment is not watched:
// the alarm that caused it is likely still in ALARM.

// AlarmCheck reads one of a group's checks once: ok false with the reason
// when it fails, err when it could not be read. The server wires the stage
// conditions' own rule providers (CloudWatchAlarm, Metric) to it.
type AlarmCheck func(ctx context.Context, g deploygroup.Group, c deploygroup.Check) (ok bool, reason string, err error)

type deployAlarms struct {
	check AlarmCheck
	every time.Duration
}

// DefaultAlarmInterval is how often a running deployment's alarms are read.
const DefaultAlarmInterval = 10 * time.Second

// SetAlarmCheck makes deployments watch their groups' alarms with check,
// every interval (DefaultAlarmInterval when 0). Without it, a group's
// alarmConfiguration is not watched.
func (s *Service) SetAlarmCheck(check AlarmCheck, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultAlarmInterval
	}
	s.alarms = deployAlarms{check: check, every: interval}
}

// RunDeployAlarms watches running deployments' alarms until ctx ends.
func (s *Service) RunDeployAlarms(ctx context.Context) {
	if s.alarms.check == nil {
		return
	}
	t := time.NewTicker(s.alarms.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.WatchDeployAlarmsOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("watch deployment alarms", "err", err)
		}
	}
}

// WatchDeployAlarmsOnce reads the alarms of every running deployment once,
// stopping those an alarm fails, and ends the watch of those whose hosts
// are done and whose watchSeconds have passed.
func (s *Service) WatchDeployAlarmsOnce(ctx context.Context) error {
	ds, err := s.Deployments(ctx, "", "")
	if err != nil {
		return err
	}
	for _, d := range ds {
		if d.Finished() || d.RollbackOf != "" {
			continue
		}
		info, err := s.DeployGroup(ctx, d.Application, d.Group)
		if err != nil {
			continue // deleted while deploying: nothing to watch
		}
		if reason := s.alarmReason(ctx, info.Group); reason != "" {
			if err := s.stopOnAlarm(ctx, d.ID, reason); err != nil {
				return err
			}
			continue
		}
		if err := s.endWatch(ctx, d.ID); err != nil {
			return err
		}
	}
	return nil
}

// alarmReason reads g's checks and says why the deployment must stop, or "".
func (s *Service) alarmReason(ctx context.Context, g deploygroup.Group) string {
	for _, c := range g.Checks() {
		ok, why, err := s.alarms.check(ctx, g, c)
		switch {
		case err != nil && g.Alarms.IgnorePollAlarmFailure:
			s.log.Warn("deployment group check unreadable, ignored", "group", g.Key(), "check", c.Name, "err", err)
		case err != nil:
			return fmt.Sprintf("%s could not be read (ignorePollAlarmFailure is false): %v", c.Name, err)
		case !ok:
			return c.Name + ": " + why
		}
	}
	return ""
}

// stopOnAlarm stops deployment id for reason: hosts in progress are told
// to stop (their next heartbeat is refused), pending ones skipped; the
// group rolls back when DEPLOYMENT_STOP_ON_ALARM says so, in the same
// write (putEnded).
func (s *Service) stopOnAlarm(ctx context.Context, id, reason string) error {
	unlock, err := s.lockDeployments(ctx)
	if err != nil {
		return err
	}
	d, err := s.deployment(ctx, id)
	if err != nil || d.Finished() {
		unlock()
		return err
	}
	now := s.now()
	for i := range d.Hosts {
		switch h := &d.Hosts[i]; h.Status {
		case "InProgress":
			h.Status, h.Message, h.Finished, h.LeaseUntil = "Stopped", "the deployment stopped on an alarm", now, time.Time{}
		case "Pending":
			h.Status = "Skipped"
		}
	}
	d.Status, d.Message, d.Updated = "Stopped", "stopped on alarm: "+reason, now
	err = s.putEnded(ctx, &d, deploygroup.EventStopOnAlarm)
	unlock()
	if err != nil {
		return err
	}
	s.log.Warn("deployment stopped on alarm", "deployment", id, "reason", reason, "rollback", d.RolledBack)
	s.changed.broadcast()
	return nil
}

// endWatch lets a deployment whose hosts all succeeded succeed once its
// watch has passed with no alarm.
func (s *Service) endWatch(ctx context.Context, id string) error {
	unlock, err := s.lockDeployments(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	d, err := s.deployment(ctx, id)
	if err != nil || d.Finished() || d.WatchUntil.IsZero() || s.now().Before(d.WatchUntil) {
		return err
	}
	d.Status, d.Updated = "Succeeded", s.now()
	d.Message = fmt.Sprintf("%d of %d hosts succeeded; no alarm in the %ds watched after", d.succeeded(), len(d.Hosts), d.WatchSeconds)
	if err := s.putDeployment(ctx, d, false); err != nil {
		return err
	}
	s.changed.broadcast()
	return nil
}

func (d *Deployment) succeeded() int {
	n := 0
	for _, h := range d.Hosts {
		if h.Status == "Succeeded" {
			n++
		}
	}
	return n
}
