// Package gomaps holds the Go variants of the lab's map designs, written
// as Go code writes them (the C designs are in maps/*.c):
//
//	go-unsafe   a plain map: Go's own detector (hashWriting) kills the
//	            process with `fatal error: concurrent map writes` (or
//	            `... read and map write`, `... iteration and map write`)
//	go-mutex    map + sync.Mutex; Range holds the mutex through the walk
//	go-rwlock   map + sync.RWMutex; Range holds the read lock
//	go-sharded  32 shards of map + sync.RWMutex, shard = FNV-32 of the key,
//	            orcaman/concurrent-map's layout; Range read-locks one shard
//	            at a time (its IterCb)
//	go-syncmap  sync.Map (Go 1.19: the read/dirty design, promotion by
//	            misses, dirty rebuilt from read at the first new key)
//
// Invariants and locking: each wrapper's map is touched only under its
// lock (shard lock for go-sharded); go-unsafe touches it bare, on purpose.
// Range callbacks must not call back into a locked variant (Go's locks are
// not reentrant: that would deadlock, where C returns -EDEADLK).
package gomaps

import "sync"

// Map is the one interface the twins use.
type Map[V any] interface {
	Load(k string) (V, bool)
	Store(k string, v V)
	LoadOrStore(k string, v V) (V, bool)
	Delete(k string)
	Range(f func(k string, v V) bool)
	// Len is the entry count; -1 when the design has none (sync.Map).
	Len() int
}

// Variants are the names New accepts.
var Variants = []string{"go-unsafe", "go-mutex", "go-rwlock", "go-sharded", "go-syncmap"}

// New opens a variant with a capacity hint (make(map, hint)); nil for an
// unknown name.
func New[V any](variant string, hint int) Map[V] {
	switch variant {
	case "go-unsafe":
		return &plain[V]{m: make(map[string]V, hint)}
	case "go-mutex":
		return &mutexMap[V]{m: make(map[string]V, hint)}
	case "go-rwlock":
		return &rwMap[V]{m: make(map[string]V, hint)}
	case "go-sharded":
		s := &sharded[V]{}
		for i := range s.shards {
			s.shards[i].m = make(map[string]V, hint/shardCount)
		}
		return s
	case "go-syncmap":
		return &syncMap[V]{}
	}
	return nil
}

type plain[V any] struct{ m map[string]V }

func (p *plain[V]) Load(k string) (V, bool) { v, ok := p.m[k]; return v, ok }
func (p *plain[V]) Store(k string, v V)     { p.m[k] = v }
func (p *plain[V]) LoadOrStore(k string, v V) (V, bool) {
	if old, ok := p.m[k]; ok {
		return old, true
	}
	p.m[k] = v
	return v, false
}
func (p *plain[V]) Delete(k string) { delete(p.m, k) }
func (p *plain[V]) Range(f func(string, V) bool) {
	for k, v := range p.m {
		if !f(k, v) {
			return
		}
	}
}
func (p *plain[V]) Len() int { return len(p.m) }

type mutexMap[V any] struct {
	mu goMutexLock  // sync.Mutex; a no-op in one mutant (mutant_gomutex_*.go)
	m  map[string]V // under mu
}

func (p *mutexMap[V]) Load(k string) (V, bool) {
	p.mu.Lock()
	v, ok := p.m[k]
	p.mu.Unlock()
	return v, ok
}
func (p *mutexMap[V]) Store(k string, v V) { p.mu.Lock(); p.m[k] = v; p.mu.Unlock() }
func (p *mutexMap[V]) LoadOrStore(k string, v V) (V, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.m[k]; ok {
		return old, true
	}
	p.m[k] = v
	return v, false
}
func (p *mutexMap[V]) Delete(k string) { p.mu.Lock(); delete(p.m, k); p.mu.Unlock() }
func (p *mutexMap[V]) Range(f func(string, V) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, v := range p.m {
		if !f(k, v) {
			return
		}
	}
}
func (p *mutexMap[V]) Len() int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.m) }

