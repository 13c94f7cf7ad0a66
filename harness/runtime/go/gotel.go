// Package gotel is the Go side of harness/runtime: what a Go twin of an
// incident (incidents/<name>/go/) sees of the harness.  It is the Go
// counterpart of incidents/incident.h + harness/runtime/telemetry.c.
//
// Protocol (read by harness/runner/gochild.c): the harness execs the twin
// with `key=value` arguments (variant, threads, seed, seconds, sample_ms and
// every incident parameter as p.<name>) and gives it a pipe as the file
// descriptor named by MAPLAB_TELEMETRY_FD.  The twin writes JSON lines to it,
// one object per line, each with a kind "k":
//
//	{"k":"phase","p":"setup|run|oracle|teardown|done","t":s}
//	{"k":"s","t":s,"rss":B,"heap_alloc":B,"heap_sys":B,"goroutines":n,
//	 "gc_cycles":n,"gc_pause_ns":ns,"m":{name:v,...},"h":{name:[p50,p99,max,n]}}
//	{"k":"log","msg":"..."}
//	{"k":"symptom","name":"...","v":x}
//	{"k":"hist","name":"...","count":n,"sum":ns,"max":ns,"b":[[bucket,count],...]}
//	{"k":"error","msg":"..."}             (setup failed; the twin exits 3)
//
// Histogram buckets are the C lab's (harness/runtime/ictx.c): values 0..7
// exact, then 8 sub-buckets per power of two, so the parent merges them
// into the same record fields.  Samples are taken from runtime/metrics,
// which does not stop the world (runtime.ReadMemStats would, and would
// then be a stall of its own in the figures).
//
// Threads: Metric and Hist are safe from any goroutine (atomics only).
// Writes to the pipe are serialised by Tel.mu.  Without
// MAPLAB_TELEMETRY_FD (a twin run by hand) the lines go to stderr.
package gotel

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/bits"
	"os"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Buckets is ICTX_HIST_BUCKETS.
const Buckets = 496

// Args are the run's identity and the incident's parameters.
type Args struct {
	Variant  string
	Threads  int
	Seed     uint64
	Seconds  float64
	SampleMs int
	Workdir  string
	P        map[string]float64
}

// ParseArgs reads `key=value` arguments; unknown keys are an error.
func ParseArgs(argv []string) (*Args, error) {
	a := &Args{Threads: 8, Seconds: 3, SampleMs: 10, P: map[string]float64{}}
	for _, kv := range argv {
		i := strings.IndexByte(kv, '=')
		if i < 1 {
			return nil, fmt.Errorf("argument %q is not key=value", kv)
		}
		k, v := kv[:i], kv[i+1:]
		var err error
		switch {
		case k == "variant":
			a.Variant = v
		case k == "workdir":
			a.Workdir = v
		case k == "threads":
			a.Threads, err = strconv.Atoi(v)
		case k == "seed":
			a.Seed, err = strconv.ParseUint(v, 10, 64)
		case k == "seconds":
			a.Seconds, err = strconv.ParseFloat(v, 64)
		case k == "sample_ms":
			a.SampleMs, err = strconv.Atoi(v)
		case strings.HasPrefix(k, "p."):
			a.P[k[2:]], err = strconv.ParseFloat(v, 64)
		default:
			err = fmt.Errorf("unknown key")
		}
		if err != nil {
			return nil, fmt.Errorf("argument %q: %v", kv, err)
		}
	}
	if a.Threads < 1 || a.Seconds <= 0 || a.SampleMs < 1 {
		return nil, fmt.Errorf("threads, seconds and sample_ms must be > 0")
	}
	if a.Workdir == "" {
		a.Workdir = os.TempDir()
	}
	return a, nil
}

// Param is a declared parameter; a missing one is a harness bug.
func (a *Args) Param(name string) float64 {
	v, ok := a.P[name]
	if !ok {
		panic("gotel: parameter " + name + " not passed")
	}
	return v
}

// Metric is a counter or gauge, updated with atomics.
type Metric struct {
	name string
	v    atomic.Int64
}

func (m *Metric) Add(d int64) { m.v.Add(d) }
func (m *Metric) Set(v int64) { m.v.Store(v) }
func (m *Metric) Load() int64 { return m.v.Load() }

// Hist is a log-bucketed latency histogram (ns), the C lab's layout.
type Hist struct {
	name  string
	b     [Buckets]atomic.Uint64
	count atomic.Uint64
	sum   atomic.Uint64
	max   atomic.Uint64
	prev  [Buckets]uint64 // sampler only: the previous interval's counts
}

