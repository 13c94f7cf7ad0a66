// Command metrics is the Go twin of incidents/metrics/metrics.c: a metrics
// aggregator whose periodic walk of the whole map holds producers back
// (the seed's "goroutine avalanche").  Run by the harness as the child
// (harness/runner/gochild.c); telemetry as JSON lines (harness/runtime/go).
//
// Same as the C scenario: the parameters (rate, new_series,
// initial_series, zipf_s, walk_ms, ttl_ms, req_bytes, export), the open-
// loop schedule per 1 ms tick merging bumps of existing series (the same
// Zipf-like pick over the series created so far) with brand-new series,
// each push a req_bytes body whose front is the Prometheus-style key, the
// get-or-create + atomic add, the aggregator ticker that walks the whole
// map every walk_ms, swaps each count to 0 (the roll-up), writes one
// exposition line per series to a file and expires series idle for
// ttl_ms after the walk, and the oracle: every delta applied is rolled
// up, still in the map, or in a counter expired since.
//
// Where Go forces a difference:
//   - A push is a goroutine, started when it arrives (net/http's model),
//     not an item in one of 8 producer queues; "inflight" counts pushes
//     arrived and not finished, so a walk that holds the lock shows as the
//     goroutine count the seed reports.  Nothing bounds it but memory.
//   - No reference counts: an expired counter a push still holds stays
//     alive (garbage collector) and keeps what it was bumped by; the
//     aggregator keeps expired counters in a list so the oracle can count
//     them (C: the count leaves with the last release, "released").
//   - sync.Map exposes no promotion or dirty-copy counters, so
//     "promotions" and "dirty_copied" are not reported here.
//   - Memory is the Go heap; the RSS cap is the only cap (no budget).
//
// Locking: counters are atomics (count, lastNs); the map synchronises as
// its variant does (maps/go); the expired list is the aggregator's own;
// applied is an atomic sum read after every push finished (WaitGroup).
package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"maplab/gomaps"
	"maplab/gotel"
)

type counter struct {
	count  atomic.Uint64
	lastNs atomic.Int64
	id     uint32
}

type req struct {
	body    []byte
	klen    int
	id      uint32
	delta   uint64
	arrival int64
}

type metrics struct {
	tel                                    *gotel.Tel
	m                                      gomaps.Map[*counter]
	rate, newRate, zipf                    float64
	initial                                uint64
	walkEvery, ttl                         int64
	reqBytes                               int
	out                                    *os.File
	universe                               atomic.Uint64
	applied, entries                       atomic.Int64
	rolled                                 uint64     // aggregator only
	expired                                []*counter // aggregator only
	wg                                     sync.WaitGroup
	mInflight, mOps, mEntries, mCreated    *gotel.Metric
	mExpired, mRolled, mWalks, mWalkEnts   *gotel.Metric
	mUniverse, mLag                        *gotel.Metric
	hLatency, hWalk, hMapCall, hMapCallNew *gotel.Hist
}

var base = time.Now()

func nowNs() int64 { return int64(time.Since(base)) }

