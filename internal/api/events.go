package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sluice-ci/sluice/internal/service"
)

// streamKeepAlive is how often an idle event stream sends a comment, so that
// proxies and clients see the connection alive.
const streamKeepAlive = 15 * time.Second

// streamEvents serves events as Server-Sent Events: those after the
// Last-Event-ID header (or ?after=SEQ), then each new one as it is written,
// until the client goes away. Every message's id is the event's sequence
// number, so a client that reconnects with Last-Event-ID misses nothing.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := service.EventFilter{Pipeline: q.Get("pipeline"), Type: q.Get("type"), Limit: 500}
	after := q.Get("after")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		after = id
	}
	if after != "" {
		n, err := strconv.ParseInt(after, 10, 64)
		if err != nil {
			return service.Errorf(service.CodeInvalid, "after (or Last-Event-ID): %q is not an event sequence number", after)
		}
		f.AfterSeq = n
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return service.Errorf(service.CodeInvalid, "since: %q is not an RFC 3339 time", v)
		}
		f.Since = t
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		return service.Errorf(service.CodeInternal, "streaming is not supported by this connection")
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": sluice event stream\n\n")
	flusher.Flush()
	ctx := r.Context()
	for ctx.Err() == nil {
		select {
		case <-s.svc.Stopping():
			// The server is shutting down: end the stream (the client
			// reconnects with Last-Event-ID and misses nothing).
			return nil
		default:
		}
		evs, err := s.svc.WaitEvents(ctx, f, streamKeepAlive)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Error("event stream", "err", err)
			return nil // the stream has started: the status cannot change any more
		}
		if len(evs) == 0 {
			fmt.Fprint(w, ": keep-alive\n\n")
		}
		for _, ev := range evs {
			data, err := json.Marshal(ev)
			if err != nil {
				return nil
			}
			fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.Seq, ev.DetailType, data)
			f.AfterSeq = ev.Seq
		}
		flusher.Flush()
	}
	return nil
}
