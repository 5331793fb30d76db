package service

import (
	"sync/atomic"

	"github.com/sluice-ci/sluice/internal/follow"
)

// notifier wakes goroutines waiting for a kind of change (see
// follow.Notifier: it only makes waiting faster). With several replicas on
// one database a broadcast is also published to the others (SetPublisher),
// whose Wake broadcasts it there.
type notifier struct {
	follow.Notifier
	kind    string
	publish *atomic.Pointer[func(kind string)]
	// also runs at every broadcast but announce's (changed: the event log's
	// followers are woken, not knowing which kinds of event were written).
	also func()
}

// Kinds of change announced to other replicas (see SetPublisher and Wake).
const (
	ChangeJobs      = "jobs"      // a job became claimable
	ChangeExecution = "execution" // an execution, a log or the event log changed
	ChangePipelines = "pipelines" // a pipeline's declaration was stored or deleted
	ChangeTokens    = "tokens"    // a token was created, rotated or revoked: forget the ones remembered
)

func newNotifier(kind string, publish *atomic.Pointer[func(string)]) *notifier {
	return &notifier{kind: kind, publish: publish}
}

// wait returns a channel closed at the next broadcast.
func (n *notifier) wait() <-chan struct{} { return n.Wait() }

func (n *notifier) broadcast() {
	n.announce()
	if n.also != nil {
		n.also()
	}
}

// announce is broadcast without also: for a decision, which wakes the event
// log's followers itself, saying which kinds of event it wrote, and for a
// change that wrote no event (a log's output).
func (n *notifier) announce() {
	n.Broadcast()
	if p := n.publish.Load(); p != nil {
		(*p)(n.kind)
	}
}

// SetPublisher makes every change the service announces to its own waiters
// also go to publish (package replica sends it to the other replicas).
// publish must not wait.
func (s *Service) SetPublisher(publish func(kind string)) { s.publish.Store(&publish) }

// Wake wakes this service's waiters for a change another replica announced:
// kind is ChangeJobs, ChangeExecution, ChangePipelines or ChangeTokens, ""
// for all (after missing some).
func (s *Service) Wake(kind string) {
	if kind == "" || kind == ChangeTokens {
		s.forgetTokens()
	}
	if kind == "" || kind == ChangeJobs {
		s.jobsQueued.Broadcast()
	}
	if kind == "" || kind == ChangeExecution {
		s.changed.Broadcast()
		s.logged.Notify()
		s.decidedWake.Notify()
	}
	if kind == "" || kind == ChangePipelines {
		s.declared.Broadcast()
	}
}
