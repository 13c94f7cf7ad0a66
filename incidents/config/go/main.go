// Command config is the Go twin of incidents/config/config.c: hot reload
// of a shared configuration while requests read it.  Run by the harness as
// the child (harness/runner/gochild.c); telemetry as JSON lines.
//
// Same as the C scenario: the parameters (period_ms, keys_min/max, rate,
// p_bad, p_same, global_keys, apply_workers, presize, apply); every
// period_ms the config centre writes the next document to
// <workdir>/config.json (good, unchanged, or bad: truncated, a wrong type,
// a missing key, no version, a stale version), the reloader reads it,
// skips it when its bytes are those applied (or last rejected), else
// parses and validates all of it (encoding/json here, jansson in C) and
// applies it; keys "global.<field>" and "svcNNNNN.<field>", 8 fields each;
// every value stamped with its version and a content that is a function
// of (seed, version, service, field).  Requests read global_keys globals
// and 6 fields of one service and are classified like C's serve(): garbage
// (a value not what its stamp promises), stale (older than the reload
// complete when the request began), lost (a key every version in force
// has is missing), torn (two versions in one request: the in-place
// protocol's symptom, not the map's).  map_damage adds the final walk's
// lost inserts/updates/deletes against the applied set.
//
// Apply strategies: in place for go-unsafe/mutex/rwlock/sharded/syncmap
// (put every key in parallel slices, then delete the keys dropped), and
// go-snapshot: build a plain map off-line with a size hint and publish it
// with atomic.Pointer (Go's atomic.Value swap); readers load the pointer
// and read the map without a lock.  The garbage collector frees the old
// snapshot once no reader holds it: C's hazard slots are not needed.
//
// Where Go forces a difference: a request is a goroutine (arrival ->
// done is its latency; no request queue); memory is the Go heap, so the
// C incident's allocator and mallinfo2 figures (alloc rate, fragmentation)
// become the Go runtime's: heap, GC cycles and GC pause in the telemetry;
// a bad file is detected by encoding/json and the schema check below.
//
// Locking: floor/applying are atomics (release/acquire as in C); the
// snapshot pointer is atomic; everything else belongs to the reloader.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"maplab/gomaps"
	"maplab/gotel"
)

const (
	nfields   = 8
	svcGlobal = 0xffffffff
	svcRead   = 6
)

var globalFields = [nfields]string{"tls_min", "default_timeout_ms", "log_level", "max_conns",
	"retry_budget", "tracing", "region", "rate_limit"}
var svcFields = [nfields]string{"host", "port", "timeout_ms", "weight", "enabled", "retries",
	"pool_size", "tag"}

// field types: 0 int, 1 real, 2 bool, 3 string (cfgdoc.c's tables)
var globalTypes = [nfields]int{3, 0, 3, 0, 1, 2, 3, 0}
var svcTypes = [nfields]int{3, 0, 0, 1, 2, 0, 0, 3}

type cval struct { // immutable once loaded
	version uint64
	svc     uint32
	field   uint16
	v       any // int64, float64, bool or string
}

type entry struct {
	key string
	val *cval
}

type cset struct {
	version  uint64
	services uint32
	e        []entry // sorted by key
}

type snapshot struct{ m map[string]*cval }

type cfg struct {
	tel                                                        *gotel.Tel
	seed                                                       uint64
	period                                                     int64
	svcMin, svcMax                                             uint32
	rate, pBad, pSame                                          float64
	globalKeys, workers                                        int
	snapshot                                                   bool
	m                                                          gomaps.Map[*cval] // in place
	cur                                                        atomic.Pointer[snapshot]
	path                                                       string
	applied                                                    *cset
	appliedHash, rejectHash                                    string
	nextVersion, lastGood                                      uint64
	lastGoodSvcs                                               uint32
	rng                                                        uint64
	badVersion                                                 sync.Map // version -> true, pushed as bad
	versionMax                                                 atomic.Uint64
	floor, applying                                            atomic.Uint64
	badApplied, goodRejected                                   uint64
	torn, garbage, stale, lost, badSeen                        atomic.Int64
	wg                                                         sync.WaitGroup
	mInflight, mOps, mEntries, mReloads, mSkipped, mBad, mTorn *gotel.Metric
	mGarbage, mDamaged, mVersion                               *gotel.Metric
	hLatency, hReload, hApply, hServe                          *gotel.Hist
}

