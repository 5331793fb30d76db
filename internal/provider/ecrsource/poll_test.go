package ecrsource_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/provider/ecrsource"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/service/servicetest"
	"github.com/sluice-ci/sluice/internal/trigger"
)

// A new push to the tag is seen by one poll of the real trigger poller, over
// a real service and store, and starts the pipeline once, pinned to the new
// digest.
func TestPollStartsOncePerNewDigest(t *testing.T) {
	requireRegistry(t)
	st, arts := servicetest.Stores(t)
	clock := servicetest.NewClock()
	svc := service.New(st, arts, service.Config{Lease: 30 * time.Second, Now: clock.Now})
	servicetest.Apply(t, svc, fmt.Sprintf(`
name: images
executionMode: PARALLEL
stages:
  - name: Source
    actions:
      - name: img
        actionTypeId: {category: Source, owner: AWS, provider: ECR, version: "1"}
        configuration: {RepositoryName: polled/app, ImageTag: prod, RegistryUrl: %q}
        outputArtifacts: [{name: image}]
  - name: Use
    actions:
      - name: use
        provider: Noop
        inputArtifacts: [{name: image}]
`, registryURL))
	poller := trigger.NewPoller(svc, nil).WithImages(ecrsource.Digests{})
	poll := func() int {
		t.Helper()
		if err := poller.Once(t.Context()); err != nil {
			t.Fatal(err)
		}
		es, err := svc.Executions(t.Context(), "images", 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	pushImage(t, "polled/app", "prod", "first")
	if n := poll(); n != 0 {
		t.Fatalf("the first look at the tag started %d executions", n)
	}
	if n := poll(); n != 0 {
		t.Fatalf("an unchanged tag started %d executions", n)
	}
	second, _ := pushImage(t, "polled/app", "prod", "second")
	if n := poll(); n != 1 {
		t.Fatalf("one poll after a new push: %d executions, want 1", n)
	}
	if n := poll(); n != 1 {
		t.Fatalf("the same digest started again: %d executions", n)
	}
	es, err := svc.Executions(t.Context(), "images", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	e := es[0]
	if e.Trigger.Type != service.TriggerPoll || len(e.SourceRevisions) != 1 || e.SourceRevisions[0].RevisionID != second {
		t.Fatalf("execution trigger %+v, revisions %+v; want a poll pinned to %s", e.Trigger, e.SourceRevisions, second)
	}
	// A push of another tag does not start it.
	pushImage(t, "polled/app", "staging", "third")
	if n := poll(); n != 1 {
		t.Fatalf("a push to another tag started the pipeline: %d executions", n)
	}
}
