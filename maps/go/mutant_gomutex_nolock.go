//go:build maplab_mutant_go_mutex_nolock

// The mutant go_mutex_nolock (maps/mutants.def): go-mutex's Lock and
// Unlock do nothing, so its map is touched bare from every goroutine.
// Built only by the mutant gate (`make mutants`, -tags
// maplab_mutant_go_mutex_nolock, into <build>/mutant-go_mutex_nolock/go);
// every other build uses mutant_gomutex_lock.go (a sync.Mutex).

package gomaps

type goMutexLock struct{}

func (*goMutexLock) Lock()   {}
func (*goMutexLock) Unlock() {}
