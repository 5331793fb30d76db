package inproc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// seen is what a handler saw of a request.
type seen struct {
	Method, RequestURI, Path, RawQuery, Host, UserAgent, ContentType, Auth string
	ContentLength                                                          int64
	Chunked                                                                bool
	Body                                                                   string
	HasRemoteAddr                                                          bool
}

// echo answers what it saw, with a status and headers the request asks for.
func echo(got chan<- seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- seen{
			Method: r.Method, RequestURI: r.RequestURI, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Host: r.Host,
			UserAgent: r.UserAgent(), ContentType: r.Header.Get("Content-Type"), Auth: r.Header.Get("Authorization"),
			ContentLength: r.ContentLength, Chunked: len(r.TransferEncoding) > 0, Body: string(body), HasRemoteAddr: r.RemoteAddr != "",
		}
		w.Header().Set("X-Answer", "yes")
		switch r.URL.Query().Get("answer") {
		case "nocontent":
			w.WriteHeader(http.StatusNoContent)
		case "teapot":
			w.WriteHeader(http.StatusTeapot)
			fmt.Fprint(w, `{"code":"Teapot","message":"short and stout"}`)
		case "html":
			fmt.Fprint(w, "<html><body>hello</body></html>")
		case "nothing":
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"len":%d}`, len(body))
		}
	})
}

// answer is what a client got.
type answer struct {
	Status        string
	StatusCode    int
	ContentType   string
	ContentLength int64
	XAnswer       string
	Body          string
}

func roundTrip(t *testing.T, c *http.Client, method, url string, body io.Reader, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return answer{Status: resp.Status, StatusCode: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"),
		ContentLength: resp.ContentLength, XAnswer: resp.Header.Get("X-Answer"), Body: string(raw)}
}

// TestSameAsHTTP sends the same requests to one handler over real HTTP
// and in process, and requires the handler to see, and the client to get,
// the same.
func TestSameAsHTTP(t *testing.T) {
	got := make(chan seen, 1)
	h := echo(got)
	srv := httptest.NewServer(h)
	defer srv.Close()
	overHTTP := srv.Client()
	inProc := &http.Client{Transport: &Transport{Handler: h, RemoteAddr: "127.0.0.1:0"}}

	cases := []struct {
		name, method, path string
		body               func() io.Reader
		header             map[string]string
	}{
		{"get", "GET", "/api/v1/things/a%2Fb?x=1&y=%20", nil, nil},
		{"json post", "POST", "/api/v1/jobs/j1/result?next=Commands,Noop", func() io.Reader { return strings.NewReader(`{"workerId":"w"}`) },
			map[string]string{"Content-Type": "application/json", "Authorization": "Bearer tok"}},
		{"streamed body", "PUT", "/api/v1/jobs/j1/outputs/out", func() io.Reader {
			return io.MultiReader(strings.NewReader("part one, "), strings.NewReader("part two"))
		},
			map[string]string{"Content-Type": "application/zip"}},
		{"no content", "POST", "/x?answer=nocontent", func() io.Reader { return bytes.NewReader(nil) }, nil},
		{"error status", "GET", "/x?answer=teapot", nil, nil},
		{"sniffed type", "GET", "/x?answer=html", nil, nil},
		{"nothing written", "DELETE", "/x?answer=nothing", nil, map[string]string{"User-Agent": "sluice-test/1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var results [2]answer
			var saw [2]seen
			for i, c := range []*http.Client{overHTTP, inProc} {
				var body io.Reader
				if tc.body != nil {
					body = tc.body()
				}
				results[i] = roundTrip(t, c, tc.method, srv.URL+tc.path, body, tc.header)
				saw[i] = <-got
			}
			if saw[0] != saw[1] {
				t.Errorf("the handler saw\nover HTTP:  %+v\nin process: %+v", saw[0], saw[1])
			}
			if results[0] != results[1] {
				t.Errorf("the client got\nover HTTP:  %+v\nin process: %+v", results[0], results[1])
			}
		})
	}
}

// TestStreamsBothWays moves 8 MiB each way through a handler that
// answers while it reads: neither side holds the whole body.
func TestStreamsBothWays(t *testing.T) {
	const size = 8 << 20
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		// Echo as it reads: only possible if the request streams in
		// while the answer streams out.
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	c := &http.Client{Transport: &Transport{Handler: h}}
	pr, pw := io.Pipe()
	want := sha256.New()
	go func() {
		chunk := bytes.Repeat([]byte("0123456789abcdef"), 4<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			want.Write(chunk)
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("PUT", "http://sluice.test/echo", pr)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	gotSum := sha256.New()
	n, err := io.Copy(gotSum, resp.Body)
	if err != nil || n != size {
		t.Fatalf("read %d bytes, err %v; want %d", n, err, size)
	}
	if !bytes.Equal(gotSum.Sum(nil), want.Sum(nil)) {
		t.Fatal("the echoed body differs from the one sent")
	}
}

// TestFlushReachesClient: a flushed answer reaches the client while the
// handler still runs (a log stream, an event stream).
func TestFlushReachesClient(t *testing.T) {
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "first\n")
		w.(http.Flusher).Flush()
		<-release
		fmt.Fprint(w, "second\n")
	})
	c := &http.Client{Transport: &Transport{Handler: h}}
	resp, err := c.Get("http://sluice.test/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 6)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first\n" {
		t.Fatalf("first part: %q, %v", buf, err)
	}
	close(release)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "second\n" {
		t.Fatalf("rest: %q, %v", rest, err)
	}
}

// TestCancelEndsLongPoll: the client's context ending ends a long poll at
// once on both sides, even when the handler takes its time to notice.
func TestCancelEndsLongPoll(t *testing.T) {
	handlerSaw := make(chan error, 1)
	started := make(chan struct{})
	tr := &Transport{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
		handlerSaw <- r.Context().Err()
		// A handler that writes after the client left writes nowhere.
		if _, err := fmt.Fprint(w, "late"); err == nil {
			w.(http.Flusher).Flush()
		}
	})}
	c := &http.Client{Transport: tr}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://sluice.test/api/v1/jobs/claim", strings.NewReader(`{"waitSeconds":60}`))
		_, err := c.Do(req)
		done <- err
	}()
	<-started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("client got %v, want context.Canceled", err)
	}
	if err := <-handlerSaw; !errors.Is(err, context.Canceled) {
		t.Fatalf("handler's context: %v, want context.Canceled", err)
	}
	tr.Wait()
}

// TestClientReturnsWhileHandlerHangs: a client whose context ends is not
// held by a handler that ignores its own.
func TestClientReturnsWhileHandlerHangs(t *testing.T) {
	stuck := make(chan struct{})
	tr := &Transport{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-stuck })}
	defer func() { close(stuck); tr.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://sluice.test/", nil)
	if _, err := (&http.Client{Transport: tr}).Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the deadline", err)
	}
}

// TestClosedBodyEndsHandler: a client that closes a streamed answer's body
// before its end ends the handler's request, as a closed connection does.
func TestClosedBodyEndsHandler(t *testing.T) {
	ended := make(chan error, 1)
	tr := &Transport{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 32<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				<-r.Context().Done()
				ended <- err
				return
			}
		}
	})}
	resp, err := (&http.Client{Transport: tr}).Get("http://sluice.test/artifact")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 100<<10)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-ended; err == nil {
		t.Fatal("the handler's write succeeded after the client closed the body")
	}
	tr.Wait()
}

// TestRequestBodyEndsWithRequest: a handler blocked reading a request body
// the client is slow to send is released when the client gives up.
func TestRequestBodyEndsWithRequest(t *testing.T) {
	readErr := make(chan error, 1)
	reading := make(chan struct{})
	tr := &Transport{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(reading)
		_, err := io.ReadAll(r.Body)
		readErr <- err
	})}
	pr, pw := io.Pipe() // never written to
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "PUT", "http://sluice.test/upload", pr)
	done := make(chan error, 1)
	go func() {
		_, err := (&http.Client{Transport: tr}).Do(req)
		done <- err
	}()
	<-reading
	cancel()
	<-done
	if err := <-readErr; err == nil {
		t.Fatal("the handler read the whole body of a request its client gave up")
	}
	tr.Wait()
}

// TestPanicCutsTheAnswer: a handler's panic reaches the client as a broken
// connection, is logged, and does not take the process down.
func TestPanicCutsTheAnswer(t *testing.T) {
	var logged bytes.Buffer
	tr := &Transport{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") }),
		Logger: slog.New(slog.NewTextHandler(&logged, nil))}
	_, err := (&http.Client{Transport: tr}).Get("http://sluice.test/")
	if !errors.Is(err, ErrAborted) {
		t.Fatalf("got %v, want ErrAborted", err)
	}
	tr.Wait()
	if !strings.Contains(logged.String(), "boom") {
		t.Fatalf("the panic was not logged: %q", logged.String())
	}
}

// TestShortAnswer: an answer shorter than the Content-Length its handler
// declared is cut, as over HTTP.
func TestShortAnswer(t *testing.T) {
	tr := &Transport{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		fmt.Fprint(w, "abc")
	})}
	resp, err := (&http.Client{Transport: tr}).Get("http://sluice.test/")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("a short answer was read whole")
	}
}

// A client that cancels while it reads a streamed answer gets an error from
// its body, as from net/http's, not a clean end: a handler that stops on
// its context's end and returns normally had made the cut answer look whole.
func TestCancelMidBodyIsNoCleanEnd(t *testing.T) {
	tr := &Transport{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("first part\n"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})}
	defer tr.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://sluice.test/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, len("first part\n"))
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("the body of a cancelled request ended cleanly")
	}
}
