package gitserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/lazyregexp"
)

// A spool file, written by the post-receive hook:
//
//	id 20250101T120000.123456789Z-0a1b2c3d4e5f
//	principal alice
//	update OLD NEW REF
//	update OLD NEW REF
//
// Its modification time is when the push was accepted.

const spoolExt = ".push"

var objectID = lazyregexp.New(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// parseSpool reads a spool file.
func parseSpool(repo, path string) (Push, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Push{}, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return Push{}, err
	}
	p := Push{
		Repository: repo,
		ID:         strings.TrimSuffix(filepath.Base(path), spoolExt),
		At:         fi.ModTime().UTC(),
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seenID, seenPrincipal := false, false
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		key, val, _ := strings.Cut(line, " ")
		switch key {
		case "id":
			if !seenID && val != "" {
				p.ID = val
			}
			seenID = true
		case "principal":
			if !seenPrincipal {
				p.Principal = val
			}
			seenPrincipal = true
		case "update":
			f := strings.SplitN(val, " ", 3)
			if len(f) != 3 || !objectID.MatchString(f[0]) || !objectID.MatchString(f[1]) || !strings.HasPrefix(f[2], "refs/") {
				return Push{}, fmt.Errorf("%s:%d: malformed update %q", path, n, val)
			}
			p.Updates = append(p.Updates, RefUpdate{Old: f[0], New: f[1], Ref: f[2]})
		default:
			return Push{}, fmt.Errorf("%s:%d: unknown line %q", path, n, line)
		}
	}
	if err := sc.Err(); err != nil {
		return Push{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// deliverSpooled hands the push a request made to onPush, if git accepted it.
func (s *Server) deliverSpooled(ctx context.Context, repo, id string) {
	path := filepath.Join(s.dir(repo), spoolDir, id+spoolExt)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return // refused, or nothing to update
	}
	if err := s.deliver(ctx, repo, path); err != nil {
		s.log.Error("push event not delivered; kept for Recover", "repository", repo, "push", id, "err", err)
	}
}

// deliver calls onPush with one spool file and removes it once onPush returned
// nil. A file that cannot be parsed is renamed to ID.bad and reported.
func (s *Server) deliver(ctx context.Context, repo, path string) error {
	p, err := parseSpool(repo, path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // delivered by someone else meanwhile
		}
		bad := strings.TrimSuffix(path, spoolExt) + ".bad"
		if rerr := os.Rename(path, bad); rerr != nil {
			return fmt.Errorf("%w (and it could not be put aside: %v)", err, rerr)
		}
		return fmt.Errorf("%w; moved to %s", err, bad)
	}
	if len(p.Updates) > 0 && s.onPush != nil {
		for i := range p.Updates {
			u := &p.Updates[i]
			var err error
			if u.Commits, u.CommitsTruncated, err = s.pushedCommits(ctx, p, *u); err != nil {
				// The push event goes out without its commits rather than not at all.
				s.log.Warn("list a push's commits", "repository", repo, "ref", u.Ref, "err", err)
			}
		}
		if err := s.onPush(ctx, p); err != nil {
			return err
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove delivered push: %w", err)
	}
	return nil
}

// Recover hands onPush the pushes still in the spools (left by a crash, by a
// failed onPush, or by pushes made on the disk), oldest first. When onPush fails
// for a push, the later pushes of the same repository wait for the next Recover,
// so each repository's pushes arrive in order. Pushes being handled by requests
// are left to them, so Recover may run at any time; the sluice server calls it at
// start, after its onPush is ready.
func (s *Server) Recover(ctx context.Context) error {
	s.recoverMu.Lock()
	defer s.recoverMu.Unlock()
	names, err := s.names()
	if err != nil {
		return err
	}
	type spooled struct {
		repo, path, id string
		mod            time.Time
	}
	var all []spooled
	for _, name := range names {
		dir := filepath.Join(s.dir(name), spoolDir)
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("recover pushes of %s: %w", name, err)
		}
		for _, e := range entries {
			id, ok := strings.CutSuffix(e.Name(), spoolExt)
			if !ok || strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
				continue
			}
			fi, err := e.Info()
			if err != nil {
				continue // delivered meanwhile
			}
			all = append(all, spooled{repo: name, path: filepath.Join(dir, e.Name()), id: id, mod: fi.ModTime()})
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if !all[i].mod.Equal(all[j].mod) {
			return all[i].mod.Before(all[j].mod)
		}
		return all[i].id < all[j].id
	})
	failed := map[string]bool{}
	var errs []error
	for _, sp := range all {
		if err := ctx.Err(); err != nil {
			return err
		}
		if failed[sp.repo] {
			continue
		}
		s.deliverMu.Lock()
		busy := s.inflight[sp.id]
		s.deliverMu.Unlock()
		if busy {
			continue
		}
		if err := s.deliver(ctx, sp.repo, sp.path); err != nil {
			failed[sp.repo] = true
			errs = append(errs, fmt.Errorf("repository %s, push %s: %w", sp.repo, sp.id, err))
			continue
		}
		s.log.Info("recovered push event", "repository", sp.repo, "push", sp.id)
	}
	if len(errs) > 0 {
		return fmt.Errorf("recover pushes: %w", errors.Join(errs...))
	}
	return nil
}