// rwMap repeats mutexMap with RLock on the reads, as maps/rwlock.c repeats
// maps/mutex.c: a sync.Locker pair would put an interface call on every
// operation the Go twins and claims time.
type rwMap[V any] struct {
	mu sync.RWMutex
	m  map[string]V // written under mu, read under mu.RLock
}

func (p *rwMap[V]) Load(k string) (V, bool) {
	p.mu.RLock()
	v, ok := p.m[k]
	p.mu.RUnlock()
	return v, ok
}
func (p *rwMap[V]) Store(k string, v V) { p.mu.Lock(); p.m[k] = v; p.mu.Unlock() }
func (p *rwMap[V]) LoadOrStore(k string, v V) (V, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.m[k]; ok {
		return old, true
	}
	p.m[k] = v
	return v, false
}
func (p *rwMap[V]) Delete(k string) { p.mu.Lock(); delete(p.m, k); p.mu.Unlock() }
func (p *rwMap[V]) Range(f func(string, V) bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for k, v := range p.m {
		if !f(k, v) {
			return
		}
	}
}
func (p *rwMap[V]) Len() int { p.mu.RLock(); defer p.mu.RUnlock(); return len(p.m) }

// shardCount is orcaman/concurrent-map's SHARD_COUNT.
const shardCount = 32

type shard[V any] struct {
	sync.RWMutex
	m map[string]V // under the shard's lock
}

type sharded[V any] struct{ shards [shardCount]shard[V] }

// fnv32 is orcaman/concurrent-map's: FNV-1, 32 bits (multiply, then xor).
func fnv32(key string) uint32 {
	hash := uint32(2166136261)
	const prime32 = uint32(16777619)
	for i := 0; i < len(key); i++ {
		hash *= prime32
		hash ^= uint32(key[i])
	}
	return hash
}

func (s *sharded[V]) of(k string) *shard[V] { return &s.shards[fnv32(k)%shardCount] }

func (s *sharded[V]) Load(k string) (V, bool) {
	sh := s.of(k)
	sh.RLock()
	v, ok := sh.m[k]
	sh.RUnlock()
	return v, ok
}
func (s *sharded[V]) Store(k string, v V) { sh := s.of(k); sh.Lock(); sh.m[k] = v; sh.Unlock() }
func (s *sharded[V]) LoadOrStore(k string, v V) (V, bool) {
	sh := s.of(k)
	sh.Lock()
	defer sh.Unlock()
	if old, ok := sh.m[k]; ok {
		return old, true
	}
	sh.m[k] = v
	return v, false
}
func (s *sharded[V]) Delete(k string) { sh := s.of(k); sh.Lock(); delete(sh.m, k); sh.Unlock() }
func (s *sharded[V]) Range(f func(string, V) bool) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.RLock()
		for k, v := range sh.m {
			if !f(k, v) {
				sh.RUnlock()
				return
			}
		}
		sh.RUnlock()
	}
}
func (s *sharded[V]) Len() int {
	n := 0
	for i := range s.shards {
		s.shards[i].RLock()
		n += len(s.shards[i].m)
		s.shards[i].RUnlock()
	}
	return n
}

type syncMap[V any] struct{ m sync.Map }

func (p *syncMap[V]) Load(k string) (V, bool) {
	v, ok := p.m.Load(k)
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}
func (p *syncMap[V]) Store(k string, v V) { p.m.Store(k, v) }
func (p *syncMap[V]) LoadOrStore(k string, v V) (V, bool) {
	a, loaded := p.m.LoadOrStore(k, v)
	return a.(V), loaded
}
func (p *syncMap[V]) Delete(k string) { p.m.Delete(k) }
func (p *syncMap[V]) Range(f func(string, V) bool) {
	p.m.Range(func(k, v any) bool { return f(k.(string), v.(V)) })
}
func (p *syncMap[V]) Len() int { return -1 }
