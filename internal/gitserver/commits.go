package gitserver

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// MaxPushCommits is how many commits a reference update of a push lists at
// most (newest first); RefUpdate.CommitsTruncated says when there were more.
const MaxPushCommits = 100

// maxCommitMessage bounds a listed commit's message, so that one commit
// with a huge message cannot make a push event huge.
const maxCommitMessage = 4 << 10

// PushCommit is a commit a push brought to a reference, in CodeCommit's
// GetCommit shape.
type PushCommit struct {
	ID        string
	Message   string
	Author    Signature
	Committer Signature
}

// Signature is who made or committed a commit, and when.
type Signature struct {
	Name, Email string
	Date        time.Time
}

// pushedCommits lists the commits update u of push p brought: for an
// update, those reachable from u.New and not from u.Old; for a created
// reference, those reachable from u.New and from nothing the repository had
// before the push (the references the push did not touch, and the old ids of
// those it did); none for a deletion. Newest first, at most MaxPushCommits;
// truncated says there were more.
func (s *Server) pushedCommits(ctx context.Context, p Push, u RefUpdate) (commits []PushCommit, truncated bool, err error) {
	name := p.Repository
	if isZeroID(u.New) {
		return nil, false, nil
	}
	dir, err := s.repoDir(name)
	if err != nil {
		return nil, false, err
	}
	args := []string{"log", "--no-show-signature", "--no-notes", "--encoding=UTF-8", "--no-decorate",
		fmt.Sprintf("--max-count=%d", MaxPushCommits+1),
		"--format=%H%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B%x00%x1e", u.New, "--not"}
	if isZeroID(u.Old) {
		for _, o := range p.Updates {
			if !isZeroID(o.Old) {
				args = append(args, o.Old)
			}
		}
		for _, o := range p.Updates {
			args = append(args, "--exclude="+o.Ref)
		}
		args = append(args, "--glob=refs/*") // not --all: it counts HEAD, which names a pushed branch
	} else {
		args = append(args, u.Old)
	}
	out, err := s.run(ctx, dir, args...)
	if err != nil {
		return nil, false, err
	}
	for _, rec := range strings.Split(string(out), "\x00\x1e") {
		rec = strings.TrimLeft(rec, "\n")
		if rec == "" {
			continue
		}
		f := strings.SplitN(rec, "\x00", 8)
		if len(f) != 8 {
			return nil, false, fmt.Errorf("git log %s: unexpected output", u.New)
		}
		c := PushCommit{ID: f[0], Author: Signature{Name: f[1], Email: f[2]}, Committer: Signature{Name: f[4], Email: f[5]}}
		c.Author.Date, _ = time.Parse(time.RFC3339, f[3])
		c.Committer.Date, _ = time.Parse(time.RFC3339, f[6])
		c.Message = strings.TrimRight(f[7], "\n")
		if len(c.Message) > maxCommitMessage {
			cut := maxCommitMessage
			for cut > 0 && !utf8Start(c.Message[cut]) {
				cut--
			}
			c.Message = c.Message[:cut] + "…"
		}
		commits = append(commits, c)
	}
	if len(commits) > MaxPushCommits {
		return commits[:MaxPushCommits], true, nil
	}
	return commits, false, nil
}

// utf8Start reports whether b begins a UTF-8 sequence (is not a continuation byte).
func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
