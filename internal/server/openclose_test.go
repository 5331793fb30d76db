package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/server"
)

// fdList names the open file descriptors, for a failure's message.
func fdList() string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var b strings.Builder
	for _, e := range ents {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		b.WriteString(e.Name() + " " + target + "\n")
	}
	return b.String()
}

// openFiles counts the process's open file descriptors: the store's
// database files, the lock, the listeners and the audit trail's database
// are each one or more.
func openFiles(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("counting open files needs /proc: %v", err)
	}
	return len(ents)
}

// settles waits until count() is at most want, as goroutines told to stop
// (database/sql's connection opener, the audit trail's writer) exit on
// their own schedule; it fails the test if that does not happen in 10s.
func settles(t *testing.T, what string, count func() int, want int) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for count() > want {
		select {
		case <-tick.C:
		case <-deadline:
			var stacks bytes.Buffer
			pprof.Lookup("goroutine").WriteTo(&stacks, 1)
			t.Fatalf("%s: %d left open, want at most %d as before Open\nfiles:\n%s\n%s", what, count(), want, fdList(), stacks.String())
		}
	}
}

func quietConfig(dir string) server.Config {
	return server.Config{DataDir: dir, Addr: "127.0.0.1:0", Isolation: "none",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// openClose opens a server on dir and closes it, without running it.
func openClose(t *testing.T, dir string) {
	t.Helper()
	s, err := server.Open(context.Background(), quietConfig(dir))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("a second Close: %v", err)
	}
}

// Open that fails at a late step undoes every step before it: no file, no
// goroutine of the server's is left, and the data directory is free for
// the next Open.
func TestOpenFailingLateLeavesNothingOpen(t *testing.T) {
	// Whatever the first Open starts once per process (drivers' own
	// goroutines) is started here, before counting.
	openClose(t, t.TempDir())

	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string, cfg *server.Config)
		want  string
	}{
		{"an unusable TLS key", func(t *testing.T, dir string, cfg *server.Config) {
			cert, key, _ := selfSigned(t, t.TempDir())
			if err := os.WriteFile(key, []byte("-----BEGIN EC PRIVATE KEY-----\nbm90IGEga2V5\n-----END EC PRIVATE KEY-----\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg.TLSCert, cfg.TLSKey = cert, key
		}, "key"},
		{"an audit trail that cannot be opened", func(t *testing.T, dir string, cfg *server.Config) {
			// A directory where the audit database goes: the last step
			// before the console fails, after the store, the listeners and
			// the hosted repositories were built.
			if err := os.MkdirAll(filepath.Join(dir, server.AuditFile), 0o700); err != nil {
				t.Fatal(err)
			}
		}, server.AuditFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := quietConfig(dir)
			tc.setup(t, dir, &cfg)
			files, goroutines := openFiles(t), runtime.NumGoroutine()

			s, err := server.Open(context.Background(), cfg)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open failed with %q, want it to name %q", err, tc.want)
			}
			settles(t, "files", func() int { return openFiles(t) }, files)
			settles(t, "goroutines", runtime.NumGoroutine, goroutines)

			// The lock is released and the store closed: the same data
			// directory opens again once the fault is gone.
			os.RemoveAll(filepath.Join(dir, server.AuditFile))
			openClose(t, dir)
		})
	}
}

// Open, Close, Open again on the same data directory works, and Close
// leaves nothing of the server's open.
func TestOpenCloseOpen(t *testing.T) {
	dir := t.TempDir()
	openClose(t, t.TempDir())
	files, goroutines := openFiles(t), runtime.NumGoroutine()

	openClose(t, dir)
	settles(t, "files", func() int { return openFiles(t) }, files)
	settles(t, "goroutines", runtime.NumGoroutine, goroutines)

	openClose(t, dir)
	settles(t, "files", func() int { return openFiles(t) }, files)
	settles(t, "goroutines", runtime.NumGoroutine, goroutines)
}
