package metrics

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// The Go runtime's go_* and the process's process_* families, under the
// names, types and help texts of Prometheus's Go and process collectors
// (client_golang's defaults), which dashboards and alerts expect.

// constant is a family of one unlabelled series computed at each scrape.
func (r *registry) constant(name, help string, k kind, value func() (float64, bool)) {
	r.add(&family{name: name, help: help, kind: k, collect: func(_ *scrape, emit func([]label, sample)) {
		if v, ok := value(); ok {
			emit(nil, sample{v: v})
		}
	}})
}

// memStat is one go_memstats_* family read from runtime.MemStats.
type memStat struct {
	name, help string
	kind       kind
	value      func(*runtime.MemStats) float64
}

var memStats = []memStat{
	{"go_memstats_alloc_bytes", "Number of bytes allocated in heap and currently in use. Equals to /memory/classes/heap/objects:bytes.", gauge, func(m *runtime.MemStats) float64 { return float64(m.Alloc) }},
	{"go_memstats_alloc_bytes_total", "Total number of bytes allocated in heap until now, even if released already. Equals to /gc/heap/allocs:bytes.", counter, func(m *runtime.MemStats) float64 { return float64(m.TotalAlloc) }},
	{"go_memstats_buck_hash_sys_bytes", "Number of bytes used by the profiling bucket hash table. Equals to /memory/classes/profiling/buckets:bytes.", gauge, func(m *runtime.MemStats) float64 { return float64(m.BuckHashSys) }},
	{"go_memstats_frees_total", "Total number of heap objects frees. Equals to /gc/heap/frees:objects + /gc/heap/tiny/allocs:objects.", counter, func(m *runtime.MemStats) float64 { return float64(m.Frees) }},
	{"go_memstats_gc_sys_bytes", "Number of bytes used for garbage collection system metadata. Equals to /memory/classes/metadata/other:bytes.", gauge, func(m *runtime.MemStats) float64 { return float64(m.GCSys) }},
	{"go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and currently in use, same as go_memstats_alloc_bytes. Equals to /memory/classes/heap/objects:bytes.", gauge, func(m *runtime.MemStats) float64 { return float64(m.HeapAlloc) }},
	{"go_memstats_heap_idle_bytes", "Number of heap bytes waiting to be used. Equals to /memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes.", gauge, func(m *runtime.MemStats) float64 { return float64(m.HeapIdle) }},
	{"go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes", gauge, func(m *runtime.MemStats) float64 { return float64(m.HeapInuse) }},
	{"go_memstats_heap_objects", "Number of currently allocated objects. Equals to /gc/heap/objects:objects.", gauge, func(m *runtime.MemStats) float64 { return float64(m.HeapObjects) }},
	{"go_memstats_heap_released_bytes", "Number of heap bytes released to OS. Equals to /memory/classes/heap/released:bytes.", gauge, func(m *runtime.MemStats) float64 { return float64(m.HeapReleased) }},
	{"go_memstats_heap_sys_bytes", "Number of heap bytes obtained from system. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes + /memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes.", gauge, func(m *runtime.MemStats) float64 { return float64(m.HeapSys) }},
	{"go_memstats_last_gc_time_seconds", "Number of seconds since 1970 of last garbage collection.", gauge, func(m *runtime.MemStats) float64 { return float64(m.LastGC) / 1e9 }},
	{"go_memstats_mallocs_total", "Total number of heap objects allocated, both live and gc-ed. Semantically a counter version for go_memstats_heap_objects gauge. Equals to /gc/heap/allocs:objects + /gc/heap/tiny/allocs:objects.", counter, func(m *runtime.MemStats) float64 { return float64(m.Mallocs) }},
	{"go_memstats_mcache_inuse_bytes", "Number of bytes in use by mcache structures. Equals to /memory/classes/metadata/mcache/inuse:bytes.", gauge, func(m *runtime.MemStats) float64 { return float64(m.MCacheInuse) }},
	{"go_memstats_mcache_sys_bytes", "Number of bytes used for mcache structures obtained from system. Equals to /memory/classes/metadata/mcache/inuse:bytes + /memory/classes/metadata/mcache/free:bytes.", gauge, func(m *runtime.MemStats) float64 { return float64(m.MCacheSys) }},
	{"go_memstats_mspan_inuse_bytes", "Number of bytes in use by mspan structures. Equals to /memory/classes/metadata/mspan/inuse:bytes.", gauge, func(m *runtime.MemStats) float64 { return float64(m.MSpanInuse) }},
	{"go_memstats_mspan_sys_bytes", "Number of bytes used for mspan structures obtained from system. Equals to /memory/classes/metadata/mspan/inuse:bytes + /memory/classes/metadata/mspan/free:bytes.", gauge, func(m *runtime.MemStats) float64 { return float64(m.MSpanSys) }},
	{"go_memstats_next_gc_bytes", "Number of heap bytes when next garbage collection will take place. Equals to /gc/heap/goal:bytes.", gauge, func(m *runtime.MemStats) float64 { return float64(m.NextGC) }},
	{"go_memstats_other_sys_bytes", "Number of bytes used for other system allocations. Equals to /memory/classes/other:bytes.", gauge, func(m *runtime.MemStats) float64 { return float64(m.OtherSys) }},
	{"go_memstats_stack_inuse_bytes", "Number of bytes obtained from system for stack allocator in non-CGO environments. Equals to /memory/classes/heap/stacks:bytes.", gauge, func(m *runtime.MemStats) float64 { return float64(m.StackInuse) }},
	{"go_memstats_stack_sys_bytes", "Number of bytes obtained from system for stack allocator. Equals to /memory/classes/heap/stacks:bytes + /memory/classes/os-stacks:bytes.", gauge, func(m *runtime.MemStats) float64 { return float64(m.StackSys) }},
	{"go_memstats_sys_bytes", "Number of bytes obtained from system. Equals to /memory/classes/total:byte.", gauge, func(m *runtime.MemStats) float64 { return float64(m.Sys) }},
}

