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

func toRule(d definition) store.Rule {
	return store.Rule{Name: d.name, Definition: d.def, Created: d.created, Updated: d.updated}
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

// Rules implements store.Store.
func (s *Store) Rules(ctx context.Context) ([]store.Rule, error) {
	ds, err := s.definitions(ctx, "rules")
	return mapDefs(ds, err, toRule)
}

// Rule implements store.Store.
func (s *Store) Rule(ctx context.Context, name string) (store.Rule, error) {
	d, err := s.definition(ctx, "rules", "rule", name)
	return toRule(d), err
}

// PutRule implements store.Store.
func (s *Store) PutRule(ctx context.Context, r store.Rule) error {
	return s.putDefinition(ctx, "rules", "rule", definition{r.Name, r.Definition, r.Created, r.Updated})
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

func toPolicy(d definition) store.Policy {
	return store.Policy{Name: d.name, Definition: d.def, Created: d.created, Updated: d.updated}
}

// Policies implements store.Store.
func (s *Store) Policies(ctx context.Context) ([]store.Policy, error) {
	ds, err := s.definitions(ctx, "policies")
	return mapDefs(ds, err, toPolicy)
}

// Policy implements store.Store.
func (s *Store) Policy(ctx context.Context, name string) (store.Policy, error) {
	d, err := s.definition(ctx, "policies", "policy", name)
	return toPolicy(d), err
}

// PutPolicy implements store.Store.
func (s *Store) PutPolicy(ctx context.Context, p store.Policy) error {
	return s.putDefinition(ctx, "policies", "policy", definition{p.Name, p.Definition, p.Created, p.Updated})
}

// DeletePolicy implements store.Store.
func (s *Store) DeletePolicy(ctx context.Context, name string) error {
	return s.deleteNamed(ctx, "policies", "policy", name)
}
