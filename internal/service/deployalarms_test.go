package service_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/deploygroup"
	"github.com/sluice-ci/sluice/internal/service"
)

// alarmState is what the test's alarm reads give: failing with a reason,
// or unreadable.
type alarmState struct {
	failing    string
	unreadable bool
	reads      int
}

func (a *alarmState) check(_ context.Context, _ deploygroup.Group, c deploygroup.Check) (bool, string, error) {
	a.reads++
	switch {
	case a.unreadable:
		return false, "", errors.New("connection refused")
	case a.failing != "":
		return false, a.failing, nil
	}
	return true, "", nil
}

func alarmFixture(t *testing.T, extra string) (*fixture, *alarmState) {
	t.Helper()
	f := newFixture(t)
	a := &alarmState{}
	f.svc.SetAlarmCheck(a.check, time.Second)
	src := "applicationName: shop\ndeploymentGroupName: prod\ntargets: {agentGroup: web}\ndeploymentConfigName: CodeDeployDefault.AllAtOnce\n" +
		"autoRollbackConfiguration: {enabled: true, events: [DEPLOYMENT_STOP_ON_ALARM]}\n" +
		"alarmConfiguration:\n  enabled: true\n  alarms: [{name: five-xx}]\n" + extra
	if _, err := f.svc.ApplyDeployGroup(f.ctx, "g.yml", []byte(src)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a1", "a2"} {
		must(t, f.svc.RegisterAgent(f.ctx, service.DeployAgent{ID: id, Group: "web"}))
	}
	return f, a
}

// A deployment is watched while it runs and for watchSeconds after; it
// succeeds only when that has passed with no alarm.
func TestDeploymentWatchedAfterHosts(t *testing.T) {
	f, a := alarmFixture(t, "  watchSeconds: 60\n")
	d, err := f.svc.CreateDeployment(f.ctx, "shop", "prod", "test", strings.NewReader("zip"))
	if err != nil {
		t.Fatal(err)
	}
	claim(t, f, "a1")
	claim(t, f, "a2")
	must(t, f.svc.HostResult(f.ctx, d.ID, "a1", true, "", nil))
	must(t, f.svc.HostResult(f.ctx, d.ID, "a2", true, "", nil))
	must(t, f.svc.WatchDeployAlarmsOnce(f.ctx))
	got, _ := f.svc.GetDeployment(f.ctx, d.ID)
	if got.Status != "InProgress" || !strings.Contains(got.Message, "watching alarms until") || a.reads != 1 {
		t.Fatalf("within the watch: %+v (reads %d)", got, a.reads)
	}
	f.clock.Add(61 * time.Second)
	must(t, f.svc.WatchDeployAlarmsOnce(f.ctx))
	got, _ = f.svc.GetDeployment(f.ctx, d.ID)
	if got.Status != "Succeeded" || a.reads != 2 {
		t.Fatalf("after the watch: %+v (reads %d)", got, a.reads)
	}
}

// An alarm that cannot be read stops the deployment, unless the group says
// ignorePollAlarmFailure; a stopped deployment with no earlier success has
// nothing to roll back to, and says so by having no rollback.
func TestUnreadableAlarm(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		extra := ""
		if ignore {
			extra = "  ignorePollAlarmFailure: true\n"
		}
		f, a := alarmFixture(t, extra)
		a.unreadable = true
		d, err := f.svc.CreateDeployment(f.ctx, "shop", "prod", "test", strings.NewReader("zip"))
		if err != nil {
			t.Fatal(err)
		}
		claim(t, f, "a1")
		must(t, f.svc.WatchDeployAlarmsOnce(f.ctx))
		got, _ := f.svc.GetDeployment(f.ctx, d.ID)
		switch {
		case ignore && got.Status != "InProgress":
			t.Errorf("ignorePollAlarmFailure: %+v", got)
		case !ignore && (got.Status != "Stopped" || !strings.Contains(got.Message, "alarm five-xx could not be read") ||
			got.Hosts[0].Status != "Stopped" || got.Hosts[1].Status != "Skipped" || got.RolledBack != ""):
			t.Errorf("unreadable alarm: %+v", got)
		}
		if !ignore {
			// The stopped host's agent is refused at its next heartbeat.
			if _, err := f.svc.HostHeartbeat(f.ctx, d.ID, "a1"); err == nil {
				t.Error("a heartbeat on a stopped host was accepted")
			}
		}
	}
}
