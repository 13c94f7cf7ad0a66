// Command payment is the Go twin of incidents/payment/payment.c (and of
// incidents/retention/, which is the same service with other parameters):
// a payment gateway's order cache written by notification callbacks and
// swept by a reaper that audits what it evicts.  Run by the harness
// (harness/runner/gochild.c) as the child process, under the same caps;
// telemetry goes out as JSON lines (harness/runtime/go).
//
// Same as the C scenario: the parameters (rate, open, updates_max,
// dup_pct, payload_min/max, warm_pct, hint, ttl_ms, sweep_ms, audit,
// abandon_pct), the open-loop arrival schedule paced per 1 ms tick, the
// order life cycle (create, 0..updates_max updates, settle; dup_pct of
// settles redelivered 64 arrivals later; abandon_pct never settled), keys
// "ord-" + 16 hex digits of a seeded bijection of the id, copy-on-write
// orders, a settle applied once (the ledger's charge), the reaper's
// collect-then-delete walk with one audit record written per eviction
// during the walk, the final TTL-0 sweep, and the oracle (lost inserts,
// deletes, updates, double settles against the ledger).
//
// Where Go forces a difference (each one deliberate):
//   - A callback is a goroutine per notification, as net/http serves a
//     request, not one of 8 threads draining a queue; "inflight" counts
//     goroutines started and not finished (the seed's goroutine count).
//     To keep one order's notifications in order (the C partitioned
//     consumer, which the oracle relies on; a mutex would not, since
//     goroutines reach it in any order), each notification waits for the
//     previous one of its partition (order id mod threads) to finish: the
//     dispatcher chains them with one channel each, closed when done.
//   - No counting allocator: memory is the Go heap (heap_alloc, heap_sys
//     in the telemetry) and RSS; the harness's RSS cap is the only cap, so
//     an oom is cap "rss" (or Go's own "runtime: out of memory").
//   - No reference counts and no use-after-free: the garbage collector
//     keeps an order alive while anyone holds it, so "unreachable_bytes"
//     and "leaked_bytes" do not exist here.
//   - go-unsafe cannot corrupt silently: the runtime's detector kills the
//     process (`fatal error: concurrent map ...`, exit 2), which no
//     recover() catches.
//   - Range under go-mutex/go-rwlock holds the lock through the walk, like
//     the C variants; a callback may not call the map (Go's locks are not
//     reentrant), so collect-then-delete is the only shape, as in C.
//
// Locking: the per-partition channel chain orders a callback's get/put; the map
// synchronises as its variant does (maps/go).  Ledger fields written by
// the dispatcher only are read after every goroutine finished (WaitGroup
// Wait is the synchronisation); settles/evicted are atomics.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"maplab/gomaps"
	"maplab/gotel"
)

const (
	keyLen   = 20
	dupRing  = 4096
	dupDelay = 64
	tick     = time.Millisecond
)

const (
	stNone uint8 = iota
	stCreated
	stUpdated
	stSettled
)

const (
	nCreate uint8 = iota
	nUpdate
	nSettle
)

type order struct { // immutable once stored
	seq       uint32
	state     uint8
	id        uint64
	settledNs int64
	raw       []byte
}

type ledger struct {
	seq     uint32 // dispatcher only
	state   uint8  // dispatcher only
	settles atomic.Uint32
	evicted atomic.Uint32
}

type note struct {
	prev    <-chan struct{} // the partition's previous note; nil = none
	done    chan struct{}   // closed when this note is handled
	id      uint64
	seq     uint32
	kind    uint8
	raw     []byte
	arrival int64
}

type slot struct {
	id               uint64
	nextSeq, nevents uint32
}

type dup struct {
	id, due uint64
	seq     uint32
}

