package postgres_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/store/postgres"
	"github.com/sluice-ci/sluice/internal/store/storetest"
)

// One throwaway PostgreSQL server per test binary (see ../shared/RECIPES.md),
// a fresh database per test.
var (
	serverDSN     string // of the postgres database; "" when there is no server
	skipReason    string
	binariesFound bool
	dbCounter     atomic.Int64
)

func TestMain(m *testing.M) {
	stop, err := startServer()
	if err != nil {
		// In CI a machine with the binaries must run the suite, not skip it.
		if os.Getenv("CI") == "true" && binariesFound {
			fmt.Fprintln(os.Stderr, "postgres: binaries found but no server started:", err)
			os.Exit(1)
		}
		if skipReason == "" {
			skipReason = err.Error()
		}
	}
	code := m.Run()
	if stop != nil {
		stop()
	}
	os.Exit(code)
}

// startServer starts a server, or says why not. When the binaries or the
// user to run them are missing it sets skipReason and returns an error.
func startServer() (stop func(), err error) {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	if len(bins) == 0 {
		skipReason = "PostgreSQL server binaries not installed (no /usr/lib/postgresql/*/bin)"
		return nil, fmt.Errorf("%s", skipReason)
	}
	binariesFound = true
	sort.Slice(bins, func(i, j int) bool { return versionOf(bins[i]) < versionOf(bins[j]) })
	bin := bins[len(bins)-1]

	// Root cannot run postgres: run it as the postgres user then. Anyone else
	// runs it as themselves.
	var pgUser *user.User
	if os.Getuid() == 0 {
		pgUser, err = user.Lookup("postgres")
		if err != nil {
			skipReason = "running as root and there is no postgres user to run the server as (useradd -r postgres)"
			return nil, fmt.Errorf("%s", skipReason)
		}
	}
	dir, err := os.MkdirTemp("", "sluice-pg")
	if err != nil {
		return nil, err
	}
	run := func(command string) error {
		var cmd *exec.Cmd
		if pgUser != nil {
			cmd = exec.Command("su", pgUser.Username, "-s", "/bin/sh", "-c", command)
		} else {
			cmd = exec.Command("/bin/sh", "-c", command)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v\n%s", command, err, out)
		}
		return nil
	}
	if pgUser != nil {
		uid, _ := strconv.Atoi(pgUser.Uid)
		gid, _ := strconv.Atoi(pgUser.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := run(fmt.Sprintf("%s/initdb -D %s/data -U postgres -A trust --no-sync -E UTF8 >%s/initdb.log 2>&1", bin, dir, dir)); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w", err)
	}
	start := fmt.Sprintf("%s/pg_ctl -D %s/data -l %s/pg.log -w -t 30 -o '-k %s -p %d -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off' start",
		bin, dir, dir, dir, port)
	if err := run(start); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "pg.log"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_ctl start: %w\n%s", err, log)
	}
	serverDSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return func() {
		if err := run(fmt.Sprintf("%s/pg_ctl -D %s/data -m immediate -w stop", bin, dir)); err != nil {
			fmt.Fprintln(os.Stderr, "postgres stop:", err)
		}
		os.RemoveAll(dir)
	}, nil
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freshDSN creates an empty database for t, dropped when t ends.
func freshDSN(t *testing.T) string {
	t.Helper()
	if serverDSN == "" {
		t.Skip("no PostgreSQL server: " + skipReason)
	}
	ctx := context.Background()
	name := fmt.Sprintf("t_%d", dbCounter.Add(1))
	admin, err := pgx.Connect(ctx, serverDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin, err := pgx.Connect(ctx, serverDSN)
		if err != nil {
			t.Error(err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Error(err)
		}
	})
	return strings.Replace(serverDSN, "/postgres?", "/"+name+"?", 1)
}

func open(t *testing.T) *postgres.Store {
	t.Helper()
	dsn := freshDSN(t)
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

// TestConformanceTwoReplicas runs the suite through two handles on one
// database, as two sluice replicas hold, its calls alternating between them.
// The handles open together, so their migrations race as replicas' do.
func TestConformanceTwoReplicas(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		dsn := freshDSN(t)
		var handles [2]*postgres.Store
		var errs [2]error
		var wg sync.WaitGroup
		for i := range handles {
			wg.Go(func() { handles[i], errs[i] = postgres.Open(context.Background(), dsn) })
		}
		wg.Wait()
		for i, h := range handles {
			if h != nil {
				t.Cleanup(func() { h.Close() })
			}
			if errs[i] != nil {
				t.Fatalf("open replica %d: %v", i, errs[i])
			}
		}
		return storetest.Alternating(handles[0], handles[1])
	})
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	ctx := context.Background()
	dsn := freshDSN(t)
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutToken(ctx, store.Token{Name: "admin", Hash: "h", Policy: "admin"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.Token(ctx, "h"); err != nil {
		t.Fatalf("token after reopen: %v", err)
	}
}

// Stores opening a new database at the same time migrate one after the other.
func TestConcurrentOpen(t *testing.T) {
	dsn := freshDSN(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(context.Background(), dsn)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
