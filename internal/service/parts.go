package service

import (
	"context"
	"log/slog"
	"time"

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
// log or the event log: the notifier the reactor waits on.
func (s *Service) Changed() <-chan struct{} { return s.changed.wait() }

// SecretValue decrypts a secret for sluice's own use: signing a delivery,
// checking a webhook's signature, polling a remote repository.
func (s *Service) SecretValue(ctx context.Context, name string) ([]byte, error) {
	return s.secretValue(ctx, name)
}

// NoteIgnored records on a pipeline that a trigger started nothing, and why.
func (s *Service) NoteIgnored(ctx context.Context, name string, note TriggerNote) error {
	return s.noteIgnored(ctx, name, note)
}
