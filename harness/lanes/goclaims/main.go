// Command goclaims holds the experiments behind the lab's claims about Go
// (run by `maplab goclaims`, harness/lanes/goclaims.c, which starts each
// one as a fresh process under a timeout and counts how they end):
//
//	goclaims seed10 [recover]
//	    the seed article's 10-goroutine example, verbatim: ten goroutines
//	    write m[key] = key * 2 into one plain map.  With "recover", each
//	    goroutine also runs defer func() { recover() }() and counts what it
//	    caught.  A survivor prints {"survived":true,"recovered":n} and
//	    exits 0; a death is the runtime's `fatal error: concurrent map
//	    writes` and exit 2 (printed by the runtime, not by us).
//	goclaims loop ww|wr|wrange SECONDS [recover]
//	    two goroutines on one plain map for up to SECONDS: write/write,
//	    write/read, or write/range (one writes while the other ranges over
//	    the map).  Same ending as seed10.
//	goclaims syncmap N[,N...] REPS
//	    sync.Map (Go 1.19: read/dirty): store N keys (they sit in the dirty
//	    map), then load a missing key until the misses promote dirty to
//	    read, timing the load that promotes; then time the first Store of
//	    a new key (it rebuilds dirty from read: O(N)) and the second (O(1)).
//	    Prints one JSON object per N: medians over REPS.
//	goclaims rebuild inplace|swap KEYS SECONDS READERS PERIOD_MS
//	    a config map of KEYS entries rebuilt every PERIOD_MS while READERS
//	    goroutines read it: "inplace" rebuilds the shared map under its
//	    RWMutex write lock (m = make(map) with no size hint, then fill: it
//	    grows by doubling while readers wait), "swap" builds a new map with
//	    a size hint off-line and publishes it with atomic.Pointer.  Prints
//	    reads, blocked reads (RLock not free: TryRLock failed) and the time
//	    they waited, slow reads (> 1 ms, whatever the cause, the OS
//	    scheduler included) and their total time, the longest read, p99,
//	    the write-lock hold per reload, GC cycles and bytes allocated.
//
// Nothing here sleeps or fails on purpose: a death is the runtime's own
// detector on a real race, a time is a real operation.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func out(v any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

// seed10 is the article's example (chapter 1), plus an optional recover.
func seed10(withRecover bool) {
	var recovered atomic.Int64
	m := make(map[int]int)
	var wg sync.WaitGroup

	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func(key int) {
			defer wg.Done()
			if withRecover {
				defer func() {
					if recover() != nil {
						recovered.Add(1)
					}
				}()
			}
			m[key] = key * 2 // 并发写入同一 map
		}(i)
	}

	wg.Wait()
	out(map[string]any{"survived": true, "recovered": recovered.Load(), "len": len(m)})
}

func loop(kind string, seconds float64, withRecover bool) {
	var recovered atomic.Int64
	m := make(map[int]int)
	stop := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	var wg sync.WaitGroup
	guard := func() {
		if withRecover {
			if recover() != nil {
				recovered.Add(1)
			}
		}
	}
	var sink atomic.Int64
	wg.Add(2)
	go func() { // the writer
		defer wg.Done()
		defer guard()
		for i := 0; time.Now().Before(stop); i++ {
			m[i%4096] = i
		}
	}()
	go func() { // the other side
		defer wg.Done()
		defer guard()
		s := 0
		for i := 0; time.Now().Before(stop); i++ {
			switch kind {
			case "ww":
				m[(i+2048)%4096] = i
			case "wr":
				s += m[i%4096]
			case "wrange":
				for _, v := range m {
					s += v
				}
			}
		}
		sink.Store(int64(s))
	}()
	wg.Wait()
	out(map[string]any{"survived": true, "recovered": recovered.Load()})
}

func median(v []int64) int64 {
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	return v[len(v)/2]
}

func syncmap(ns []int, reps int) {
	for _, n := range ns {
		var prom, first, second []int64
		for r := 0; r < reps; r++ {
			var m sync.Map
			for i := 0; i < n; i++ { // all new: they go to dirty
				m.Store(i, i)
			}
			// each miss on a missing key counts; the n-th promotes
			for i := 0; i < n-1; i++ {
				m.Load(-1)
			}
			t0 := time.Now()
			m.Load(-1) // misses == len(dirty): dirty becomes read, O(1)
			prom = append(prom, int64(time.Since(t0)))
			t0 = time.Now()
			m.Store(n, n) // first new key: dirtyLocked copies read, O(n)
			first = append(first, int64(time.Since(t0)))
			t0 = time.Now()
			m.Store(n+1, n+1) // dirty exists now: O(1)
			second = append(second, int64(time.Since(t0)))
		}
		out(map[string]any{"n": n, "reps": reps, "promote_ns": median(prom),
			"first_store_ns": median(first), "second_store_ns": median(second)})
	}
}

func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func allocBytes() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// rebuildVal is one config entry; version says which reload wrote it.
type rebuildVal struct {
	version int
	s       string
}

// rebuildLab is the config store of `goclaims rebuild` and what its
// readers measured.  "inplace" reads shared under mu; "swap" reads cur
// with no lock.  The counters are atomics; lat is under latMu.
type rebuildLab struct {
	mode   string
	names  []string
	mu     sync.RWMutex                           // guards shared (inplace)
	shared map[string]*rebuildVal                 // under mu
	cur    atomic.Pointer[map[string]*rebuildVal] // swap: published maps

	reads, slow, stallNs, maxNs, blocked, blockedNs atomic.Int64
	latMu                                           sync.Mutex
	lat                                             []int64 // sampled read times (ns), under latMu
}