type payment struct {
	tel  *gotel.Tel
	m    gomaps.Map[*order]
	seed uint64
	nth  int

	rate                                              float64
	open, updatesMax, dupPct, payMin, payMax, warmPct uint32
	abandonPct                                        uint32
	ttl, sweepEvery                                   int64

	ledger []ledger
	nextID uint64 // dispatcher only

	slots   []slot // dispatcher only
	dups    []dup  // dispatcher only
	dupHead int
	dupLen  int
	rng     uint64

	tail  []chan struct{} // dispatcher only: last note per partition
	wg    sync.WaitGroup
	audit *os.File

	inflight                                                 atomic.Int64
	mInflight, mOps, mEntries, mArrivals, mEvicted, mSettled *gotel.Metric
	mSweeps, mSweepUs, mSweepMaxUs, mMapLen, mRedeliveries   *gotel.Metric
	mSettleUnknown, mStale, mLagUs, mLagMaxUs, mInflightMax  *gotel.Metric
	mQueueBytes                                              *gotel.Metric
	hLatency, hSweep, hMap                                   *gotel.Hist
}

var base = time.Now()

func nowNs() int64 { return int64(time.Since(base)) }

func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (p *payment) rnd() uint64 {
	p.rng += 0x9e3779b97f4a7c15
	return mix64(p.rng - 0x9e3779b97f4a7c15)
}

func (p *payment) key(id uint64) string {
	const hex = "0123456789abcdef"
	var b [keyLen]byte
	h := mix64(id ^ p.seed)
	copy(b[:], "ord-")
	for i := 0; i < 16; i++ {
		b[4+i] = hex[(h>>(60-4*i))&0xf]
	}
	return string(b[:])
}

func (p *payment) rawNew(id uint64, seq uint32, kind uint8) []byte {
	kinds := [...]string{"created", "updated", "settled"}
	n := p.payMin + uint32(p.rnd()%uint64(p.payMax-p.payMin+1))
	raw := make([]byte, n)
	h := copy(raw, fmt.Sprintf(`{"order":%d,"seq":%d,"status":"%s"}`, id, seq, kinds[kind]))
	fill := byte(' ' + (id+uint64(seq))%64)
	for i := h; i < len(raw); i++ {
		raw[i] = fill
	}
	return raw
}

// ---- callbacks ----

func (p *payment) handle(n *note) {
	defer p.wg.Done()
	if n.prev != nil {
		<-n.prev
	}
	p.apply(n)
	close(n.done)
	p.inflight.Add(-1)
	p.mInflight.Add(-1)
	p.mQueueBytes.Add(-int64(len(n.raw)))
	p.mOps.Add(1)
	p.hLatency.Record(nowNs() - n.arrival)
}

func (p *payment) apply(n *note) {
	l := &p.ledger[n.id]
	k := p.key(n.id)
	t0 := nowNs()
	old, ok := p.m.Load(k)
	inMap := nowNs() - t0
	defer func() { p.hMap.Record(inMap) }()
	if n.kind == nSettle {
		if !ok {
			p.mSettleUnknown.Add(1)
			return
		}
		if old.state == stSettled {
			p.mRedeliveries.Add(1)
			return
		}
	}
	if ok && n.seq <= old.seq {
		p.mStale.Add(1)
		return
	}
	state := stCreated
	if n.kind == nUpdate {
		state = stUpdated
	} else if n.kind == nSettle {
		state = stSettled
	}
	o := &order{seq: n.seq, state: state, id: n.id, raw: n.raw}
	if state == stSettled {
		o.settledNs = nowNs()
	}
	t0 = nowNs()
	p.m.Store(k, o)
	inMap += nowNs() - t0
	if !ok {
		p.mEntries.Add(1)
	}
	if state == stSettled {
		l.settles.Add(1)
		p.mSettled.Add(1)
	}
}

// ---- the reaper ----

