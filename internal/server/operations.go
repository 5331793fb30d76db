package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/metrics"
	"github.com/sluice-ci/sluice/internal/replica"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/ui"
)

// SecretKeyEnv is the environment variable that may hold the secret key,
// base64-encoded (see Config.SecretKeyFile).
const SecretKeyEnv = "SLUICE_SECRET_KEY"

// shared reports whether the store may be shared by several replicas.
func (c Config) shared() bool {
	return strings.HasPrefix(c.Store, "postgres://") || strings.HasPrefix(c.Store, "postgresql://")
}

// operations is what the server adds for the operator: the metrics, the
// readiness check and, on PostgreSQL, the coordination with other replicas.
type operations struct {
	metrics *metrics.Metrics
	coord   *replica.Coordinator // nil on SQLite: one server per database
	running atomic.Bool          // Run started the background work
}

// singleton runs loop once across the replicas sharing the store: on
// PostgreSQL only while this replica holds loop's advisory lock; on SQLite,
// where one server owns the database, at once.
func (o *operations) singleton(ctx context.Context, name string, loop func(context.Context)) {
	if o.coord == nil {
		o.metrics.Leading(name, true)
		defer o.metrics.Leading(name, false)
		loop(ctx)
		return
	}
	o.coord.Singleton(ctx, name, loop)
}

// pinger is a store that can say it is reachable without reading a table.
type pinger interface {
	Ping(ctx context.Context) error
}

// checker is an artifact store that can say it is reachable (S3's bucket).
type checker interface {
	Check(ctx context.Context) error
}

// ready is /readyz's check. Its errors name the part at fault only: the
// probe is open to anyone, and addresses and credentials stay in the log.
func (s *Server) ready(arts artifact.Store) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		// Open returned only once the store's migrations ran; Run starts
		// the background work.
		if !s.ops.running.Load() {
			return errors.New("starting")
		}
		var err error
		if p, ok := s.store.(pinger); ok {
			err = p.Ping(ctx)
		} else {
			_, err = s.store.Locks(ctx)
		}
		if err != nil {
			s.log.Warn("readiness: store not reachable", "err", err)
			return errors.New("store not reachable")
		}
		if c, ok := arts.(checker); ok {
			if err := c.Check(ctx); err != nil {
				s.log.Warn("readiness: artifact store not reachable", "err", err)
				return errors.New("artifact store not reachable")
			}
		} else if _, err := arts.Stat(ctx, "readyz-probe"); err != nil && !errors.Is(err, artifact.ErrNotFound) {
			s.log.Warn("readiness: artifact store not reachable", "err", err)
			return errors.New("artifact store not reachable")
		}
		return nil
	}
}

// secretKeyFrom reads the key every replica shares: from SLUICE_SECRET_KEY
// (base64 of the key's bytes) or --secret-key-file (the key's bytes, as in
// DATA/secret.key). It returns nil when neither is given.
func secretKeyFrom(file, env string) ([]byte, error) {
	switch {
	case env != "":
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(env))
		if err != nil {
			return nil, fmt.Errorf("%s: not base64 (make one with: head -c 32 /dev/urandom | base64)", SecretKeyEnv)
		}
		if len(key) != service.SecretKeySize {
			return nil, fmt.Errorf("%s: want %d bytes once decoded, found %d", SecretKeyEnv, service.SecretKeySize, len(key))
		}
		return key, nil
	case file != "":
		return readKeyFile("--secret-key-file", file)
	}
	return nil, nil
}

// readKeyFile reads a key's bytes from the file flag names.
func readKeyFile(flag, file string) ([]byte, error) {
	key, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	if len(key) != service.SecretKeySize {
		return nil, fmt.Errorf("%s %s: want %d bytes, found %d", flag, file, service.SecretKeySize, len(key))
	}
	return key, nil
}

// DecryptKeysEnv is the environment variable that may hold keys that only
// decrypt secrets, base64-encoded and comma-separated (see
// Config.DecryptKeyFiles).
const DecryptKeysEnv = "SLUICE_DECRYPT_SECRET_KEYS"

