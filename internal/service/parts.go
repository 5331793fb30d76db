package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/follow"
	"github.com/sluice-ci/sluice/internal/store"
)

// What the packages built on the service (event: rules, deliveries,
// notifications; trigger: webhooks, polling, schedules) reach it by, each
// through a small interface of its own.

// Store is the store the service writes to.
func (s *Service) Store() store.Store { return s.store }

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// Logger is the service's log.
func (s *Service) Logger() *slog.Logger { return s.log }

// Changed returns a channel closed at the next change of an execution, a
// log or the event log.
func (s *Service) Changed() <-chan struct{} { return s.changed.wait() }

// ListenEvents returns a listener woken when events are written (see
// follow.Signal), for a follower of the event log: made once per follower.
func (s *Service) ListenEvents() *follow.Listener { return s.logged.Listen() }

// PipelinesChanged returns a channel closed at the next declaration this
// service stores or deletes (an apply that changes something, a delete, a
// pipeline updating itself): what the schedule triggers' loop waits on
// instead of reading every pipeline every second. Take it before reading the
// pipelines, so that a change in between is not missed. Another replica's
// changes do not close it.
func (s *Service) PipelinesChanged() <-chan struct{} { return s.declared.wait() }

// SecretValue decrypts a secret for sluice's own use: signing a delivery,
// checking a webhook's signature, polling a remote repository.
func (s *Service) SecretValue(ctx context.Context, name string) ([]byte, error) {
	return s.secretValue(ctx, name)
}

// NoteIgnored records on a pipeline that a trigger started nothing, and why.
func (s *Service) NoteIgnored(ctx context.Context, name string, note TriggerNote) error {
	return s.noteIgnored(ctx, name, note)
}

// Link is an address of the server's web console, for notifications.
func (s *Service) Link(path string) string {
	return s.baseURL + "/ui" + path
}

// ApprovalNotifier queues the notifications of a Manual approval that
// started waiting (package event's Runner); the reactor calls it, again
// after a crash, so it must queue nothing twice for one job.
type ApprovalNotifier interface {
	NotifyApproval(ctx context.Context, row store.Job, j engine.Job) error
}

// SetApprovalNotifier wires what queues approvals' notifications, before the
// reactor runs; without one, approvals notify no one.
func (s *Service) SetApprovalNotifier(n ApprovalNotifier) { s.approvals = n }

func (s *Service) notifyApproval(ctx context.Context, row store.Job, j engine.Job) error {
	if s.approvals == nil {
		return nil
	}
	return s.approvals.NotifyApproval(ctx, row, j)
}