func (p *payment) sweep(ttl int64, maxUs *int64) {
	var ids []uint64
	var buf []byte
	now := nowNs()
	t0 := now
	p.m.Range(func(k string, o *order) bool {
		if o.state != stSettled || now-o.settledNs < ttl {
			return true
		}
		if p.audit != nil { // one record per eviction, during the walk
			buf = append(buf[:0], fmt.Sprintf("evicted %d seq %d bytes %d\n", o.id, o.seq, len(o.raw))...)
			buf = append(buf, o.raw...)
			p.audit.Write(buf)
		}
		ids = append(ids, o.id)
		return true
	})
	t1 := nowNs()
	var evicted int64
	for _, id := range ids {
		k := p.key(id)
		if _, ok := p.m.Load(k); ok {
			p.m.Delete(k)
			evicted++
			p.ledger[id].evicted.Add(1)
		}
	}
	p.mEvicted.Add(evicted)
	p.mEntries.Add(-evicted)
	p.mSweeps.Add(1)
	p.hSweep.Record(t1 - t0)
	us := (t1 - t0) / 1000
	p.mSweepUs.Set(us)
	if us > *maxUs {
		*maxUs = us
		p.mSweepMaxUs.Set(us)
	}
	p.mMapLen.Set(int64(p.m.Len()))
}

func (p *payment) reaper(stop <-chan struct{}, done chan<- struct{}) {
	var maxUs int64
	tk := time.NewTicker(time.Duration(p.sweepEvery))
	defer tk.Stop()
	for {
		select {
		case <-stop:
			p.sweep(0, &maxUs) // callbacks are gone: evict every settled order
			close(done)
			return
		case <-tk.C:
			p.sweep(p.ttl, &maxUs)
		}
	}
}

// ---- the dispatcher ----

func (p *payment) slotOpen(s *slot) {
	s.id = p.nextID
	p.nextID++
	s.nextSeq = 1
	s.nevents = 2 + uint32(p.rnd()%uint64(p.updatesMax+1))
}

func (p *payment) slotNext(i int) {
	if p.nextID < uint64(len(p.ledger)) {
		p.slotOpen(&p.slots[i])
	} else {
		p.slots[i] = p.slots[len(p.slots)-1]
		p.slots = p.slots[:len(p.slots)-1]
	}
}

func (p *payment) abandoned(id uint64) bool {
	return p.abandonPct > 0 && mix64(id^p.seed^0x61626e646e64)%100 < uint64(p.abandonPct)
}

func (p *payment) emit(id uint64, seq uint32, kind uint8, arrival int64) {
	n := &note{id: id, seq: seq, kind: kind, raw: p.rawNew(id, seq, kind), arrival: arrival}
	part := id % uint64(p.nth)
	n.prev, n.done = p.tail[part], make(chan struct{})
	p.tail[part] = n.done
	p.inflight.Add(1)
	p.mInflight.Add(1)
	p.mQueueBytes.Add(int64(len(n.raw)))
	p.wg.Add(1)
	go p.handle(n)
}

func (p *payment) arrive(k uint64, arrival int64) {
	p.mArrivals.Add(1)
	if p.dupLen > 0 && p.dups[p.dupHead].due <= k {
		d := p.dups[p.dupHead]
		p.emit(d.id, d.seq, nSettle, arrival)
		p.dupHead = (p.dupHead + 1) % dupRing
		p.dupLen--
		return
	}
	if len(p.slots) == 0 {
		return
	}
	i := int(p.rnd() % uint64(len(p.slots)))
	s := &p.slots[i]
	l := &p.ledger[s.id]
	kind := nUpdate
	if s.nextSeq == 1 {
		kind = nCreate
	} else if s.nextSeq == s.nevents {
		kind = nSettle
	}
	if kind == nSettle && p.abandoned(s.id) {
		p.slotNext(i)
		return
	}
	l.seq = s.nextSeq
	l.state = [...]uint8{stCreated, stUpdated, stSettled}[kind]
	p.emit(s.id, s.nextSeq, kind, arrival)
	if kind != nSettle {
		s.nextSeq++
		return
	}
	if p.dupLen < dupRing && p.rnd()%100 < uint64(p.dupPct) {
		p.dups[(p.dupHead+p.dupLen)%dupRing] = dup{id: s.id, seq: s.nextSeq, due: k + dupDelay}
		p.dupLen++
	}
	p.slotNext(i)
}

