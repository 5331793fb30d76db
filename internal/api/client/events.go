package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/sluice-ci/sluice/internal/wire"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// EventFilter selects events to list or follow.
type EventFilter struct {
	Pipeline string
	Type     string
	Since    time.Time
	After    int64
	Limit    int
	// Newest lists the last Limit events instead of the first.
	Newest bool
}

func (f EventFilter) query() url.Values {
	q := url.Values{}
	if f.Pipeline != "" {
		q.Set("pipeline", f.Pipeline)
	}
	if f.Type != "" {
		q.Set("type", f.Type)
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if f.After > 0 {
		q.Set("after", strconv.FormatInt(f.After, 10))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.Newest {
		q.Set("newest", "true")
	}
	return q
}

// ListEvents lists events matching f, oldest first.
func (c *Client) ListEvents(ctx context.Context, f EventFilter) ([]wire.Event, error) {
	var out struct {
		Events []wire.Event `json:"events"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/events?"+f.query().Encode(), nil, &out)
	return out.Events, err
}

// StreamEvents follows the server's event stream (Server-Sent Events) and calls
// fn with each event matching f, oldest first, until ctx ends or fn returns an
// error. A dropped connection is resumed from the last event seen.
func (c *Client) StreamEvents(ctx context.Context, f EventFilter, fn func(wire.Event) error) error {
	f.Limit, f.Newest = 0, false
	for {
		err := c.streamOnce(ctx, &f, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if _, stop := err.(stopError); stop {
			return err.(stopError).err
		}
		if apiErr, ok := err.(*Error); ok && apiErr.Status < 500 {
			return err
		}
		select { // reconnect after a moment
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

type stopError struct{ err error }

func (e stopError) Error() string { return e.err.Error() }

func (c *Client) streamOnce(ctx context.Context, f *EventFilter, fn func(wire.Event) error) error {
	resp, err := c.send(ctx, http.MethodGet, "/api/v1/events/stream?"+f.query().Encode(), nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data.Len() == 0 {
				continue
			}
			var ev wire.Event
			if err := json.Unmarshal([]byte(data.String()), &ev); err != nil {
				return stopError{fmt.Errorf("decode event: %w", err)}
			}
			data.Reset()
			f.After = ev.Seq
			if err := fn(ev); err != nil {
				return stopError{err}
			}
		case strings.HasPrefix(line, "data: "):
			data.WriteString(strings.TrimPrefix(line, "data: "))
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return fmt.Errorf("event stream ended")
}