func (l *rebuildLab) fill(m map[string]*rebuildVal, version int) {
	for i, k := range l.names {
		m[k] = &rebuildVal{version, strconv.Itoa(version*len(l.names) + i)}
	}
}

// readOnce reads one key the mode's way; how long it took (ns).
func (l *rebuildLab) readOnce(k string) int64 {
	t0 := time.Now()
	if l.mode == "inplace" {
		if !l.mu.TryRLock() { // a writer holds it or waits
			l.mu.RLock()
			l.blocked.Add(1)
			l.blockedNs.Add(int64(time.Since(t0)))
		}
		_ = l.shared[k]
		l.mu.RUnlock()
	} else {
		_ = (*l.cur.Load())[k]
	}
	return int64(time.Since(t0))
}

// reader r reads until stop, counting every read and sampling 1 in 64.
func (l *rebuildLab) reader(r int, stop time.Time) {
	var mine []int64
	for i := r; time.Now().Before(stop); i += 7 {
		d := l.readOnce(l.names[i%len(l.names)])
		l.reads.Add(1)
		if d > int64(time.Millisecond) {
			l.slow.Add(1)
			l.stallNs.Add(d)
		}
		for {
			m := l.maxNs.Load()
			if d <= m || l.maxNs.CompareAndSwap(m, d) {
				break
			}
		}
		if i%64 == r%64 {
			mine = append(mine, d)
		}
	}
	l.latMu.Lock()
	l.lat = append(l.lat, mine...)
	l.latMu.Unlock()
}

// reload rebuilds the config every periodMs until stop; the reloads made,
// the write lock's total and longest hold (inplace; 0 for swap).
func (l *rebuildLab) reload(stop time.Time, periodMs int) (reloads int, holdNs, holdMax int64) {
	for v := 1; time.Now().Before(stop); v++ {
		if l.mode == "inplace" {
			l.mu.Lock()
			t0 := time.Now()
			l.shared = make(map[string]*rebuildVal)
			l.fill(l.shared, v)
			h := int64(time.Since(t0))
			l.mu.Unlock()
			holdNs += h
			if h > holdMax {
				holdMax = h
			}
		} else {
			m := make(map[string]*rebuildVal, len(l.names))
			l.fill(m, v)
			l.cur.Store(&m)
		}
		reloads++
		time.Sleep(time.Duration(periodMs) * time.Millisecond) // the reload period
	}
	return reloads, holdNs, holdMax
}

func rebuild(mode string, keys int, seconds float64, readers int, periodMs int) {
	l := &rebuildLab{mode: mode, names: make([]string, keys)}
	for i := range l.names {
		l.names[i] = fmt.Sprintf("svc%05d.field%d", i/8, i%8)
	}
	l.shared = make(map[string]*rebuildVal)
	l.fill(l.shared, 0)
	first := make(map[string]*rebuildVal, keys)
	l.fill(first, 0)
	l.cur.Store(&first)

	stop := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	var wg sync.WaitGroup
	gc0, al0 := gcCycles(), allocBytes()
	for r := 0; r < readers; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			l.reader(r, stop)
		}(r)
	}
	reloads, holdNs, holdMax := l.reload(stop, periodMs)
	wg.Wait()
	sort.Slice(l.lat, func(i, j int) bool { return l.lat[i] < l.lat[j] })
	p99 := int64(0)
	if len(l.lat) > 0 {
		p99 = l.lat[len(l.lat)*99/100]
	}
	out(map[string]any{"mode": mode, "keys": keys, "seconds": seconds, "readers": readers,
		"reloads": reloads, "reads": l.reads.Load(), "slow_reads": l.slow.Load(),
		"stall_ns": l.stallNs.Load(), "max_read_ns": l.maxNs.Load(), "p99_ns": p99,
		"blocked_reads": l.blocked.Load(), "blocked_ns": l.blockedNs.Load(),
		"hold_ns": holdNs, "hold_max_ns": holdMax,
		"gc_cycles": gcCycles() - gc0, "alloc_bytes": allocBytes() - al0})
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: goclaims seed10 [recover] | loop ww|wr|wrange SECONDS [recover] | "+
		"syncmap N[,N...] REPS | rebuild inplace|swap KEYS SECONDS READERS PERIOD_MS")
	os.Exit(2)
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		usage()
	}
	return n
}

func atof(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		usage()
	}
	return f
}

func main() {
	a := os.Args[1:]
	switch {
	case len(a) >= 1 && a[0] == "seed10":
		seed10(len(a) > 1 && a[1] == "recover")
	case len(a) >= 3 && a[0] == "loop" && (a[1] == "ww" || a[1] == "wr" || a[1] == "wrange"):
		loop(a[1], atof(a[2]), len(a) > 3 && a[3] == "recover")
	case len(a) == 3 && a[0] == "syncmap":
		var ns []int
		for _, s := range strings.Split(a[1], ",") {
			ns = append(ns, atoi(s))
		}
		syncmap(ns, atoi(a[2]))
	case len(a) == 6 && a[0] == "rebuild" && (a[1] == "inplace" || a[1] == "swap"):
		rebuild(a[1], atoi(a[2]), atof(a[3]), atoi(a[4]), atoi(a[5]))
	default:
		usage()
	}
}