func (p *payment) dispatch() {
	t0 := nowNs()
	next := t0
	period := 1e9 / p.rate
	var k uint64
	var lagMax, infMax int64
	for !p.tel.Stopping() {
		now := nowNs()
		due := uint64(float64(now-t0) / period)
		var lag int64
		if k < due {
			lag = (now - t0 - int64(float64(k)*period)) / 1000
		}
		p.mLagUs.Set(lag)
		if lag > lagMax {
			lagMax = lag
			p.mLagMaxUs.Set(lag)
		}
		for ; k < due; k++ {
			p.arrive(k, t0+int64(float64(k)*period))
		}
		if inf := p.inflight.Load(); inf > infMax {
			infMax = inf
			p.mInflightMax.Set(inf)
		}
		next += int64(tick)
		if next < nowNs() {
			next = nowNs()
		}
		time.Sleep(time.Duration(next - nowNs()))
	}
}

// ---- setup, run, oracle ----

func setup(a *gotel.Args, tel *gotel.Tel) *payment {
	p := &payment{tel: tel, seed: a.Seed, nth: a.Threads}
	p.rng = mix64(p.seed ^ 0x7061796d656e74)
	p.rate = a.Param("rate")
	p.open = uint32(a.Param("open"))
	p.updatesMax = uint32(a.Param("updates_max"))
	p.dupPct = uint32(a.Param("dup_pct"))
	p.warmPct = uint32(a.Param("warm_pct"))
	p.abandonPct = uint32(a.Param("abandon_pct"))
	p.payMin = uint32(a.Param("payload_min"))
	p.payMax = uint32(a.Param("payload_max"))
	p.ttl = int64(a.Param("ttl_ms")) * 1e6
	p.sweepEvery = int64(a.Param("sweep_ms")) * 1e6
	if p.payMin > p.payMax {
		tel.Fail("payment: payload_min must be <= payload_max")
	}
	minEvents := 2.0
	if p.abandonPct > 0 {
		minEvents = 1
	}
	p.ledger = make([]ledger, uint64(p.open)+uint64(p.rate*(a.Seconds*1.5+1)/minEvents))
	p.slots = make([]slot, p.open)
	p.dups = make([]dup, dupRing)
	p.tail = make([]chan struct{}, p.nth)
	if a.Param("audit") != 0 {
		f, err := os.Create(filepath.Join(a.Workdir, "audit.log"))
		if err != nil {
			tel.Fail("payment: audit log: %v", err)
		}
		p.audit = f
	}
	p.registerMetrics(tel)
	// the warm cache, sized for what it reloads (make(map, len(rows)))
	hint := p.openSlots()
	hint += int(a.Param("hint"))
	p.m = gomaps.New[*order](a.Variant, hint)
	if p.m == nil {
		tel.Fail("payment: unknown Go variant %q", a.Variant)
	}
	p.warmCache()
	tel.Log("payment: warm cache %d orders of %d open; ledger for %d orders", p.mEntries.Load(), p.open, len(p.ledger))
	return p
}

// registerMetrics names the twin's metrics and histograms, as payment.c does.
func (p *payment) registerMetrics(tel *gotel.Tel) {
	p.mInflight = tel.Metric("inflight")
	p.mOps = tel.Metric("ops")
	p.mEntries = tel.Metric("entries")
	p.mQueueBytes = tel.Metric("queue_bytes")
	p.mArrivals = tel.Metric("arrivals")
	p.mEvicted = tel.Metric("evicted")
	p.mSettled = tel.Metric("settled")
	p.mSweeps = tel.Metric("sweeps")
	p.mSweepUs = tel.Metric("sweep_walk_us")
	p.mSweepMaxUs = tel.Metric("sweep_walk_max_us")
	p.mMapLen = tel.Metric("map_len")
	p.mRedeliveries = tel.Metric("redeliveries")
	p.mSettleUnknown = tel.Metric("settle_unknown")
	p.mStale = tel.Metric("stale")
	p.mLagUs = tel.Metric("dispatch_lag_us")
	p.mLagMaxUs = tel.Metric("dispatch_lag_max_us")
	p.mInflightMax = tel.Metric("inflight_max")
	p.hLatency = tel.Hist("latency")
	p.hSweep = tel.Hist("sweep")
	p.hMap = tel.Hist("map_ns")
}

