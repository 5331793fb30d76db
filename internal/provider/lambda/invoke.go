package lambda

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/function"
)

// Invocation is what Invoke needs besides the function and its input.
type Invocation struct {
	// Dir is where a command runs when the function names no working
	// directory; ScratchDir holds its input file (removed once open).
	Dir        string
	ScratchDir string
	// Env is the command's base environment; the function's own is added.
	Env []string
	// Log receives what the command writes; nil discards it.
	Log io.Writer
	// Headers are sent with a URL function's POST.
	Headers map[string]string
}

// Invoke hands input to a function outside any job, as an event rule's
// target does: a command runs with input on its standard input, a URL is
// POSTed input (Content-Type application/json). It returns nil once the
// function took it (the command exited 0, the URL answered 2xx), bounded by
// the function's timeoutInMinutes; what a command leaves running in the
// background may go on until that timeout. No job token goes with it: a
// function invoked this way answers to nobody.
func (p Provider) Invoke(ctx context.Context, fn *function.Function, input []byte, inv Invocation) error {
	if err := fn.Validate(); err != nil {
		return fmt.Errorf("function %s: %v", fn.Name, err)
	}
	timeout := time.Duration(fn.TimeoutInMinutes) * time.Minute
	log := &syncWriter{w: inv.Log}
	if inv.Log == nil {
		log.w = io.Discard
	}
	defer log.detach()
	if fn.URL != "" {
		return p.invokeURL(ctx, fn, input, timeout, inv.Headers)
	}
	dir := fn.WorkingDirectory
	if dir == "" {
		dir = inv.Dir
	}
	if err := checkDir(dir); err != nil {
		return fmt.Errorf("function %s: working directory %s: %w", fn.Name, dir, err)
	}
	env := slices.Clone(inv.Env)
	for _, k := range sortedKeys(fn.Environment) {
		env = append(env, k+"="+fn.Environment[k])
	}
	program, err := lookPath(fn.Command[0], env)
	if err != nil {
		return fmt.Errorf("function %s: %w", fn.Name, err)
	}
	// The invocation's directory is a throwaway: the function owns all of it.
	wrap, env, done, err := p.sandboxed(inv.Dir, inv.ScratchDir, []string{inv.Dir}, dir, program, env)
	if err != nil {
		return fmt.Errorf("function %s: %w", fn.Name, err)
	}
	defer done()
	stdin, err := eventFile(inv.ScratchDir, input)
	if err != nil {
		return fmt.Errorf("function %s: %w", fn.Name, err)
	}
	defer stdin.Close()
	grace := p.KillGrace
	if grace <= 0 {
		grace = DefaultKillGrace
	}
	res, err := runCommand(ctx, commandRun{
		path: program, args: fn.Command, dir: dir, env: env, stdin: stdin, log: log,
		grace: grace, timeout: timeout, wrap: wrap,
	})
	switch {
	case err != nil:
		return fmt.Errorf("function %s: %w", fn.Name, err)
	case res.timedOut:
		return fmt.Errorf("function %s did not finish within %d minutes (its timeoutInMinutes) and was killed", fn.Name, fn.TimeoutInMinutes)
	case res.stopped:
		return fmt.Errorf("function %s stopped: %w", fn.Name, context.Cause(ctx))
	case res.exitCode != 0:
		return fmt.Errorf("function %s exited with status %d", fn.Name, res.exitCode)
	}
	return nil
}

func (p Provider) invokeURL(ctx context.Context, fn *function.Function, input []byte, timeout time.Duration, headers map[string]string) error {
	u, err := url.Parse(fn.URL)
	if err != nil {
		return fmt.Errorf("function %s: %w", fn.Name, err)
	}
	shown := u.Redacted()
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fn.URL, bytes.NewReader(input))
	if err != nil {
		return fmt.Errorf("function %s: %w", fn.Name, err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	hc := p.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		if errors.Is(context.Cause(ctx), errTimeout) {
			return fmt.Errorf("function %s: POST %s: no answer within %d minutes (its timeoutInMinutes)", fn.Name, shown, fn.TimeoutInMinutes)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may hold credentials
		}
		return fmt.Errorf("function %s: POST %s: %w", fn.Name, shown, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := fmt.Sprintf("function %s: POST %s: %s", fn.Name, shown, resp.Status)
		if b := strings.TrimSpace(string(body)); b != "" {
			msg += ": " + strings.ToValidUTF8(b, "\uFFFD")
		}
		return errors.New(msg)
	}
	return nil
}