var base = time.Now()

func nowNs() int64 { return int64(time.Since(base)) }

func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (c *cfg) rnd() uint64 { c.rng += 0x9e3779b97f4a7c15; return mix(c.rng) }

func key(svc uint32, f int) string {
	if svc == svcGlobal {
		return "global." + globalFields[f]
	}
	return fmt.Sprintf("svc%05d.%s", svc, svcFields[f])
}

// content is the value a (version, service, field) carries.
func content(seed, version uint64, svc uint32, f int) any {
	h := mix(seed ^ version*0x100000001b3 ^ uint64(svc)<<8 ^ uint64(f))
	t := svcTypes[f]
	if svc == svcGlobal {
		t = globalTypes[f]
	}
	switch t {
	case 0:
		return int64(h % 100000)
	case 1:
		return float64(h%1000) / 8
	case 2:
		return h&1 == 1
	}
	return fmt.Sprintf("v%x", h%0xffffff)
}

func intact(seed uint64, v *cval) bool {
	return v != nil && v.v == content(seed, v.version, v.svc, int(v.field))
}

// ---- the config centre ----

const (
	pushGood = iota
	pushSame
	badTruncated
	badWrongType
	badMissingKey
	badNoVersion
	badStale
	pushKinds
)

func (c *cfg) render(version uint64, services uint32, kind int) []byte {
	doc := map[string]any{}
	if kind != badNoVersion {
		doc["version"] = version
	}
	g := map[string]any{}
	for f := 0; f < nfields; f++ {
		g[globalFields[f]] = content(c.seed, version, svcGlobal, f)
	}
	doc["global"] = g
	sv := map[string]any{}
	for s := uint32(0); s < services; s++ {
		o := map[string]any{}
		for f := 0; f < nfields; f++ {
			o[svcFields[f]] = content(c.seed, version, s, f)
		}
		sv[fmt.Sprintf("svc%05d", s)] = o
	}
	doc["services"] = sv
	victim := fmt.Sprintf("svc%05d", c.rnd()%uint64(services))
	switch kind {
	case badWrongType:
		sv[victim].(map[string]any)["port"] = "not-a-port"
	case badMissingKey:
		delete(sv[victim].(map[string]any), "host")
	}
	b, _ := json.Marshal(doc)
	if kind == badTruncated {
		b = b[:len(b)/2]
	}
	return b
}

func (c *cfg) push() int {
	u := float64(c.rnd()>>11) * 0x1.0p-53
	kind := pushGood
	if c.lastGood > 0 && u < c.pSame {
		kind = pushSame
	} else if c.lastGood > 0 && u < c.pSame+c.pBad {
		kind = badTruncated + int(c.rnd()%uint64(pushKinds-badTruncated))
		if kind == badStale && c.lastGood < 2 {
			kind = badTruncated
		}
	}
	services := c.svcMin + uint32(c.rnd()%uint64(c.svcMax-c.svcMin+1))
	var version uint64
	switch kind {
	case pushSame:
		version, services = c.lastGood, c.lastGoodSvcs
	case badStale:
		version = c.lastGood - 1
	default:
		version = c.nextVersion
		c.nextVersion++
		if kind != pushGood {
			c.badVersion.Store(version, true)
		}
		c.versionMax.Store(version)
	}
	rk := kind
	if kind == pushSame {
		rk = pushGood
	}
	tmp := c.path + ".tmp"
	os.WriteFile(tmp, c.render(version, services, rk), 0o644)
	os.Rename(tmp, c.path)
	if kind == pushGood {
		c.lastGood, c.lastGoodSvcs = version, services
	}
	return kind
}

// ---- the reloader ----