// goCollector registers the go_* families.
func (r *registry) goCollector() {
	r.add(&family{name: "go_gc_duration_seconds", help: "A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.", kind: summary,
		collect: func(_ *scrape, emit func([]label, sample)) {
			var st debug.GCStats
			st.PauseQuantiles = make([]time.Duration, 5)
			debug.ReadGCStats(&st)
			s := sample{sum: st.PauseTotal.Seconds(), count: uint64(st.NumGC)}
			for i, q := range st.PauseQuantiles {
				s.quantiles = append(s.quantiles, [2]float64{float64(i) / 4, q.Seconds()})
			}
			emit(nil, s)
		}})
	runtimeValue := func(name string) func() (float64, bool) {
		return func() (float64, bool) {
			s := []rtmetrics.Sample{{Name: name}}
			rtmetrics.Read(s)
			if s[0].Value.Kind() != rtmetrics.KindUint64 {
				return 0, false
			}
			return float64(s[0].Value.Uint64()), true
		}
	}
	r.constant("go_gc_gogc_percent", "Heap size target percentage configured by the user, otherwise 100. This value is set by the GOGC environment variable, and the runtime/debug.SetGCPercent function. Sourced from /gc/gogc:percent.", gauge, runtimeValue("/gc/gogc:percent"))
	r.constant("go_gc_gomemlimit_bytes", "Go runtime memory limit configured by the user, otherwise math.MaxInt64. This value is set by the GOMEMLIMIT environment variable, and the runtime/debug.SetMemoryLimit function. Sourced from /gc/gomemlimit:bytes.", gauge, runtimeValue("/gc/gomemlimit:bytes"))
	r.constant("go_sched_gomaxprocs_threads", "The current runtime.GOMAXPROCS setting, or the number of operating system threads that can execute user-level Go code simultaneously. Sourced from /sched/gomaxprocs:threads.", gauge, runtimeValue("/sched/gomaxprocs:threads"))
	r.constant("go_goroutines", "Number of goroutines that currently exist.", gauge, func() (float64, bool) { return float64(runtime.NumGoroutine()), true })
	r.constant("go_threads", "Number of OS threads created.", gauge, func() (float64, bool) {
		n, _ := runtime.ThreadCreateProfile(nil)
		return float64(n), true
	})
	r.add(&family{name: "go_info", help: "Information about the Go environment.", kind: gauge, collect: func(_ *scrape, emit func([]label, sample)) {
		emit([]label{{"version", runtime.Version()}}, sample{v: 1})
	}})
	for _, m := range memStats {
		r.add(&family{name: m.name, help: m.help, kind: m.kind, collect: func(sc *scrape, emit func([]label, sample)) {
			emit(nil, sample{v: m.value(sc.memStats())})
		}})
	}
}

