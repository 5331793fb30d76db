package metrics

import (
	"bufio"
	"compress/gzip"
	"io"
	"math"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The registry and its text exposition are sluice's own, not Prometheus's
// client library: that library's packages (with procfs, expvar and protobuf
// beneath them) build their default registry and tables in their init, which
// every command of the one binary paid for at its start, `sluice --help`
// included (docs/benchmarks.md). What is served is the same: the families
// sorted by name, each with its HELP and TYPE, the series sorted by their
// label values, labels by name, numbers as Prometheus's text format writes
// them (version 0.0.4, gzipped when the scraper accepts it).

// registry is the families a server exports.
type registry struct {
	mu       sync.Mutex
	families []*family
	// handlerErrors counts scrapes that failed to be written, as
	// promhttp_metric_handler_errors_total{cause="encoding"} (gathering
	// cannot fail here).
	handlerErrors *vec
}

// kind is a family's TYPE.
type kind string

const (
	counter   kind = "counter"
	gauge     kind = "gauge"
	histogram kind = "histogram"
	summary   kind = "summary"
)

// family is one metric name: fixed series (a vec) or series computed at each
// scrape (collect).
type family struct {
	name, help string
	kind       kind
	vec        *vec
	collect    func(sc *scrape, emit func(labels []label, s sample))
}

// scrape is what one scrape's families share: the runtime's memory
// statistics, read once (it stops the world briefly) for every
// go_memstats_* family.
type scrape struct {
	memRead bool
	mem     runtime.MemStats
}

func (sc *scrape) memStats() *runtime.MemStats {
	if !sc.memRead {
		runtime.ReadMemStats(&sc.mem)
		sc.memRead = true
	}
	return &sc.mem
}

type label struct{ name, value string }

// sample is one series' value: v for a counter or gauge; for a histogram the
// cumulative bucket counts (buckets' bounds in the family's vec) with sum and
// count; for a summary its quantiles with sum and count.
type sample struct {
	v         float64
	buckets   []float64 // upper bounds (histogram)
	counts    []uint64  // cumulative counts per bound (histogram)
	quantiles [][2]float64
	sum       float64
	count     uint64
}

// vec is a family's series by label values.
type vec struct {
	labels  []string  // as declared
	buckets []float64 // histogram bounds, ascending
	mu      sync.Mutex
	series  map[string]*series
}

type series struct {
	values []string
	v      float64
	counts []uint64 // per bucket, not cumulative; one more for +Inf
	sum    float64
	count  uint64
}

func (r *registry) add(f *family) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if slices.ContainsFunc(r.families, func(g *family) bool { return g.name == f.name }) {
		panic("metrics: " + f.name + " registered twice")
	}
	r.families = append(r.families, f)
}

func (r *registry) newVec(name, help string, k kind, buckets []float64, labels ...string) *vec {
	v := &vec{labels: labels, buckets: buckets, series: map[string]*series{}}
	r.add(&family{name: name, help: help, kind: k, vec: v})
	return v
}

// with is the series of the label values, made on first use.
func (v *vec) with(values ...string) *series {
	if len(values) != len(v.labels) {
		panic("metrics: " + strconv.Itoa(len(values)) + " label values for labels " + strings.Join(v.labels, ","))
	}
	key := strings.Join(values, "\xff")
	s := v.series[key]
	if s == nil {
		s = &series{values: slices.Clone(values)}
		if v.buckets != nil {
			s.counts = make([]uint64, len(v.buckets)+1)
		}
		v.series[key] = s
	}
	return s
}

// add adds d to a counter or gauge series.
func (v *vec) add(d float64, values ...string) {
	v.mu.Lock()
	v.with(values...).v += d
	v.mu.Unlock()
}

// set sets a gauge series.
func (v *vec) set(x float64, values ...string) {
	v.mu.Lock()
	v.with(values...).v = x
	v.mu.Unlock()
}

// observe records x in a histogram series.
func (v *vec) observe(x float64, values ...string) {
	v.mu.Lock()
	s := v.with(values...)
	i, _ := slices.BinarySearch(v.buckets, x) // the first bound >= x: Prometheus's buckets are "le"
	s.counts[i]++
	s.sum += x
	s.count++
	v.mu.Unlock()
}

