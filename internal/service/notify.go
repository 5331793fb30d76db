package service

import "github.com/sluice-ci/sluice/internal/follow"

// notifier wakes goroutines waiting for a kind of change (see
// follow.Notifier: it only makes waiting faster).
type notifier struct{ follow.Notifier }

func newNotifier() *notifier { return &notifier{} }

// wait returns a channel closed at the next broadcast.
func (n *notifier) wait() <-chan struct{} { return n.Wait() }

func (n *notifier) broadcast() { n.Broadcast() }