func rngNext(s *uint64) uint64 {
	*s += 0x9e3779b97f4a7c15
	z := *s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func rngUnit(s *uint64) float64 { return float64(rngNext(s)>>11) * 0x1.0p-53 }

func seriesKey(id uint32) string {
	return fmt.Sprintf(`http_requests_total{service="svc-%02d",route="/api/v1/r%04d",series="%07d"}`,
		id%37, id%1009, id)
}

// pickSeries is metrics.c's pick_series: a bounded power law by inversion.
func pickSeries(rng *uint64, s float64, u uint64) uint32 {
	un := rngUnit(rng)
	if u <= 1 {
		return 0
	}
	var x float64
	switch {
	case s == 0:
		x = 1 + un*float64(u-1)
	case math.Abs(s-1) < 1e-9:
		x = math.Exp(un * math.Log(float64(u)))
	default:
		x = math.Pow((math.Pow(float64(u), 1-s)-1)*un+1, 1/(1-s))
	}
	if !(x >= 1) {
		x = 1
	}
	if x >= float64(u) {
		return uint32(u - 1)
	}
	return uint32(uint64(x) - 1)
}

// ---- pushes ----

func (st *metrics) serve(r *req) {
	defer st.wg.Done()
	t0 := nowNs()
	k := string(r.body[:r.klen])
	c, ok := st.m.Load(k)
	fresh := false
	if !ok {
		fresh = true
		n := &counter{id: r.id}
		n.lastNs.Store(t0)
		var loaded bool
		c, loaded = st.m.LoadOrStore(k, n)
		if !loaded {
			st.entries.Add(1)
			st.mCreated.Add(1)
			st.mEntries.Set(st.entries.Load())
		}
	}
	t1 := nowNs()
	st.hMapCall.Record(t1 - t0)
	if fresh {
		st.hMapCallNew.Record(t1 - t0)
	}
	c.count.Add(r.delta)
	c.lastNs.Store(t1)
	st.applied.Add(int64(r.delta))
	st.hLatency.Record(nowNs() - r.arrival)
	st.mOps.Add(1)
	st.mInflight.Add(-1)
}

// ---- the aggregator ----

func (st *metrics) aggregateOnce() {
	var exp []*counter
	var w *bufio.Writer
	now := nowNs()
	if st.out != nil {
		st.out.Seek(0, 0)
		w = bufio.NewWriterSize(st.out, 64<<10)
	}
	var visited, rolled uint64
	t0 := nowNs()
	st.m.Range(func(k string, c *counter) bool {
		visited++
		d := c.count.Swap(0)
		rolled += d
		if w != nil {
			fmt.Fprintf(w, "%s %d %d\n", k, d, now/1e6)
		}
		if st.ttl > 0 && now-c.lastNs.Load() > st.ttl {
			exp = append(exp, c)
		}
		return true
	})
	if w != nil {
		w.Flush()
		off, _ := st.out.Seek(0, 1)
		st.out.Truncate(off)
	}
	t1 := nowNs()
	st.hWalk.Record(t1 - t0)
	st.mWalks.Add(1)
	st.mWalkEnts.Set(int64(visited))
	st.rolled += rolled
	st.mRolled.Add(int64(rolled))
	for _, c := range exp { // expiry, outside the walk
		k := seriesKey(c.id)
		if cur, ok := st.m.Load(k); ok && cur == c {
			st.m.Delete(k)
			st.entries.Add(-1)
			st.mExpired.Add(1)
			st.expired = append(st.expired, c)
		}
	}
	st.mEntries.Set(st.entries.Load())
	st.mUniverse.Set(int64(st.universe.Load()))
}

func (st *metrics) aggregator(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	next := nowNs() + st.walkEvery
	for {
		select {
		case <-stop:
			return
		default:
		}
		if now := nowNs(); now < next {
			d := next - now
			if d > 20e6 {
				d = 20e6
			}
			time.Sleep(time.Duration(d))
			continue
		}
		st.aggregateOnce()
		next += st.walkEvery
		if now := nowNs(); next < now {
			next = now
		}
	}
}

// ---- the dispatcher ----

func (st *metrics) newReq(id uint32, arrival int64, rng *uint64) *req {
	r := &req{body: make([]byte, st.reqBytes), id: id, arrival: arrival,
		delta: 1 + rngNext(rng)&7}
	r.klen = copy(r.body, seriesKey(id))
	for i := r.klen; i < len(r.body); i++ {
		r.body[i] = ' '
	}
	return r
}

func (st *metrics) dispatch(seed uint64) {
	rng := seed ^ 0x6d657472696373
	start := nowNs()
	tick := start
	var nOld, nNew uint64
	u := st.initial
	perOld := 1e9 / st.rate
	perNew := 0.0
	if st.newRate > 0 {
		perNew = 1e9 / st.newRate
	}
	for !st.tel.Stopping() {
		now := nowNs()
		dueOld := uint64(float64(now-start) / perOld)
		dueNew := uint64(0)
		if perNew > 0 {
			dueNew = uint64(float64(now-start) / perNew)
		}
		tOld := start + int64(float64(nOld)*perOld)
		if now > tOld {
			st.mLag.Set((now - tOld) / 1000)
		} else {
			st.mLag.Set(0)
		}
		var queued int64
		for nOld < dueOld || nNew < dueNew {
			tOld = start + int64(float64(nOld)*perOld)
			tNew := int64(math.MaxInt64)
			if perNew > 0 {
				tNew = start + int64(float64(nNew)*perNew)
			}
			var id uint32
			var arrival int64
			if nNew < dueNew && (nOld >= dueOld || tNew <= tOld) {
				arrival, id = tNew, uint32(u)
				u++
				nNew++
				st.universe.Store(u)
			} else {
				arrival, id = tOld, pickSeries(&rng, st.zipf, u)
				nOld++
			}
			r := st.newReq(id, arrival, &rng)
			queued++
			st.wg.Add(1)
			go st.serve(r)
		}
		st.mInflight.Add(queued)
		tick += int64(time.Millisecond)
		if now = nowNs(); tick > now {
			time.Sleep(time.Duration(tick - now))
		} else {
			tick = now
		}
	}
}

// ---- setup, run, oracle ----

func setup(a *gotel.Args, tel *gotel.Tel) *metrics {
	st := &metrics{tel: tel}
	st.rate = a.Param("rate")
	st.newRate = a.Param("new_series")
	st.initial = uint64(a.Param("initial_series"))
	st.zipf = a.Param("zipf_s")
	st.walkEvery = int64(a.Param("walk_ms")) * 1e6
	st.ttl = int64(a.Param("ttl_ms")) * 1e6
	st.reqBytes = int(a.Param("req_bytes"))
	st.universe.Store(st.initial)
	st.mInflight = tel.Metric("inflight")
	st.mOps = tel.Metric("ops")
	st.mEntries = tel.Metric("entries")
	st.mCreated = tel.Metric("series_created")
	st.mExpired = tel.Metric("series_expired")
	st.mRolled = tel.Metric("rolled_up")
	st.mWalks = tel.Metric("walks")
	st.mWalkEnts = tel.Metric("walk_entries")
	st.mUniverse = tel.Metric("series_universe")
	st.mLag = tel.Metric("dispatch_lag_us")
	st.hLatency = tel.Hist("latency")
	st.hWalk = tel.Hist("walk")
	st.hMapCall = tel.Hist("map_call")
	st.hMapCallNew = tel.Hist("map_call_new")
	if a.Param("export") != 0 {
		f, err := os.Create(filepath.Join(a.Workdir, "rollup.prom"))
		if err != nil {
			tel.Fail("metrics: export file: %v", err)
		}
		st.out = f
	}
	st.m = gomaps.New[*counter](a.Variant, int(st.initial))
	if st.m == nil {
		tel.Fail("metrics: unknown Go variant %q", a.Variant)
	}
	rng := a.Seed ^ 0x736574757000
	now := nowNs()
	spread := st.ttl
	if spread <= 0 || spread >= now {
		spread = 1
	}
	for id := uint64(0); id < st.initial; id++ {
		c := &counter{id: uint32(id)}
		c.lastNs.Store(now - int64(rngNext(&rng)%uint64(spread)))
		st.m.Store(seriesKey(uint32(id)), c)
	}
	st.entries.Store(int64(st.initial))
	st.mEntries.Set(int64(st.initial))
	return st
}

func (st *metrics) run(seed uint64) {
	stop, done := make(chan struct{}), make(chan struct{})
	go st.aggregator(stop, done)
	st.dispatch(seed)
	close(stop)
	<-done
	st.wg.Wait() // every push that arrived is served
}

func (st *metrics) oracle() {
	var inMap, visited uint64
	st.m.Range(func(k string, c *counter) bool {
		visited++
		inMap += c.count.Load()
		return true
	})
	var expiredLeft uint64
	for _, c := range st.expired {
		expiredLeft += c.count.Load()
	}
	applied := uint64(st.applied.Load())
	accounted := st.rolled + inMap + expiredLeft
	mismatch, lost := float64(0), float64(0)
	if applied > accounted {
		mismatch, lost = float64(applied-accounted), float64(applied-accounted)
	} else {
		mismatch = float64(accounted - applied)
	}
	st.tel.Symptom("counter_mismatch", mismatch)
	st.tel.Symptom("lost_updates", lost)
	ent := st.entries.Load()
	li := 0.0
	if ent > int64(visited) {
		li = float64(ent - int64(visited))
	}
	st.tel.Symptom("lost_inserts", li)
	st.tel.Symptom("invariant_violations", 0)
	st.tel.Log("metrics: applied %d = rolled %d + expired %d + in map %d (%d series)",
		applied, st.rolled, expiredLeft, inMap, visited)
	if st.out != nil {
		st.out.Close()
	}
}

func main() {
	tel := gotel.Open()
	a, err := gotel.ParseArgs(os.Args[1:])
	if err != nil {
		tel.Fail("metrics: %v", err)
	}
	tel.Phase("setup")
	tel.Start(a.SampleMs, a.Seconds)
	st := setup(a, tel)
	tel.Phase("run")
	st.run(a.Seed)
	tel.Phase("oracle")
	st.oracle()
	tel.Phase("teardown")
	tel.Stop()
	tel.Phase("done")
}