// processCollector registers the process_* families, read from /proc (on
// systems without it they are not shown).
func (r *registry) processCollector() {
	stat := func(field int) (float64, bool) {
		f := procStat()
		if f == nil || field >= len(f) {
			return 0, false
		}
		v, err := strconv.ParseFloat(f[field], 64)
		return v, err == nil
	}
	// Fields of /proc/self/stat after the command's closing parenthesis,
	// numbered from 0 there (proc(5) numbers them from 1 at the pid).
	const utime, stime, starttime, vsize, rss = 11, 12, 19, 20, 21
	r.constant("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", counter, func() (float64, bool) {
		u, ok1 := stat(utime)
		s, ok2 := stat(stime)
		return (u + s) / userHZ, ok1 && ok2
	})
	r.constant("process_virtual_memory_bytes", "Virtual memory size in bytes.", gauge, func() (float64, bool) { return stat(vsize) })
	r.constant("process_resident_memory_bytes", "Resident memory size in bytes.", gauge, func() (float64, bool) {
		v, ok := stat(rss)
		return v * float64(os.Getpagesize()), ok
	})
	r.constant("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", gauge, func() (float64, bool) {
		start, ok := stat(starttime)
		boot, ok2 := bootTime()
		return boot + start/userHZ, ok && ok2
	})
	r.constant("process_open_fds", "Number of open file descriptors.", gauge, func() (float64, bool) {
		d, err := os.Open("/proc/self/fd")
		if err != nil {
			return 0, false
		}
		defer d.Close()
		names, err := d.Readdirnames(-1)
		return float64(len(names)), err == nil
	})
	r.constant("process_max_fds", "Maximum number of open file descriptors.", gauge, func() (float64, bool) { return limit("Max open files") })
	r.constant("process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes.", gauge, func() (float64, bool) { return limit("Max address space") })
	r.constant("process_network_receive_bytes_total", "Number of bytes received by the process over the network.", counter, func() (float64, bool) { return netstat("InOctets") })
	r.constant("process_network_transmit_bytes_total", "Number of bytes sent by the process over the network.", counter, func() (float64, bool) { return netstat("OutOctets") })
}

// userHZ is the kernel's clock ticks a second in /proc's times (USER_HZ,
// 100 on every Linux architecture Go runs on).
const userHZ = 100

// procStat is /proc/self/stat's fields after the command name, or nil.
func procStat() []string {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// bootTime is /proc/stat's btime: when the machine started, in Unix seconds.
func bootTime() (float64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

// limit is the soft limit named in /proc/self/limits; "unlimited" is the
// largest uint64, as the kernel's RLIM_INFINITY.
func limit(name string) (float64, bool) {
	b, err := os.ReadFile("/proc/self/limits")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, name); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				return 0, false
			}
			if f[0] == "unlimited" {
				return math.MaxUint64, true
			}
			v, err := strconv.ParseFloat(f[0], 64)
			return v, err == nil
		}
	}
	return 0, false
}

// netstat is a field of the IpExt lines of /proc/self/net/netstat (the
// network namespace's counters, as Prometheus's process collector reports).
// A missing field counts as 0, as there.
func netstat(field string) (float64, bool) {
	f, err := os.Open("/proc/self/net/netstat")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var names []string
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "IpExt:")
		if !ok {
			continue
		}
		if names == nil {
			names = strings.Fields(line)
			continue
		}
		values := strings.Fields(line)
		for i, n := range names {
			if n == field && i < len(values) {
				v, err := strconv.ParseFloat(values[i], 64)
				return v, err == nil
			}
		}
		return 0, true
	}
	return 0, sc.Err() == nil
}
