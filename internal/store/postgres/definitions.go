package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-ci/sluice/internal/store"
)

// Webhooks, build projects, functions and rules are each a table of named
// definitions of one shape; these helpers serve the four. table and what are
// constants of this package, never input.

type definition struct {
	name    string
	def     []byte
	created time.Time
	updated time.Time
}

func scanDefinition(r scanner) (definition, error) {
	var d definition
	var def string
	var created, updated int64
	if err := r.Scan(&d.name, &def, &created, &updated); err != nil {
		return d, err
	}
	d.def, d.created, d.updated = []byte(def), fromMS(created), fromMS(updated)
	return d, nil
}

func (s *Store) definitions(ctx context.Context, table string) ([]definition, error) {
	return list(ctx, s.read, table, scanDefinition, `SELECT name, definition, created_ms, updated_ms FROM `+table+` ORDER BY name`)
}

func (s *Store) definition(ctx context.Context, table, what, name string) (definition, error) {
	d, err := scanDefinition(s.read.QueryRow(ctx, `SELECT name, definition, created_ms, updated_ms FROM `+table+` WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return d, notFound(what, name)
	}
	if err != nil {
		return d, fmt.Errorf("get %s %s: %w", what, name, err)
	}
	return d, nil
}

// putDefinition creates or replaces a definition; a replacement keeps the
// first creation time.
func (s *Store) putDefinition(ctx context.Context, table, what string, d definition) error {
	_, err := s.write.Exec(ctx, `
		INSERT INTO `+table+` (name, definition, created_ms, updated_ms) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_ms = excluded.updated_ms`,
		d.name, string(d.def), ms(d.created), ms(d.updated))
	if err != nil {
		return fmt.Errorf("put %s %s: %w", what, d.name, err)
	}
	return nil
}

func mapDefs[T any](ds []definition, err error, conv func(definition) T) ([]T, error) {
	if err != nil {
		return nil, err
	}
	var out []T
	for _, d := range ds {
		out = append(out, conv(d))
	}
	return out, nil
}

func toWebhook(d definition) store.Webhook {
	return store.Webhook{Name: d.name, Definition: d.def, Created: d.created, Updated: d.updated}
}

func toProject(d definition) store.Project {
	return store.Project{Name: d.name, Definition: d.def, Created: d.created, Updated: d.updated}
}

func toFunction(d definition) store.Function {
	return store.Function{Name: d.name, Definition: d.def, Created: d.created, Updated: d.updated}
}

// Webhooks implements store.Store.
func (s *Store) Webhooks(ctx context.Context) ([]store.Webhook, error) {
	ds, err := s.definitions(ctx, "webhooks")
	return mapDefs(ds, err, toWebhook)
}

// Webhook implements store.Store.
func (s *Store) Webhook(ctx context.Context, name string) (store.Webhook, error) {
	d, err := s.definition(ctx, "webhooks", "webhook", name)
	return toWebhook(d), err
}

// PutWebhook implements store.Store.
func (s *Store) PutWebhook(ctx context.Context, w store.Webhook) error {
	return s.putDefinition(ctx, "webhooks", "webhook", definition{w.Name, w.Definition, w.Created, w.Updated})
}

// DeleteWebhook implements store.Store.
func (s *Store) DeleteWebhook(ctx context.Context, name string) error {
	return s.deleteNamed(ctx, "webhooks", "webhook", name)
}

// Projects implements store.Store.
func (s *Store) Projects(ctx context.Context) ([]store.Project, error) {
	ds, err := s.definitions(ctx, "projects")
	return mapDefs(ds, err, toProject)
}

// Project implements store.Store.
func (s *Store) Project(ctx context.Context, name string) (store.Project, error) {
	d, err := s.definition(ctx, "projects", "project", name)
	return toProject(d), err
}

// PutProject implements store.Store.
func (s *Store) PutProject(ctx context.Context, p store.Project) error {
	return s.putDefinition(ctx, "projects", "project", definition{p.Name, p.Definition, p.Created, p.Updated})
}

// DeleteProject implements store.Store.
func (s *Store) DeleteProject(ctx context.Context, name string) error {
	return s.deleteNamed(ctx, "projects", "project", name)
}

// Functions implements store.Store.
func (s *Store) Functions(ctx context.Context) ([]store.Function, error) {
	ds, err := s.definitions(ctx, "functions")
	return mapDefs(ds, err, toFunction)
}

// Function implements store.Store.
func (s *Store) Function(ctx context.Context, name string) (store.Function, error) {
	d, err := s.definition(ctx, "functions", "function", name)
	return toFunction(d), err
}

// PutFunction implements store.Store.
func (s *Store) PutFunction(ctx context.Context, f store.Function) error {
	return s.putDefinition(ctx, "functions", "function", definition{f.Name, f.Definition, f.Created, f.Updated})
}

// DeleteFunction implements store.Store.
func (s *Store) DeleteFunction(ctx context.Context, name string) error {
	return s.deleteNamed(ctx, "functions", "function", name)
}

// Rules, unlike the other definitions, carry the sequence of the last event
// written when they were created.
const ruleColumns = `name, definition, created_ms, updated_ms, created_seq`

func scanRule(r scanner) (store.Rule, error) {
	var ru store.Rule
	var def string
	var created, updated int64
	if err := r.Scan(&ru.Name, &def, &created, &updated, &ru.CreatedSeq); err != nil {
		return ru, err
	}
	ru.Definition, ru.Created, ru.Updated = []byte(def), fromMS(created), fromMS(updated)
	return ru, nil
}

// Rules implements store.Store.
func (s *Store) Rules(ctx context.Context) ([]store.Rule, error) {
	return list(ctx, s.read, "rules", scanRule, `SELECT `+ruleColumns+` FROM rules ORDER BY name`)
}

// Rule implements store.Store.
func (s *Store) Rule(ctx context.Context, name string) (store.Rule, error) {
	r, err := scanRule(s.read.QueryRow(ctx, `SELECT `+ruleColumns+` FROM rules WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, notFound("rule", name)
	}
	if err != nil {
		return r, fmt.Errorf("get rule %s: %w", name, err)
	}
	return r, nil
}

// PutRule implements store.Store.
func (s *Store) PutRule(ctx context.Context, r store.Rule) error {
	_, err := s.write.Exec(ctx, `
		INSERT INTO rules (`+ruleColumns+`) VALUES ($1, $2, $3, $4, (SELECT COALESCE(MAX(seq), 0) FROM events))
		ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_ms = excluded.updated_ms`,
		r.Name, string(r.Definition), ms(r.Created), ms(r.Updated))
	if err != nil {
		return fmt.Errorf("put rule %s: %w", r.Name, err)
	}
	return nil
}

// DeleteRule implements store.Store. The rule's deliveries stay, dead letters
// included, until they are sent or given up.
func (s *Store) DeleteRule(ctx context.Context, name string) error {
	return s.deleteNamed(ctx, "rules", "rule", name)
}

func scanSecret(r scanner) (store.Secret, error) {
	var sec store.Secret
	var created, updated int64
	if err := r.Scan(&sec.Name, &sec.Ciphertext, &created, &updated); err != nil {
		return sec, err
	}
	sec.Created, sec.Updated = fromMS(created), fromMS(updated)
	return sec, nil
}

// Secrets implements store.Store.
func (s *Store) Secrets(ctx context.Context) ([]store.Secret, error) {
	return list(ctx, s.read, "secrets", scanSecret, `SELECT name, ciphertext, created_ms, updated_ms FROM secrets ORDER BY name`)
}

// Secret implements store.Store.
func (s *Store) Secret(ctx context.Context, name string) (store.Secret, error) {
	sec, err := scanSecret(s.read.QueryRow(ctx, `SELECT name, ciphertext, created_ms, updated_ms FROM secrets WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return sec, notFound("secret", name)
	}
	if err != nil {
		return sec, fmt.Errorf("get secret %s: %w", name, err)
	}
	return sec, nil
}

// PutSecret implements store.Store.
func (s *Store) PutSecret(ctx context.Context, sec store.Secret) error {
	_, err := s.write.Exec(ctx, `
		INSERT INTO secrets (name, ciphertext, created_ms, updated_ms) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO UPDATE SET ciphertext = excluded.ciphertext, updated_ms = excluded.updated_ms`,
		sec.Name, sec.Ciphertext, ms(sec.Created), ms(sec.Updated))
	if err != nil {
		return fmt.Errorf("put secret %s: %w", sec.Name, err)
	}
	return nil
}

// DeleteSecret implements store.Store.
func (s *Store) DeleteSecret(ctx context.Context, name string) error {
	return s.deleteNamed(ctx, "secrets", "secret", name)
}

// NextBuildNumber implements store.Store. The upsert takes the row's lock,
// so concurrent callers on any replica get distinct numbers.
func (s *Store) NextBuildNumber(ctx context.Context, project string) (int64, error) {
	var n int64
	err := s.write.QueryRow(ctx, `
		INSERT INTO build_numbers (project, last) VALUES ($1, 1)
		ON CONFLICT (project) DO UPDATE SET last = build_numbers.last + 1
		RETURNING last`, project).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("next build number of %s: %w", project, err)
	}
	return n, nil
}