// load parses and validates a whole document; nothing is applied here.
func (c *cfg) load(b []byte) (*cset, error) {
	var doc struct {
		Version  *uint64
		Global   map[string]any
		Services map[string]map[string]any
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if doc.Version == nil {
		return nil, fmt.Errorf("no version")
	}
	if c.applied != nil && *doc.Version <= c.applied.version {
		return nil, fmt.Errorf("version %d is not newer than %d", *doc.Version, c.applied.version)
	}
	s := &cset{version: *doc.Version, services: uint32(len(doc.Services))}
	add := func(svc uint32, f int, t int, raw any) error {
		var v any
		switch x := raw.(type) {
		case json.Number:
			if t == 0 {
				i, err := x.Int64()
				if err != nil {
					return err
				}
				v = i
			} else if t == 1 {
				d, err := x.Float64()
				if err != nil {
					return err
				}
				v = d
			}
		case bool:
			if t == 2 {
				v = x
			}
		case string:
			if t == 3 {
				v = x
			}
		}
		if v == nil {
			return fmt.Errorf("%s: wrong type", key(svc, f))
		}
		s.e = append(s.e, entry{key(svc, f), &cval{version: s.version, svc: svc, field: uint16(f), v: v}})
		return nil
	}
	for f := 0; f < nfields; f++ {
		raw, ok := doc.Global[globalFields[f]]
		if !ok {
			return nil, fmt.Errorf("global.%s missing", globalFields[f])
		}
		if err := add(svcGlobal, f, globalTypes[f], raw); err != nil {
			return nil, err
		}
	}
	for i := uint32(0); i < s.services; i++ {
		o, ok := doc.Services[fmt.Sprintf("svc%05d", i)]
		if !ok {
			return nil, fmt.Errorf("svc%05d missing", i)
		}
		for f := 0; f < nfields; f++ {
			raw, ok := o[svcFields[f]]
			if !ok {
				return nil, fmt.Errorf("svc%05d.%s missing", i, svcFields[f])
			}
			if err := add(i, f, svcTypes[f], raw); err != nil {
				return nil, err
			}
		}
	}
	sort.Slice(s.e, func(i, j int) bool { return s.e[i].key < s.e[j].key })
	return s, nil
}

func pack(version uint64, services uint32) uint64 { return version<<20 | uint64(services) }

func (c *cfg) applyInPlace(ns *cset) {
	var wg sync.WaitGroup
	for k := 0; k < c.workers; k++ {
		from, to := len(ns.e)*k/c.workers, len(ns.e)*(k+1)/c.workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, e := range ns.e[from:to] {
				c.m.Store(e.key, e.val)
			}
		}()
	}
	wg.Wait()
	if old := c.applied; old != nil {
		j := 0
		for _, e := range old.e {
			for j < len(ns.e) && ns.e[j].key < e.key {
				j++
			}
			if j < len(ns.e) && ns.e[j].key == e.key {
				continue
			}
			c.m.Delete(e.key)
		}
	}
}

func (c *cfg) applySnapshot(ns *cset) {
	m := make(map[string]*cval, len(ns.e))
	for _, e := range ns.e {
		m[e.key] = e.val
	}
	c.cur.Store(&snapshot{m: m})
}

func (c *cfg) reload() int {
	t0 := nowNs()
	b, err := os.ReadFile(c.path)
	if err != nil {
		return -1
	}
	h := string(b)
	if (c.applied != nil && h == c.appliedHash) || h == c.rejectHash {
		c.mSkipped.Add(1)
		return 0
	}
	ns, err := c.load(b)
	if err != nil {
		c.rejectHash = h
		c.mBad.Add(1)
		c.tel.Log("config: rejected config.json (%d bytes): %v", len(b), err)
		return -2
	}
	c.applying.Store(pack(ns.version, ns.services))
	ta := nowNs()
	if c.snapshot {
		c.applySnapshot(ns)
	} else {
		c.applyInPlace(ns)
	}
	c.hApply.Record(nowNs() - ta)
	c.floor.Store(pack(ns.version, ns.services))
	c.applied, c.appliedHash = ns, h
	c.mReloads.Add(1)
	c.mEntries.Set(int64(len(ns.e)))
	c.mVersion.Set(int64(ns.version))
	c.hReload.Record(nowNs() - t0)
	return 1
}