// BucketOf is ictx_hist_bucket_of.
func BucketOf(v uint64) int {
	if v < 8 {
		return int(v)
	}
	e := 63 - bits.LeadingZeros64(v)
	return 8 + (e-3)*8 + int((v>>(e-3))&7)
}

// BucketHi is the largest value of bucket b (ictx_hist_bucket_hi).
func BucketHi(b int) uint64 {
	if b < 8 {
		return uint64(b)
	}
	if b >= Buckets-1 {
		return ^uint64(0)
	}
	e, sub := (b+1-8)/8+3, (b+1-8)%8
	return (uint64(8+sub) << (e - 3)) - 1
}

// Record adds one value in ns.
func (h *Hist) Record(ns int64) {
	if ns < 0 {
		ns = 0
	}
	v := uint64(ns)
	h.b[BucketOf(v)].Add(1)
	h.count.Add(1)
	h.sum.Add(v)
	for {
		cur := h.max.Load()
		if v <= cur || h.max.CompareAndSwap(cur, v) {
			return
		}
	}
}

// Since records the time since t0.
func (h *Hist) Since(t0 time.Time) { h.Record(int64(time.Since(t0))) }

// Tel is one run's telemetry channel.
type Tel struct {
	mu       sync.Mutex // the writer and the registries
	w        *bufio.Writer
	f        *os.File
	start    time.Time
	metrics  []*Metric
	hists    []*Hist
	stop     chan struct{}
	done     chan struct{}
	deadline atomic.Bool
}

// Open starts the channel (MAPLAB_TELEMETRY_FD, else stderr).
func Open() *Tel {
	f := os.Stderr
	if s := os.Getenv("MAPLAB_TELEMETRY_FD"); s != "" {
		if fd, err := strconv.Atoi(s); err == nil {
			f = os.NewFile(uintptr(fd), "telemetry")
		}
	}
	return &Tel{w: bufio.NewWriterSize(f, 64<<10), f: f, start: time.Now()}
}

// Elapsed is seconds since Open (the record's t_s).
func (t *Tel) Elapsed() float64 { return time.Since(t.start).Seconds() }

func (t *Tel) line(v map[string]any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	t.mu.Lock()
	t.w.Write(b)
	t.w.WriteByte('\n')
	t.w.Flush()
	t.mu.Unlock()
}

// named is what Metric and Hist have in common: a name.
type named interface{ nameOf() string }

func (m *Metric) nameOf() string { return m.name }
func (h *Hist) nameOf() string   { return h.name }

// findOrAdd returns the entry of *list called name, appending mk() when
// there is none.  The caller holds t.mu.
func findOrAdd[T named](list *[]T, name string, mk func() T) T {
	for _, e := range *list {
		if e.nameOf() == name {
			return e
		}
	}
	e := mk()
	*list = append(*list, e)
	return e
}

// Metric registers (or finds) a metric.
func (t *Tel) Metric(name string) *Metric {
	t.mu.Lock()
	defer t.mu.Unlock()
	return findOrAdd(&t.metrics, name, func() *Metric { return &Metric{name: name} })
}

// Hist registers (or finds) a histogram.
func (t *Tel) Hist(name string) *Hist {
	t.mu.Lock()
	defer t.mu.Unlock()
	return findOrAdd(&t.hists, name, func() *Hist { return &Hist{name: name} })
}

// Phase announces a phase (setup, run, oracle, teardown, done).
func (t *Tel) Phase(p string) {
	t.line(map[string]any{"k": "phase", "p": p, "t": t.Elapsed()})
}

// Log is ictx_log.
func (t *Tel) Log(format string, a ...any) {
	t.line(map[string]any{"k": "log", "msg": fmt.Sprintf(format, a...)})
}

// Symptom is ictx_symptom.
func (t *Tel) Symptom(name string, v float64) {
	t.line(map[string]any{"k": "symptom", "name": name, "v": v})
}

// Fail reports a setup failure and exits 3 (the harness's `error`).
func (t *Tel) Fail(format string, a ...any) {
	t.line(map[string]any{"k": "error", "msg": fmt.Sprintf(format, a...)})
	os.Exit(3)
}

var sampleNames = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/total:bytes",
	"/sched/goroutines:goroutines",
	"/gc/cycles/total:gc-cycles",
	"/gc/pauses:seconds",
}

