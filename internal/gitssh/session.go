package gitssh

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sluice-ci/sluice/internal/access"
	"github.com/sluice-ci/sluice/internal/audit"
	"github.com/sluice-ci/sluice/internal/gitserver"
	"github.com/sluice-ci/sluice/internal/service"
)

// serveSession answers a session's requests: one exec of git-upload-pack or
// git-receive-pack, an env of GIT_PROTOCOL before it; everything else is
// refused. A shell is answered with a line saying the key works, and what
// for, as GitHub's and CodeCommit's servers do, and closed.
func (s *Server) serveSession(conn *ssh.ServerConn, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	protocol := ""
	for req := range reqs {
		switch req.Type {
		case "env":
			var kv struct{ Name, Value string }
			if ssh.Unmarshal(req.Payload, &kv) == nil && kv.Name == "GIT_PROTOCOL" && len(kv.Value) < 64 {
				protocol = kv.Value
				req.Reply(true, nil)
				continue
			}
			req.Reply(false, nil)
		case "exec":
			var cmd struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &cmd); err != nil {
				req.Reply(false, nil)
				return
			}
			req.Reply(true, nil)
			code := s.exec(conn, ch, cmd.Command, protocol)
			exit(ch, code)
			return
		case "shell":
			req.Reply(true, nil)
			fp := conn.Permissions.Extensions[fingerprintExt]
			ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
			p, err := s.principal(ctx, fp)
			cancel()
			if err != nil {
				fmt.Fprintf(ch.Stderr(), "sluice: this key no longer works: %s\r\n", service.ErrorMessage(err))
			} else {
				fmt.Fprintf(ch.Stderr(), "sluice: hello %s: key %s works for git (git clone ssh://…/NAME.git); there is no shell access.\r\n", p.Name, p.key)
			}
			exit(ch, 1)
			return
		default:
			// pty-req, subsystem, x11-req, auth-agent-req@openssh.com, signal, …
			if req.WantReply {
				req.Reply(false, nil)
			}
		}
	}
}

// exit sends the command's exit status and ends the channel's output.
func exit(ch ssh.Channel, code int) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(code))
	ch.SendRequest("exit-status", false, b[:])
	ch.CloseWrite()
}

// exec runs one command and returns its exit status. Refusals are written
// to the client's standard error, which ssh shows and git prints.
func (s *Server) exec(conn *ssh.ServerConn, ch ssh.Channel, command, protocol string) int {
	start := time.Now()
	rec := audit.Record{
		Time:      start.UTC(),
		RequestID: "ssh-" + hex8(conn.SessionID()),
		Source:    remoteIP(conn.RemoteAddr()),
		UserAgent: string(conn.ClientVersion()),
		Params:    map[string]string{"protocol": "ssh"},
	}
	call := access.Call{}
	fail := func(code int, msg string) int {
		fmt.Fprintf(ch.Stderr(), "sluice: %s\n", msg)
		if rec.Error == "" {
			rec.Error = msg
		}
		if rec.Outcome == "" {
			rec.Outcome = audit.Failed
		}
		return code
	}
	defer func() {
		rec.Principal = call.Principal
		if rec.Operation == "" {
			rec.Operation = call.Operation
		}
		if rec.Resource == "" {
			rec.Resource = call.Resource
		}
		// The audit trail's status is HTTP's: what the same refusal or
		// success over HTTPS would have been answered with.
		switch {
		case rec.Status != 0:
		case rec.Outcome == audit.Allowed:
			rec.Status = 200
		case rec.Outcome == audit.Denied:
			rec.Status = 403
		default:
			rec.Status = 500
		}
		rec.Duration = time.Since(start)
		s.record(rec)
	}()

	program, repo, err := parseCommand(command)
	if err != nil {
		rec.Operation, rec.Outcome = "SSHExec", audit.Denied
		rec.Params["command"] = command
		rec.Status = 403 // not a command served
		if strings.Contains(err.Error(), "not found") {
			rec.Status = 404 // a path that names no repository
		}
		return fail(1, err.Error())
	}
	action, want := "GitPull", gitserver.Read
	if program == "git-receive-pack" {
		action, want = "GitPush", gitserver.Write
	}
	// Who the key stands for now: a key deleted, or a token revoked, since
	// the connection was opened is refused here.
	ctx := s.ctx
	lookup, cancel := context.WithTimeout(ctx, 10*time.Second)
	p, err := s.principal(lookup, conn.Permissions.Extensions[fingerprintExt])
	cancel()
	rec.Params["sshKeyName"] = p.key
	call.Principal, call.Operation, call.Resource = p.Name, action, "repository/"+repo
	if err != nil {
		rec.Outcome = audit.Denied
		rec.Error = service.ErrorMessage(err)
		code := service.ErrorCode(err)
		if code != service.CodeNotFound && code != service.CodeUnauthorized && code != service.CodeForbidden {
			s.log.Error("ssh: look up key", "err", err)
			return fail(1, "internal error")
		}
		return fail(1, "permission denied: "+service.ErrorMessage(err))
	}
	if err := call.Check(p.Principal, action, "repository/"+repo); err != nil {
		rec.Outcome = audit.Denied
		verb := "read"
		if want == gitserver.Write {
			verb = "push to"
		}
		s.log.Warn("git request denied", "repository", repo, "access", want.String(), "principal", p.Name, "protocol", "ssh")
		return fail(1, fmt.Sprintf("permission denied: you may not %s repository %s; %s", verb, repo, service.ErrorMessage(err)))
	}
	code, err := s.cfg.Repos.ServePack(ctx, gitserver.PackRequest{
		Repository: repo, Access: want, Principal: p.Name, Protocol: protocol,
		Stdin: ch, Stdout: ch, Stderr: ch.Stderr(),
	})
	switch {
	case errors.Is(err, gitserver.ErrNotFound):
		rec.Status = 404
		return fail(1, fmt.Sprintf("repository %s not found", repo))
	case err != nil:
		s.log.Error("ssh: serve git", "repository", repo, "err", err)
		return fail(1, "internal error")
	case code != 0:
		rec.Outcome, rec.Error, rec.Status = audit.Failed, fmt.Sprintf("git %s exited with status %d", program, code), 200
	default:
		rec.Outcome = audit.Allowed
	}
	return code
}