// decryptKeysFrom reads the keys that only decrypt: each --decrypt-secret-key-file
// (the key's bytes) and each base64 key of SLUICE_DECRYPT_SECRET_KEYS.
func decryptKeysFrom(files []string, env string) ([][]byte, error) {
	var keys [][]byte
	for _, file := range files {
		key, err := readKeyFile("--decrypt-secret-key-file", file)
		if err != nil {
			return nil, err
		}
		keys = append(keys, key)
	}
	for i, v := range strings.Split(env, ",") {
		if strings.TrimSpace(v) == "" {
			continue
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil || len(key) != service.SecretKeySize {
			return nil, fmt.Errorf("%s: key %d: want %d bytes in base64 (make one with: head -c 32 /dev/urandom | base64)", DecryptKeysEnv, i+1, service.SecretKeySize)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// checkSecretKeys says at start-up, in the log, when stored secrets open
// with none of the keys the server was given: a wrong key shows at once,
// not at the first job that needs a secret. It names what, never a value.
func checkSecretKeys(ctx context.Context, svc *service.Service, log *slog.Logger) {
	names, total, err := svc.UndecryptableSecrets(ctx)
	if err != nil {
		log.Warn("secret key: stored secrets not checked", "err", err)
		return
	}
	if len(names) > 0 {
		shown := names
		if len(shown) > 10 {
			shown = shown[:10]
		}
		log.Error("secret key: stored secrets open with none of this server's keys; check --secret-key-file/"+SecretKeyEnv+
			" (and, during a rotation, --decrypt-secret-key-file/"+DecryptKeysEnv+"): see docs/OPERATIONS.md",
			"undecryptable", len(names), "of", total, "first", strings.Join(shown, ", "))
	}
}

// workerTokenName names the in-process workers' token: by host and data
// directory, so that replicas sharing a store, on one host or several,
// each keep theirs, and a restart replaces its own.
func workerTokenName(host, dataDir string) string {
	sum := sha256.Sum256([]byte(dataDir))
	return "in-process-worker@" + host + "-" + hex.EncodeToString(sum[:4])
}

// hasAdmin reports whether the store has an admin token already (another
// replica made it).
func hasAdmin(ctx context.Context, st store.Store) (bool, error) {
	tokens, err := st.Tokens(ctx)
	if err != nil {
		return false, err
	}
	for _, t := range tokens {
		if t.Name == "admin" {
			return true, nil
		}
	}
	return false, nil
}

// consoleSessions keeps the console's sessions in the shared store, so that
// any replica answers a signed-in browser (package ui).
type consoleSessions struct{ st store.Store }

func (c consoleSessions) PutSession(ctx context.Context, r ui.SessionRecord) error {
	return c.st.PutConsoleSession(ctx, store.ConsoleSession{IDHash: r.IDHash, TokenHash: r.TokenHash, Name: r.Name,
		CSRF: r.CSRF, Flash: r.Flash, Created: r.Created, LastUsed: r.LastUsed})
}

func (c consoleSessions) Session(ctx context.Context, idHash string) (ui.SessionRecord, bool, error) {
	cs, err := c.st.ConsoleSession(ctx, idHash)
	if errors.Is(err, store.ErrNotFound) {
		return ui.SessionRecord{}, false, nil
	}
	if err != nil {
		return ui.SessionRecord{}, false, err
	}
	return ui.SessionRecord{IDHash: cs.IDHash, TokenHash: cs.TokenHash, Name: cs.Name, CSRF: cs.CSRF, Flash: cs.Flash,
		Created: cs.Created, LastUsed: cs.LastUsed}, true, nil
}

func (c consoleSessions) DeleteSession(ctx context.Context, idHash string) error {
	return c.st.DeleteConsoleSession(ctx, idHash)
}

func (c consoleSessions) PruneSessions(ctx context.Context, idleBefore, createdBefore time.Time) error {
	_, err := c.st.PruneConsoleSessions(ctx, idleBefore, createdBefore)
	return err
}
