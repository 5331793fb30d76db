package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/wire"
)

// benchUI measures the web console on a pipeline of 10 stages × 10 actions
// with 1,000 executions of history: the server's time to render the
// pipeline page (its Server-Timing, and the time a client waits for it),
// the history page and the fragment a live page re-fetches; then, for a
// state change (an execution starting), the time until the page's event
// stream delivers it, and until the re-fetched fragment is in hand.
func benchUI(ctx context.Context, runs int) error {
	if runs == 0 {
		runs = 50
	}
	c, base, token, cleanup, err := startServerURL(ctx, 4)
	if err != nil {
		return err
	}
	defer cleanup()

	var decl strings.Builder
	decl.WriteString("name: big\nstages:\n")
	for s := 1; s <= 10; s++ {
		fmt.Fprintf(&decl, "  - name: S%02d\n    actions:\n", s)
		for a := 1; a <= 10; a++ {
			fmt.Fprintf(&decl, "      - {name: a%02d, provider: Noop, runOrder: %d}\n", a, (a+1)/2)
		}
	}
	if err := apply(ctx, c, decl.String()); err != nil {
		return err
	}
	// History: 1,000 executions, each a document of 100 actions. The
	// transition into S02 is disabled, so each runs at most its first stage
	// and is superseded by the next; the last then runs every stage.
	if err := c.SetTransition(ctx, "big", "S02", wire.TransitionRequest{Enabled: false, Reason: "filling history"}); err != nil {
		return err
	}
	t0 := time.Now()
	var last string
	for range 1000 {
		if last, err = c.Start(ctx, "big", wire.StartRequest{}); err != nil {
			return err
		}
	}
	if err := c.SetTransition(ctx, "big", "S02", wire.TransitionRequest{Enabled: true}); err != nil {
		return err
	}
	for {
		e, err := c.Execution(ctx, "big", last, time.Time{}, 0)
		if err != nil {
			return err
		}
		if e.Status == "Succeeded" {
			break
		}
		if e.Status != "InProgress" {
			return fmt.Errorf("the last execution ended %s", e.Status)
		}
		if _, err := c.Execution(ctx, "big", last, e.LastUpdateTime, 5*time.Second); err != nil {
			return err
		}
	}
	fmt.Printf("ui: history of 1,000 executions of 10 stages × 10 actions made in %s\n", time.Since(t0).Round(time.Millisecond))

	con, err := signInConsole(ctx, base, token)
	if err != nil {
		return err
	}
	for _, page := range []struct{ what, path string }{
		{"pipeline page", "/ui/pipelines/big"},
		{"its live fragment", "/ui/pipelines/big?fragment=live"},
		{"execution history (50 per page)", "/ui/pipelines/big/executions"},
		{"one execution", "/ui/pipelines/big/executions/" + last},
		{"pipelines list", "/ui/pipelines"},
	} {
		var server, wall []time.Duration
		size := 0
		for range runs {
			st, w, n, err := con.timedGet(ctx, page.path)
			if err != nil {
				return err
			}
			server, wall, size = append(server, st), append(wall, w), n
		}
		fmt.Printf("ui: %-32s %3d KiB  server render median %s (p90 %s, max %s); client wait median %s\n",
			page.what, size/1024, ms(percentile(server, 0.5)), ms(percentile(server, 0.9)), ms(percentile(server, 1)), ms(percentile(wall, 0.5)))
	}

	// Live updates: the page's stream, then the fragment it re-fetches.
	if err := c.SetTransition(ctx, "big", "S02", wire.TransitionRequest{Enabled: false, Reason: "measuring"}); err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	msgs, err := con.stream(sctx, "/ui/live?pipeline=big")
	if err != nil {
		return err
	}
	var delivered, updated []time.Duration
	for range runs {
		t0 := time.Now()
		id, err := c.Start(ctx, "big", wire.StartRequest{})
		if err != nil {
			return err
		}
		if err := awaitStarted(ctx, msgs, id); err != nil {
			return err
		}
		delivered = append(delivered, time.Since(t0))
		if _, _, _, err := con.timedGet(ctx, "/ui/pipelines/big?fragment=live"); err != nil {
			return err
		}
		updated = append(updated, time.Since(t0))
	}
	fmt.Printf("ui: state change → stream message   median %s (p90 %s, max %s)\n", ms(percentile(delivered, 0.5)), ms(percentile(delivered, 0.9)), ms(percentile(delivered, 1)))
	fmt.Printf("ui: state change → fragment re-drawn median %s (p90 %s, max %s)\n", ms(percentile(updated, 0.5)), ms(percentile(updated, 0.9)), ms(percentile(updated, 1)))
	return nil
}

// console is a signed-in console session without a browser.
type console struct {
	base string
	http *http.Client
}

func signInConsole(ctx context.Context, base, token string) (*console, error) {
	jar, _ := cookiejar.New(nil)
	c := &console{base: base, http: &http.Client{Jar: jar}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/ui/signin", nil)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		return nil, errors.New("the sign-in form has no CSRF token")
	}
	form := url.Values{"csrf": {string(m[1])}, "token": {token}}
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, base+"/ui/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = c.http.Do(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path != "/ui/pipelines" {
		return nil, fmt.Errorf("sign in ended at %s (%s)", resp.Request.URL.Path, resp.Status)
	}
	return c, nil
}

var serverTiming = regexp.MustCompile(`render;dur=([0-9.]+)`)

// timedGet fetches a page: the server's own time (Server-Timing), the time
// the client waited, and the page's size.
func (c *console) timedGet(ctx context.Context, path string) (time.Duration, time.Duration, int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	t0 := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, 0, 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	wall := time.Since(t0)
	if err != nil {
		return 0, 0, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, 0, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	m := serverTiming.FindStringSubmatch(resp.Header.Get("Server-Timing"))
	if m == nil {
		return 0, 0, 0, fmt.Errorf("GET %s: no Server-Timing", path)
	}
	f, _ := strconv.ParseFloat(m[1], 64)
	return time.Duration(f * float64(time.Millisecond)), wall, len(body), nil
}

type liveMsg struct {
	Type        string `json:"type"`
	ExecutionID string `json:"executionId"`
	State       string `json:"state"`
}

// stream follows a live stream, handing over its messages.
func (c *console) stream(ctx context.Context, path string) (<-chan liveMsg, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("stream: %s", resp.Status)
	}
	out := make(chan liveMsg, 1024)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var m liveMsg
			if json.Unmarshal([]byte(data), &m) == nil {
				out <- m
			}
		}
	}()
	return out, nil
}

func awaitStarted(ctx context.Context, msgs <-chan liveMsg, id string) error {
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				return errors.New("the stream ended")
			}
			if m.ExecutionID == id && m.State == "STARTED" && m.Type == "CodePipeline Pipeline Execution State Change" {
				return nil
			}
		case <-timeout:
			return fmt.Errorf("no STARTED message for execution %s", id)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