func (s *Server) record(rec audit.Record) {
	if s.cfg.Audit == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), 10*time.Second)
	defer cancel()
	if err := s.cfg.Audit.Append(ctx, rec); err != nil {
		s.log.Error("ssh: audit record not written", "operation", rec.Operation, "resource", rec.Resource, "err", err)
	}
}

// parseCommand reads the command git's ssh transport sends:
//
//	git-upload-pack '/NAME.git'     (ssh://host/NAME.git)
//	git-receive-pack 'NAME.git'     (host:NAME.git)
//
// The path may also be /git/NAME.git (the HTTP path) or /v1/repos/NAME
// (CodeCommit's), with or without .git and a trailing slash. git quotes the
// path with single quotes; a repository name never holds a quote, so a
// quoted quote is refused with the rest.
func parseCommand(command string) (program, repo string, err error) {
	program, arg, found := strings.Cut(command, " ")
	switch program {
	case "git-upload-pack", "git-receive-pack":
	case "git":
		// "git upload-pack 'x'", which some clients send.
		sub, rest, ok := strings.Cut(arg, " ")
		if ok && (sub == "upload-pack" || sub == "receive-pack") {
			program, arg = "git-"+sub, rest
			break
		}
		fallthrough
	default:
		if program == "git-upload-archive" || strings.HasPrefix(arg, "upload-archive") {
			return "", "", errors.New("git archive --remote is not served; clone the repository instead")
		}
		return "", "", errors.New("only git clone, fetch and push are served over SSH (git-upload-pack and git-receive-pack); there is no shell access")
	}
	if !found {
		return "", "", fmt.Errorf("%s: no repository named", program)
	}
	path := strings.TrimSpace(arg)
	if len(path) >= 2 && path[0] == '\'' && path[len(path)-1] == '\'' {
		path = path[1 : len(path)-1]
	}
	if strings.ContainsAny(path, "'\\\"` \t\n") {
		return "", "", fmt.Errorf("repository %q not found", path)
	}
	name := strings.TrimPrefix(path, "/")
	for _, prefix := range []string{"git/", "v1/repos/"} {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			name = rest
			break
		}
	}
	name = strings.TrimSuffix(name, "/")
	name = strings.TrimSuffix(name, ".git")
	if gitserver.ValidName(name) != nil {
		return "", "", fmt.Errorf("repository %q not found", path)
	}
	return program, name, nil
}

func remoteIP(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	return a.String()
}

func hex8(id []byte) string {
	if len(id) > 8 {
		id = id[:8]
	}
	return fmt.Sprintf("%x", id)
}
