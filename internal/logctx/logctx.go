// Package logctx carries log attributes in a context: what a piece of work
// is about (a request, an execution, a job), so that every line logged while
// doing it names it, whichever function logs it and however deep. A logger
// sees them when it is wrapped by Handler (the server and workers wrap
// theirs) and the line is logged with the context (InfoContext, …).
package logctx

import (
	"context"
	"log/slog"
)

// The keys sluice's log lines name their subject by: operators filter the
// JSON log (--log-format json) by them.
const (
	Request   = "request-id" // the X-Request-Id an API caller got
	Pipeline  = "pipeline"
	Execution = "execution_id"
	Stage     = "stage"
	Action    = "action"
	Job       = "job_id"
	Worker    = "worker"
)

type key struct{}

// With returns ctx carrying args (slog's key-value pairs or slog.Attrs) as
// well as what ctx carries already; a key given again replaces the earlier
// value. Empty string values are left out: an unknown id is no id.
func With(ctx context.Context, args ...any) context.Context {
	prev := Attrs(ctx)
	add := slog.Group("", args...).Value.Group()
	out := make([]slog.Attr, 0, len(prev)+len(add))
	for _, a := range prev {
		if !has(add, a.Key) {
			out = append(out, a)
		}
	}
	for _, a := range add {
		if a.Value.Kind() == slog.KindString && a.Value.String() == "" {
			continue
		}
		out = append(out, a)
	}
	return context.WithValue(ctx, key{}, out)
}

// Attrs returns the attributes ctx carries, in the order given.
func Attrs(ctx context.Context) []slog.Attr {
	if ctx == nil {
		return nil
	}
	a, _ := ctx.Value(key{}).([]slog.Attr)
	return a
}

func has(attrs []slog.Attr, k string) bool {
	for _, a := range attrs {
		if a.Key == k {
			return true
		}
	}
	return false
}

// Handler wraps h so that a record logged with a context gets the context's
// attributes, except those the line or its logger (With) sets itself.
// Wrapping a wrapped handler again returns it as it is.
func Handler(h slog.Handler) slog.Handler {
	if _, ok := h.(*handler); ok {
		return h
	}
	return &handler{inner: h}
}

// Logger is l with its handler wrapped by Handler; a nil l logs nothing.
func Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	if _, ok := l.Handler().(*handler); ok {
		return l
	}
	return slog.New(Handler(l.Handler()))
}

type handler struct {
	inner slog.Handler
	set   []string // keys the logger's With set already
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	carried := Attrs(ctx)
	if len(carried) == 0 {
		return h.inner.Handle(ctx, r)
	}
	own := map[string]bool{}
	r.Attrs(func(a slog.Attr) bool { own[a.Key] = true; return true })
	for _, k := range h.set {
		own[k] = true
	}
	r = r.Clone()
	for _, a := range carried {
		if !own[a.Key] {
			r.AddAttrs(a)
		}
	}
	return h.inner.Handle(ctx, r)
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	set := append([]string(nil), h.set...)
	for _, a := range as {
		set = append(set, a.Key)
	}
	return &handler{inner: h.inner.WithAttrs(as), set: set}
}

// WithGroup: the context's attributes of a line logged in a group go into
// the group, as the line's own do.
func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{inner: h.inner.WithGroup(name), set: h.set}
}