func (c *cfg) reloader(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tk := time.NewTicker(time.Duration(c.period))
	defer tk.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tk.C:
			kind := c.push()
			rc := c.reload()
			if rc == 1 && kind != pushGood && kind != pushSame {
				c.badApplied++
			} else if rc == -2 && kind == pushGood {
				c.goodRejected++
			}
		}
	}
}

// ---- requests ----

// get reads k from the request's snapshot (snapshot strategy: loaded once
// per request, so one request sees one version) or from the shared map.
func (c *cfg) get(snap *snapshot, k string) (*cval, bool) {
	if snap != nil {
		v, ok := snap.m[k]
		return v, ok
	}
	return c.m.Load(k)
}

func (c *cfg) serve(svc uint32, arrival int64) {
	defer c.wg.Done()
	ap, fl := c.applying.Load(), c.floor.Load()
	var snap *snapshot
	if c.snapshot {
		snap = c.cur.Load() // after floor: at least that version
	}
	t0 := nowNs()
	floor, nf, na := fl>>20, uint32(fl&0xfffff), uint32(ap&0xfffff)
	svcKept := floor > 0 && svc < nf && svc < na
	var vmin, vmax uint64 = ^uint64(0), 0
	var present, svcPresent, svcMissing int
	var garbage, stale, lost, bad bool
	for k := 0; k < c.globalKeys+svcRead; k++ {
		global := k < c.globalKeys
		s, f := svc, k-c.globalKeys
		if global {
			s, f = svcGlobal, k
		}
		v, ok := c.get(snap, key(s, f))
		if !ok {
			lost = lost || (global && floor > 0)
			if !global {
				svcMissing++
			}
			continue
		}
		present++
		if !global {
			svcPresent++
		}
		if !intact(c.seed, v) || v.svc != s || int(v.field) != f || v.version > c.versionMax.Load() {
			garbage = true
			continue
		}
		if v.version < vmin {
			vmin = v.version
		}
		if v.version > vmax {
			vmax = v.version
		}
		stale = stale || v.version < floor
		if _, b := c.badVersion.Load(v.version); b {
			bad = true
		}
	}
	if svcKept && svcMissing > 0 && c.applying.Load() == ap {
		lost = true
	}
	switch {
	case garbage:
		c.garbage.Add(1)
		c.mGarbage.Add(1)
	case stale || lost:
		if stale {
			c.stale.Add(1)
		} else {
			c.lost.Add(1)
		}
		c.mDamaged.Add(1)
	case (svcPresent > 0 && svcPresent < svcRead) || (present > 0 && vmin != vmax):
		c.torn.Add(1)
		c.mTorn.Add(1)
	}
	if bad {
		c.badSeen.Add(1)
	}
	c.hServe.Record(nowNs() - t0)
	c.hLatency.Record(nowNs() - arrival)
	c.mOps.Add(1)
	c.mInflight.Add(-1)
}

func (c *cfg) dispatch() {
	start := nowNs()
	gap := 1e9 / c.rate
	rng := c.seed ^ 0xd15
	var i uint64
	for !c.tel.Stopping() {
		now := nowNs()
		var n int64
		for {
			due := start + int64(float64(i)*gap)
			if due > now {
				break
			}
			i++
			n++
			c.wg.Add(1)
			go c.serve(uint32(mix(rng+i)%uint64(c.svcMax)), due)
		}
		c.mInflight.Add(n)
		time.Sleep(time.Millisecond)
	}
}

// ---- setup, run, oracle ----

