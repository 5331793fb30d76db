package gitserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/lazyregexp"
)

// PackRequest is one run of git-upload-pack (a clone or fetch) or
// git-receive-pack (a push) for a client that speaks git's protocol over a
// stream of its own, as git over SSH does. The caller has authenticated the
// client and authorized Access on Repository already.
type PackRequest struct {
	Repository string
	Access     Access // Read runs git-upload-pack, Write git-receive-pack
	Principal  string // who asks: REMOTE_USER of the hooks, the push's principal
	// Protocol is the GIT_PROTOCOL the client asked for ("version=2"); ""
	// speaks protocol v0. Values other than version=N are dropped.
	Protocol string
	Stdin    io.Reader
	Stdout   io.Writer
	Stderr   io.Writer
}

var gitProtocol = lazyregexp.New(`^version=[0-9]$`)

// ServePack runs git's own upload-pack or receive-pack on the repository
// with the client's streams, the same programs, configuration and hooks
// (branch protection, the push spool) as smart HTTP, and returns git's exit
// status. An accepted push is handed to onPush before ServePack returns, as
// ServeHTTP does. A client that goes away does not stop a push git accepted:
// its post-receive hook still runs. ErrNotFound when the repository does not
// exist.
func (s *Server) ServePack(ctx context.Context, req PackRequest) (int, error) {
	if _, err := s.readMeta(req.Repository); err != nil {
		return -1, err
	}
	var program string
	switch req.Access {
	case Read:
		program = "upload-pack"
	case Write:
		program = "receive-pack"
	default:
		return -1, fmt.Errorf("serve pack: unknown access %v", req.Access)
	}
	name := req.Repository
	push := req.Access == Write
	var pushID string
	runCtx := ctx
	if push {
		pushID = newPushID(time.Now())
		s.deliverMu.Lock()
		s.inflight[pushID] = true
		s.deliverMu.Unlock()
		defer func() {
			s.deliverMu.Lock()
			delete(s.inflight, pushID)
			s.deliverMu.Unlock()
		}()
		// A push git accepted finishes even when the client has gone.
		runCtx = context.WithoutCancel(ctx)
	}

	args := []string{program}
	if !push {
		// --strict: the path is the repository itself, never a working tree
		// above it; --timeout ends a fetch whose client stopped talking.
		args = append(args, "--strict", "--timeout=600")
	}
	args = append(args, s.dir(name))
	cmd := exec.CommandContext(runCtx, s.git, args...)
	cmd.Dir = s.dir(name)
	env := []string{"GIT_TERMINAL_PROMPT=0", "REMOTE_USER=" + principalEnv(req.Principal), "SLUICE_PUSH_ID=" + pushID}
	if gitProtocol.MatchString(req.Protocol) {
		env = append(env, "GIT_PROTOCOL="+req.Protocol)
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") && !strings.HasPrefix(kv, "REMOTE_USER=") && !strings.HasPrefix(kv, "SLUICE_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	stdout, stderr := req.Stdout, req.Stderr
	if push {
		stdout, stderr = &keepGoingWriter{w: stdout}, &keepGoingWriter{w: stderr}
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Standard input through a pipe of our own: exec's Wait would wait for a
	// copy from a client that never closes its side.
	in, err := cmd.StdinPipe()
	if err != nil {
		return -1, fmt.Errorf("serve pack: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return -1, fmt.Errorf("serve pack: start git %s: %w", program, err)
	}
	go func() {
		io.Copy(in, req.Stdin)
		in.Close()
	}()
	err = cmd.Wait()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return -1, fmt.Errorf("serve pack: git %s: %w", program, err)
		}
		code = ee.ExitCode()
	}
	if push {
		s.deliverSpooled(context.WithoutCancel(ctx), name, pushID)
	}
	return code, nil
}

// principalEnv makes a principal's name safe for an environment variable
// the hooks print into the spool, one line per field.
func principalEnv(principal string) string {
	return strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f {
			return '?'
		}
		return c
	}, principal)
}

// keepGoingWriter swallows write errors once one happened, so that git,
// whose client went away, is not stopped by a broken pipe between accepting
// a push and running its post-receive hook.
type keepGoingWriter struct {
	w      io.Writer
	failed bool
}

func (k *keepGoingWriter) Write(p []byte) (int, error) {
	if !k.failed {
		if _, err := k.w.Write(p); err != nil {
			k.failed = true
		}
	}
	return len(p), nil
}