// snapshot is the vec's series as samples with their labels.
func (v *vec) snapshot(emit func([]label, sample)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, s := range v.series {
		labels := make([]label, len(v.labels))
		for i, n := range v.labels {
			labels[i] = label{n, s.values[i]}
		}
		out := sample{v: s.v, sum: s.sum, count: s.count}
		if v.buckets != nil {
			out.buckets = v.buckets
			out.counts = make([]uint64, len(v.buckets))
			var c uint64
			for i := range v.buckets {
				c += s.counts[i]
				out.counts[i] = c
			}
		}
		emit(labels, out)
	}
}

type row struct {
	labels []label
	s      sample
}

// write writes every family with at least one series in the text format.
func (r *registry) write(w io.Writer) error {
	r.mu.Lock()
	families := slices.Clone(r.families)
	r.mu.Unlock()
	slices.SortFunc(families, func(a, b *family) int { return strings.Compare(a.name, b.name) })
	bw := bufio.NewWriter(w)
	sc := &scrape{}
	for _, f := range families {
		var rows []row
		emit := func(labels []label, s sample) {
			labels = slices.Clone(labels)
			slices.SortFunc(labels, func(a, b label) int { return strings.Compare(a.name, b.name) })
			rows = append(rows, row{labels, s})
		}
		if f.vec != nil {
			f.vec.snapshot(emit)
		} else {
			f.collect(sc, emit)
		}
		if len(rows) == 0 {
			continue // as Prometheus's registry: a family with no series is not shown
		}
		slices.SortFunc(rows, func(a, b row) int {
			for i := range min(len(a.labels), len(b.labels)) {
				if c := strings.Compare(a.labels[i].value, b.labels[i].value); c != 0 {
					return c
				}
			}
			return len(a.labels) - len(b.labels)
		})
		bw.WriteString("# HELP " + f.name + " " + escapeHelp(f.help) + "\n# TYPE " + f.name + " " + string(f.kind) + "\n")
		for _, rw := range rows {
			switch f.kind {
			case histogram:
				for i, le := range rw.s.buckets {
					writeSample(bw, f.name+"_bucket", rw.labels, label{"le", formatFloat(le)}, float64(rw.s.counts[i]))
				}
				writeSample(bw, f.name+"_bucket", rw.labels, label{"le", "+Inf"}, float64(rw.s.count))
				writeSample(bw, f.name+"_sum", rw.labels, label{}, rw.s.sum)
				writeSample(bw, f.name+"_count", rw.labels, label{}, float64(rw.s.count))
			case summary:
				for _, q := range rw.s.quantiles {
					writeSample(bw, f.name, rw.labels, label{"quantile", formatFloat(q[0])}, q[1])
				}
				writeSample(bw, f.name+"_sum", rw.labels, label{}, rw.s.sum)
				writeSample(bw, f.name+"_count", rw.labels, label{}, float64(rw.s.count))
			default:
				writeSample(bw, f.name, rw.labels, label{}, rw.s.v)
			}
		}
	}
	return bw.Flush()
}

// writeSample writes one line: name{labels,extra} value.
func writeSample(w *bufio.Writer, name string, labels []label, extra label, v float64) {
	w.WriteString(name)
	if len(labels) > 0 || extra.name != "" {
		w.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				w.WriteByte(',')
			}
			w.WriteString(l.name + `="` + escapeValue(l.value) + `"`)
		}
		if extra.name != "" {
			if len(labels) > 0 {
				w.WriteByte(',')
			}
			w.WriteString(extra.name + `="` + extra.value + `"`)
		}
		w.WriteByte('}')
	}
	w.WriteByte(' ')
	w.WriteString(formatFloat(v))
	w.WriteByte('\n')
}

// formatFloat writes a number as Prometheus's text format does.
func formatFloat(f float64) string {
	switch {
	case f == 1:
		return "1"
	case f == 0:
		return "0"
	case f == -1:
		return "-1"
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, +1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	valueEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeValue(s string) string { return valueEscaper.Replace(s) }

// contentType is what Prometheus's client library answers for its text
// format.
const contentType = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"

// ServeHTTP serves the registry in the text format, gzipped when the
// scraper accepts gzip.
func (r *registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Add("Vary", "Accept-Encoding")
	var out io.Writer = w
	if acceptsGzip(req.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		gz := gzip.NewWriter(w)
		defer gz.Close()
		out = gz
	}
	if err := r.write(out); err != nil {
		r.handlerErrors.add(1, "encoding")
	}
}

func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
		}
	}
	return false
}
