// Package pgtest starts a throwaway PostgreSQL server for tests outside the
// store's own (see shared RECIPES: initdb and pg_ctl, run as the postgres
// user when the tests run as root), and makes a fresh database per test.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
)

// ErrUnavailable wraps why no server could be started on this machine
// (no binaries, no postgres user): tests skip, unless CI says they must run.
var ErrUnavailable = errors.New("no PostgreSQL server")

// Server is a running throwaway server.
type Server struct {
	DSN  string // of its postgres database
	bin  string
	dir  string
	port int
	pg   *user.User // nil: run as ourselves
	n    atomic.Int64
}

// Start initialises and starts a server on a free port.
func Start() (*Server, error) {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	if len(bins) == 0 {
		return nil, fmt.Errorf("%w: binaries not installed (no /usr/lib/postgresql/*/bin)", ErrUnavailable)
	}
	sort.Slice(bins, func(i, j int) bool { return version(bins[i]) < version(bins[j]) })
	s := &Server{bin: bins[len(bins)-1]}
	if os.Getuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("%w: running as root and there is no postgres user (useradd -r postgres)", ErrUnavailable)
		}
		s.pg = u
	}
	dir, err := os.MkdirTemp("", "sluice-pg")
	if err != nil {
		return nil, err
	}
	s.dir = dir
	if s.pg != nil {
		uid, _ := strconv.Atoi(s.pg.Uid)
		gid, _ := strconv.Atoi(s.pg.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	if err := s.run(fmt.Sprintf("%s/initdb -D %s/data -U postgres -A trust --no-sync -E UTF8 >%s/initdb.log 2>&1", s.bin, dir, dir)); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w", err)
	}
	if err := s.startServer(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
	return s, nil
}

// startServer starts PostgreSQL without fsync (the machine does not crash
// in a test; what is written reaches the kernel) but with synchronous
// commits: Restart stops it as a crash would, and with
// synchronous_commit=off a commit already acknowledged to sluice could be
// lost in that crash, which no database in production does.
func (s *Server) startServer() error {
	start := fmt.Sprintf("%s/pg_ctl -D %s/data -l %s/pg.log -w -t 30 -o '-k %s -p %d -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=300' start",
		s.bin, s.dir, s.dir, s.dir, s.port)
	if err := s.run(start); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "pg.log"))
		return fmt.Errorf("pg_ctl start: %w\n%s", err, log)
	}
	return nil
}

// Restart stops the server at once (as a crash would: every session ends)
// and starts it again on the same port and data.
func (s *Server) Restart() error {
	if err := s.run(fmt.Sprintf("%s/pg_ctl -D %s/data -m immediate -w stop", s.bin, s.dir)); err != nil {
		return err
	}
	return s.startServer()
}

// PID is the process id of the server's postmaster, whose children are its
// sessions (for measuring the CPU the database uses).
func (s *Server) PID() (int, error) {
	raw, err := os.ReadFile(filepath.Join(s.dir, "data", "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	return strconv.Atoi(strings.TrimSpace(first))
}

// Stop stops the server and removes its files.
func (s *Server) Stop() {
	if err := s.run(fmt.Sprintf("%s/pg_ctl -D %s/data -m immediate -w stop", s.bin, s.dir)); err != nil {
		fmt.Fprintln(os.Stderr, "postgres stop:", err)
	}
	os.RemoveAll(s.dir)
}

func (s *Server) run(command string) error {
	var cmd *exec.Cmd
	if s.pg != nil {
		cmd = exec.Command("su", s.pg.Username, "-s", "/bin/sh", "-c", command)
	} else {
		cmd = exec.Command("/bin/sh", "-c", command)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", command, err, out)
	}
	return nil
}

// FreshDB creates an empty database for t, dropped when t ends, and returns
// its DSN.
func (s *Server) FreshDB(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), s.n.Add(1))
	admin, err := pgx.Connect(ctx, s.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin, err := pgx.Connect(ctx, s.DSN)
		if err != nil {
			t.Error(err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Error(err)
		}
	})
	return strings.Replace(s.DSN, "/postgres?", "/"+name+"?", 1)
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}
