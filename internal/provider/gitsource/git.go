package gitsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// waitDelay bounds how long a git that was killed, or exited, may keep its
// output pipes open through a process that escaped its group.
const waitDelay = 5 * time.Second

// git runs the git CLI for one job: always in the job's private repository,
// with the job's clean environment, its secrets kept off command lines and
// out of the log.
type git struct {
	bin    string
	dir    string
	env    []string
	log    io.Writer // nil discards
	secret *redactor
}

// gitOutput is what a finished git command left.
type gitOutput struct {
	stdout []byte
	stderr string // redacted
}

// run runs git with args. Its stderr goes to the log, redacted, line by line,
// when loud is set, and is returned either way. An error wrapping ctx.Err()
// means ctx ended the command; *exec.ExitError that git failed.
func (g *git) run(ctx context.Context, loud bool, args ...string) (gitOutput, error) {
	if err := ctx.Err(); err != nil {
		return gitOutput{}, err
	}
	var stdout bytes.Buffer
	errs := &stderrSink{redact: g.secret.redact}
	if loud {
		errs.log = g.log
		g.logf("$ git %s", strings.Join(args, " "))
	}
	cmd := exec.CommandContext(ctx, g.bin, args...)
	cmd.Dir = g.dir
	cmd.Env = g.env
	cmd.Stdout = &stdout
	cmd.Stderr = errs
	cmd.WaitDelay = waitDelay
	killGroup(cmd)
	err := cmd.Run()
	errs.flush()
	out := gitOutput{stdout: stdout.Bytes(), stderr: errs.text()}
	if ctx.Err() != nil {
		return out, ctx.Err()
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return out, fmt.Errorf("running %s: %w", g.bin, err)
	}
	return out, err
}

// output runs a quiet git command and returns its stdout; on failure the
// error carries git's last message.
func (g *git) output(ctx context.Context, args ...string) (string, error) {
	out, err := g.run(ctx, false, args...)
	if err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		return "", fmt.Errorf("git %s: %s", args[0], orDefault(lastError(out.stderr), err.Error()))
	}
	return string(out.stdout), nil
}

// logf writes one line of sluice's own to the log. It is only called while no
// git command runs, so writes never interleave.
func (g *git) logf(format string, args ...any) {
	if g.log != nil {
		_, _ = io.WriteString(g.log, g.secret.redact(fmt.Sprintf(format, args...))+"\n")
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// redactor replaces known secret values in text meant for people.
type redactor struct {
	secrets []string
}

// add registers a secret, and each line of one that spans several (a key), so
// that a line of it quoted alone is caught too. Very short values are
// registered whole only: masking every "a" in a log helps no one.
func (r *redactor) add(secret string) {
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return
	}
	r.secrets = append(r.secrets, secret)
	if strings.Contains(secret, "\n") {
		for l := range strings.SplitSeq(secret, "\n") {
			if l = strings.TrimSpace(l); len(l) >= 16 {
				r.secrets = append(r.secrets, l)
			}
		}
	}
}

func (r *redactor) redact(s string) string {
	if r == nil {
		return s
	}
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, "***")
	}
	return s
}

// Limits on the stderr a command keeps: a line is passed on once it is this
// long even without a newline, and this much of the end is kept to explain a
// failure.
const (
	maxLine = 16 << 10
	maxTail = 64 << 10
)

// stderrSink passes git's stderr to the log a line at a time, so that a secret
// is never split across two writes where redaction could miss it, and keeps
// the end of it.
type stderrSink struct {
	log    io.Writer
	redact func(string) string
	buf    []byte
	tail   []byte
}

func (s *stderrSink) Write(p []byte) (int, error) {
	s.buf = append(s.buf, p...)
	for {
		i := bytes.IndexAny(s.buf, "\r\n")
		if i < 0 {
			break
		}
		s.emit(s.buf[:i+1])
		s.buf = s.buf[i+1:]
	}
	if len(s.buf) >= maxLine {
		s.emit(s.buf)
		s.buf = s.buf[:0]
	}
	return len(p), nil
}

// flush passes on a last line that had no newline.
func (s *stderrSink) flush() {
	if len(s.buf) > 0 {
		s.emit(append(s.buf, '\n'))
		s.buf = nil
	}
}

func (s *stderrSink) emit(line []byte) {
	text := s.redact(string(line))
	if s.log != nil {
		// A failing log must not stop git: its output is drained either way.
		if _, err := io.WriteString(s.log, text); err != nil {
			s.log = nil
		}
	}
	s.tail = append(s.tail, text...)
	if len(s.tail) > maxTail {
		s.tail = append(s.tail[:0], s.tail[len(s.tail)-maxTail:]...)
	}
}

func (s *stderrSink) text() string { return string(s.tail) }