// GoStats are the runtime figures of one sample.
type GoStats struct {
	HeapAlloc, HeapSys, Goroutines, GCCycles uint64
	GCPauseNs                                float64 // total pause time
}

// ReadGoStats reads runtime/metrics (no stop-the-world).
func ReadGoStats() GoStats {
	s := make([]metrics.Sample, len(sampleNames))
	for i, n := range sampleNames {
		s[i].Name = n
	}
	metrics.Read(s)
	var g GoStats
	g.HeapAlloc = s[0].Value.Uint64()
	g.HeapSys = s[1].Value.Uint64()
	g.Goroutines = s[2].Value.Uint64()
	g.GCCycles = s[3].Value.Uint64()
	if s[4].Value.Kind() == metrics.KindFloat64Histogram {
		h := s[4].Value.Float64Histogram()
		for i, c := range h.Counts {
			lo, hi := h.Buckets[i], h.Buckets[i+1]
			if lo < 0 || lo != lo {
				lo = 0
			}
			if hi > 1e9 || hi != hi {
				hi = lo
			}
			g.GCPauseNs += float64(c) * (lo + hi) / 2 * 1e9
		}
	}
	return g
}

func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// interval percentiles of h since the last sample
func (h *Hist) interval() []float64 {
	var cur [Buckets]uint64
	var n uint64
	for i := range cur {
		cur[i] = h.b[i].Load()
		d := cur[i] - h.prev[i]
		n += d
	}
	out := []float64{0, 0, 0, float64(n)}
	if n > 0 {
		var acc uint64
		q50, q99 := (n+1)/2, n-n/100
		if q99 < 1 {
			q99 = 1
		}
		for i := range cur {
			d := cur[i] - h.prev[i]
			if d == 0 {
				continue
			}
			if acc < q50 && acc+d >= q50 {
				out[0] = float64(BucketHi(i))
			}
			if acc < q99 && acc+d >= q99 {
				out[1] = float64(BucketHi(i))
			}
			acc += d
			out[2] = float64(BucketHi(i))
		}
		if mx := float64(h.max.Load()); out[2] > mx {
			out[2] = mx
		}
	}
	h.prev = cur
	return out
}

// Sample writes one sample line now.
func (t *Tel) Sample() {
	g := ReadGoStats()
	t.mu.Lock()
	ms, hs := append([]*Metric(nil), t.metrics...), append([]*Hist(nil), t.hists...)
	t.mu.Unlock()
	m := map[string]int64{}
	for _, x := range ms {
		m[x.name] = x.Load()
	}
	h := map[string][]float64{}
	for _, x := range hs {
		h[x.name] = x.interval()
	}
	t.line(map[string]any{"k": "s", "t": t.Elapsed(), "rss": rssBytes(),
		"heap_alloc": g.HeapAlloc, "heap_sys": g.HeapSys,
		"goroutines": g.Goroutines, "gc_cycles": g.GCCycles,
		"gc_pause_ns": g.GCPauseNs, "m": m, "h": h})
}

// Start samples every ms milliseconds until Stop, and sets Stopping after
// seconds (the run's planned length).
func (t *Tel) Start(ms int, seconds float64) {
	t.stop, t.done = make(chan struct{}), make(chan struct{})
	end := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	go func() {
		defer close(t.done)
		tk := time.NewTicker(time.Duration(ms) * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-t.stop:
				return
			case now := <-tk.C:
				t.Sample()
				if now.After(end) {
					t.deadline.Store(true)
				}
			}
		}
	}()
}

// Stopping is ictx_stopping: the planned length has passed.
func (t *Tel) Stopping() bool { return t.deadline.Load() }

// Stop ends sampling, takes a last sample, writes the histograms.
func (t *Tel) Stop() {
	if t.stop != nil {
		close(t.stop)
		<-t.done
		t.stop = nil
	}
	t.Sample()
	t.mu.Lock()
	hs := append([]*Hist(nil), t.hists...)
	t.mu.Unlock()
	for _, h := range hs {
		var b [][2]uint64
		for i := range h.b {
			if c := h.b[i].Load(); c > 0 {
				b = append(b, [2]uint64{uint64(i), c})
			}
		}
		sort.Slice(b, func(i, j int) bool { return b[i][0] < b[j][0] })
		t.line(map[string]any{"k": "hist", "name": h.name,
			"count": h.count.Load(), "sum": h.sum.Load(),
			"max": h.max.Load(), "b": b})
	}
}