func setup(a *gotel.Args, tel *gotel.Tel) *cfg {
	c := &cfg{tel: tel, seed: a.Seed, rng: mix(a.Seed ^ 0xc0f1)}
	c.period = int64(a.Param("period_ms")) * 1e6
	kmin, kmax := uint32(a.Param("keys_min")), uint32(a.Param("keys_max"))
	c.svcMin, c.svcMax = (kmin-nfields)/nfields, (kmax-nfields)/nfields
	if c.svcMin < 1 {
		c.svcMin = 1
	}
	if c.svcMax < c.svcMin {
		c.svcMax = c.svcMin
	}
	c.rate = a.Param("rate")
	c.pBad, c.pSame = a.Param("p_bad"), a.Param("p_same")
	c.globalKeys = int(a.Param("global_keys"))
	c.workers = int(a.Param("apply_workers"))
	apply := a.Param("apply")
	c.snapshot = apply >= 1 || (apply < 0 && a.Variant == "go-snapshot")
	c.path = filepath.Join(a.Workdir, "config.json")
	c.nextVersion = 1
	c.mInflight = tel.Metric("inflight")
	c.mOps = tel.Metric("ops")
	c.mEntries = tel.Metric("entries")
	c.mReloads = tel.Metric("reloads")
	c.mSkipped = tel.Metric("reloads_skipped")
	c.mBad = tel.Metric("bad_configs")
	c.mTorn = tel.Metric("torn_reads")
	c.mGarbage = tel.Metric("garbage_reads")
	c.mDamaged = tel.Metric("stale_or_lost_reads")
	c.mVersion = tel.Metric("version")
	c.hLatency = tel.Hist("latency")
	c.hReload = tel.Hist("reload")
	c.hApply = tel.Hist("apply")
	c.hServe = tel.Hist("serve")
	if !c.snapshot {
		hint := 0
		if a.Param("presize") != 0 {
			hint = int(kmax)
		}
		mv := a.Variant
		if mv == "go-snapshot" { // apply=0 forced: in place on a locked map
			mv = "go-rwlock"
		}
		c.m = gomaps.New[*cval](mv, hint)
		if c.m == nil {
			tel.Fail("config: unknown Go variant %q", a.Variant)
		}
	} else {
		c.cur.Store(&snapshot{m: map[string]*cval{}})
	}
	c.push() // the first document, applied before requests start
	if c.reload() != 1 {
		tel.Fail("config: the first document did not apply")
	}
	return c
}

func (c *cfg) run() {
	stop, done := make(chan struct{}), make(chan struct{})
	go c.reloader(stop, done)
	c.dispatch()
	close(stop)
	<-done
	c.wg.Wait()
}

func (c *cfg) oracle() {
	final := map[string]*cval{}
	if c.snapshot {
		final = c.cur.Load().m
	} else {
		c.m.Range(func(k string, v *cval) bool { final[k] = v; return true })
	}
	var lostIns, lostUpd, lostDel, garbage float64
	want := map[string]bool{}
	for _, e := range c.applied.e {
		want[e.key] = true
		v, ok := final[e.key]
		switch {
		case !ok:
			lostIns++
		case !intact(c.seed, v):
			garbage++
		case v.version != c.applied.version:
			lostUpd++
		}
	}
	for k := range final {
		if !want[k] {
			lostDel++
		}
	}
	damage := float64(c.garbage.Load()+c.stale.Load()+c.lost.Load()) + lostIns + lostUpd + lostDel + garbage
	c.tel.Symptom("lost_inserts", lostIns)
	c.tel.Symptom("lost_updates", lostUpd)
	c.tel.Symptom("lost_deletes", lostDel)
	c.tel.Symptom("invariant_violations", garbage)
	c.tel.Symptom("map_damage", damage)
	c.tel.Symptom("torn_reads", float64(c.torn.Load()))
	c.tel.Symptom("garbage_reads", float64(c.garbage.Load()))
	c.tel.Symptom("stale_reads", float64(c.stale.Load()))
	c.tel.Symptom("lost_reads", float64(c.lost.Load()))
	c.tel.Symptom("bad_config_applied", float64(c.badApplied))
	c.tel.Symptom("good_config_rejected", float64(c.goodRejected))
	c.tel.Log("config: applied version %d (%d keys); %d reads saw a bad version",
		c.applied.version, len(c.applied.e), c.badSeen.Load())
}

func main() {
	tel := gotel.Open()
	a, err := gotel.ParseArgs(os.Args[1:])
	if err != nil {
		tel.Fail("config: %v", err)
	}
	tel.Phase("setup")
	tel.Start(a.SampleMs, a.Seconds)
	c := setup(a, tel)
	tel.Phase("run")
	c.run()
	tel.Phase("oracle")
	c.oracle()
	tel.Phase("teardown")
	tel.Stop()
	tel.Phase("done")
}
