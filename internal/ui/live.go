package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/access"
	"github.com/sluice-ci/sluice/internal/service"
)

// liveKeepAlive is how often an idle stream sends a comment; the session's
// token is checked again at least that often, so a revoked token's streams
// end.
const liveKeepAlive = 15 * time.Second

// How often a stream compares the state of its pipeline (or of every
// pipeline) for changes that write no event.
const (
	liveCheck    = time.Second
	liveCheckAll = 3 * time.Second
)

// fingerprint sums up what of a pipeline (every pipeline for "") can change
// without an event: versions and transitions.
func (s *Server) fingerprint(ctx context.Context, name string) (string, error) {
	var ps []service.PipelineInfo
	if name != "" {
		p, err := s.svc.Pipeline(ctx, name)
		if service.ErrorCode(err) == service.CodeNotFound {
			return "gone", nil
		}
		if err != nil {
			return "", err
		}
		ps = []service.PipelineInfo{p}
	} else {
		var err error
		if ps, err = s.svc.Pipelines(ctx); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%s/%d;", p.Declaration.Name, p.Version)
		for _, st := range p.Declaration.Stages {
			if t, ok := p.Transitions[st.Name]; ok && !t.Enabled {
				fmt.Fprintf(&b, "%s:%s:%s;", st.Name, t.DisabledReason, t.LastChangedAt)
			}
		}
	}
	return b.String(), nil
}

// liveMessage is what the stream tells a page: that something changed, and
// roughly what, so the page can re-fetch the parts it shows.
type liveMessage struct {
	Seq         int64  `json:"seq"`
	Type        string `json:"type"`
	Pipeline    string `json:"pipeline,omitempty"`
	ExecutionID string `json:"executionId,omitempty"`
	Stage       string `json:"stage,omitempty"`
	Action      string `json:"action,omitempty"`
	State       string `json:"state,omitempty"`
}

// live serves the events after ?after=SEQ (or Last-Event-ID, when the
// browser reconnects) as Server-Sent Events, of one pipeline when
// ?pipeline=NAME is given.
func (s *Server) live(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	f := service.EventFilter{Pipeline: q.Get("pipeline"), Limit: 200}
	after := q.Get("after")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		after = id
	}
	if after != "" {
		n, err := strconv.ParseInt(after, 10, 64)
		if err != nil || n < 0 {
			return errorf(service.CodeInvalid, "after: %q is not an event sequence number", after)
		}
		f.AfterSeq = n
	} else {
		n, err := s.latestSeq(r.Context())
		if err != nil {
			return err
		}
		f.AfterSeq = n
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		return errorf(service.CodeInternal, "streaming is not supported by this connection")
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n: sluice console stream\n\n")
	flusher.Flush()

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	// Some changes write no event (a transition toggled, a new version
	// applied): the pipelines' state is compared between waits as well.
	wait := liveCheck
	if f.Pipeline == "" {
		wait = liveCheckAll
	}
	last, _ := s.fingerprint(ctx, f.Pipeline)
	var idle time.Duration
	for ctx.Err() == nil {
		evs, err := s.svc.WaitEvents(ctx, f, wait)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("console stream", "err", err)
			}
			return nil
		}
		if len(evs) > 0 || idle+wait >= liveKeepAlive {
			// Revoked meanwhile: tell the page, which sends the browser to
			// sign in.
			if _, err := s.guard.ByHash(ctx, c.sess.tokenHash); errors.Is(err, access.ErrUnknownToken) {
				s.sessions.remove(c.sess.id)
				fmt.Fprint(w, "event: signedout\ndata: {}\n\n")
				flusher.Flush()
				return nil
			}
		}
		for _, ev := range evs {
			m := liveMessage{Seq: ev.Seq, Type: ev.DetailType}
			if d, ok := ev.Detail.(service.EventDetail); ok {
				m.Pipeline, m.ExecutionID, m.Stage, m.Action, m.State = d.Pipeline, d.ExecutionID, d.Stage, d.Action, d.State
			}
			data, err := json.Marshal(m)
			if err != nil {
				return nil
			}
			fmt.Fprintf(w, "id: %d\nevent: change\ndata: %s\n\n", ev.Seq, data)
			f.AfterSeq = ev.Seq
		}
		if len(evs) > 0 {
			flusher.Flush()
			idle = 0
		} else if idle += wait; idle >= liveKeepAlive {
			idle = 0
			fmt.Fprint(w, ": keep-alive\n\n")
			flusher.Flush()
		}
		if p, err := s.fingerprint(ctx, f.Pipeline); err == nil && p != last {
			last = p
			fmt.Fprint(w, "event: change\ndata: {\"type\":\"pipeline\"}\n\n")
			flusher.Flush()
		}
	}
	return nil
}
