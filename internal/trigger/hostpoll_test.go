package trigger_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/trigger"
)

var errWebhooks = errors.New("takes webhooks")

// hostHeads answers every connection source action with one head, or err.
type hostHeads struct {
	head  string
	err   error
	asked []string
}

func (h *hostHeads) Head(ctx context.Context, pipeline, stage, action, provider string, cfg map[string]string) (string, string, error) {
	h.asked = append(h.asked, pipeline+"/"+action)
	return h.head, "branch " + cfg["BranchName"] + " of " + cfg["FullRepositoryId"], h.err
}

func (h *hostHeads) NotPolled(err error) bool { return errors.Is(err, errWebhooks) }

// Connection source actions are polled through HostHeads unless
// DetectChanges is "false"; a connection that takes webhooks is skipped
// without a note; a failed look is noted and starts nothing.
func TestPollFollowsConnectionSources(t *testing.T) {
	f := newFixture(t)
	src := func(name, extra string) string {
		return strings.Replace(strings.Replace(hosted, "name: app", "name: "+name, 1),
			"provider: Git\n        configuration: {RepositoryName: repo, BranchName: main}",
			"provider: CodeStarSourceConnection\n        configuration: {ConnectionArn: 'arn:aws:codeconnections:us-east-1:000000000000:connection/gitea', FullRepositoryId: team/app, BranchName: main"+extra+"}", 1)
	}
	f.apply(src("polled", ""))
	f.apply(src("quiet", ", DetectChanges: 'false'"))
	h := &hostHeads{head: c1}
	poller := trigger.NewPoller(f.svc, nil).WithHosts(h)
	once := func() {
		t.Helper()
		if err := poller.Once(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	once()
	h.head = c2
	once()
	es := f.executions("polled")
	if len(es) != 1 || es[0].Trigger.Type != service.TriggerPoll || es[0].SourceRevisions[0].RevisionID != c2 ||
		!strings.Contains(es[0].Trigger.Detail, "branch main of team/app") {
		t.Fatalf("after the head moved: %d executions %+v", len(es), es)
	}
	for _, a := range h.asked {
		if strings.HasPrefix(a, "quiet/") {
			t.Errorf("DetectChanges false was polled: %v", h.asked)
		}
	}
	if n := len(f.executions("quiet")); n != 0 {
		t.Errorf("quiet started %d executions", n)
	}

	h.head, h.err = strings.Repeat("3", 40), errWebhooks
	once()
	if n := len(f.executions("polled")); n != 1 {
		t.Errorf("a connection that takes webhooks was polled: %d executions", n)
	}
	h.err = errors.New("branch main not found in repository team/app")
	once()
	note, err := f.svc.LastTrigger(f.ctx, "polled")
	if err != nil {
		t.Fatal(err)
	}
	if note == nil || note.Started || !strings.Contains(note.Reason, "branch main not found") || !strings.Contains(note.Detail, "poll of branch main of team/app") {
		t.Errorf("a failed poll's note: %+v", note)
	}
	if n := len(f.executions("polled")); n != 1 {
		t.Errorf("a failed poll started something: %d executions", n)
	}
}
