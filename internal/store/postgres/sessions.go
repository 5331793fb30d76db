package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-ci/sluice/internal/store"
)

// PutConsoleSession implements store.Store.
func (s *Store) PutConsoleSession(ctx context.Context, cs store.ConsoleSession) error {
	_, err := s.write.Exec(ctx, `
		INSERT INTO console_sessions (id_hash, token_hash, name, csrf, flash, created_ms, last_used_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id_hash) DO UPDATE SET token_hash = excluded.token_hash, name = excluded.name, csrf = excluded.csrf,
			flash = excluded.flash, created_ms = excluded.created_ms, last_used_ms = excluded.last_used_ms`,
		cs.IDHash, cs.TokenHash, cs.Name, cs.CSRF, cs.Flash, ms(cs.Created), ms(cs.LastUsed))
	if err != nil {
		return fmt.Errorf("put console session: %w", err)
	}
	return nil
}

// ConsoleSession implements store.Store.
func (s *Store) ConsoleSession(ctx context.Context, idHash string) (store.ConsoleSession, error) {
	cs := store.ConsoleSession{IDHash: idHash}
	var created, used int64
	err := s.read.QueryRow(ctx, `SELECT token_hash, name, csrf, flash, created_ms, last_used_ms FROM console_sessions WHERE id_hash = $1`, idHash).
		Scan(&cs.TokenHash, &cs.Name, &cs.CSRF, &cs.Flash, &created, &used)
	if errors.Is(err, pgx.ErrNoRows) {
		return cs, notFound("console session", "")
	}
	if err != nil {
		return cs, fmt.Errorf("get console session: %w", err)
	}
	cs.Created, cs.LastUsed = fromMS(created), fromMS(used)
	return cs, nil
}

// DeleteConsoleSession implements store.Store; deleting none is no error.
func (s *Store) DeleteConsoleSession(ctx context.Context, idHash string) error {
	if _, err := s.write.Exec(ctx, `DELETE FROM console_sessions WHERE id_hash = $1`, idHash); err != nil {
		return fmt.Errorf("delete console session: %w", err)
	}
	return nil
}

// PruneConsoleSessions implements store.Store.
func (s *Store) PruneConsoleSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int, error) {
	res, err := s.write.Exec(ctx, `DELETE FROM console_sessions WHERE last_used_ms < $1 OR created_ms < $2`, ms(idleBefore), ms(createdBefore))
	if err != nil {
		return 0, fmt.Errorf("prune console sessions: %w", err)
	}
	return affected(res), nil
}

func affected(tag pgconn.CommandTag) int { return int(tag.RowsAffected()) }