// openSlots opens every order slot and picks how far each one has got
// before the run (the warm cache: warm_pct of them past their first
// event); returns how many of them the warm cache holds.
func (p *payment) openSlots() int {
	hint := 0
	for i := range p.slots {
		s := &p.slots[i]
		p.slotOpen(s)
		s.nextSeq = 1 + uint32(p.rnd()%uint64(s.nevents))
		if p.rnd()%100 >= uint64(p.warmPct) {
			s.nextSeq = 1
		}
		if s.nextSeq > 1 {
			hint++
		}
	}
	return hint
}

// warmCache stores the orders openSlots left past their first event.
func (p *payment) warmCache() {
	for i := range p.slots {
		s := &p.slots[i]
		done := s.nextSeq - 1
		if done == 0 {
			continue
		}
		kind, state := nUpdate, stUpdated
		if done == 1 {
			kind, state = nCreate, stCreated
		}
		p.m.Store(p.key(s.id), &order{seq: done, state: state, id: s.id, raw: p.rawNew(s.id, done, kind)})
		p.ledger[s.id].seq = done
		p.ledger[s.id].state = state
		p.mEntries.Add(1)
	}
}

func (p *payment) run() {
	stop, done := make(chan struct{}), make(chan struct{})
	go p.reaper(stop, done)
	p.dispatch()
	p.wg.Wait() // the callbacks finish what was accepted
	close(stop)
	<-done
}

func (p *payment) oracle() {
	type found struct {
		seq   uint32
		state uint8
		count uint8
	}
	f := make([]found, p.nextID)
	var garbage, visited uint64
	p.m.Range(func(k string, o *order) bool {
		visited++
		if o == nil || o.id >= p.nextID || k != p.key(o.id) {
			garbage++
			return true
		}
		f[o.id].count++
		f[o.id].seq, f[o.id].state = o.seq, o.state
		return true
	})
	var lostIns, lostDel, lostUpd, dbl, dups, settled, cached uint64
	for id := uint64(0); id < p.nextID; id++ {
		l := &p.ledger[id]
		if l.settles.Load() > 1 {
			dbl++
		}
		if f[id].count > 1 {
			dups++
		}
		switch {
		case l.seq == 0:
			if f[id].count > 0 {
				lostUpd++
			}
		case l.state == stSettled:
			settled++
			if f[id].count > 0 {
				lostDel++
			} else if l.evicted.Load() == 0 {
				lostIns++
			}
		default:
			cached++
			if f[id].count == 0 {
				lostIns++
			} else if f[id].seq != l.seq {
				lostUpd++
			}
		}
	}
	p.tel.Symptom("lost_inserts", float64(lostIns))
	p.tel.Symptom("lost_deletes", float64(lostDel))
	p.tel.Symptom("lost_updates", float64(lostUpd))
	p.tel.Symptom("double_settles", float64(dbl))
	p.tel.Symptom("invariant_violations", float64(dups+garbage))
	p.tel.Log("payment: %d orders: %d settled, %d still open; walk saw %d entries", p.nextID, settled, cached, visited)
	if p.audit != nil {
		st, _ := p.audit.Stat()
		if st != nil {
			p.tel.Log("payment: audit log %d bytes", st.Size())
		}
		p.audit.Close()
	}
}

func main() {
	tel := gotel.Open()
	a, err := gotel.ParseArgs(os.Args[1:])
	if err != nil {
		tel.Fail("payment: %v", err)
	}
	tel.Phase("setup")
	tel.Start(a.SampleMs, a.Seconds)
	p := setup(a, tel)
	tel.Phase("run")
	p.run()
	tel.Phase("oracle")
	p.oracle()
	tel.Phase("teardown")
	tel.Stop()
	tel.Phase("done")
}
