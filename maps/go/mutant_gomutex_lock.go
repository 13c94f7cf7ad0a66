//go:build !maplab_mutant_go_mutex_nolock

// go-mutex's lock in every build but one mutant's: an alias, so mutexMap
// holds a plain sync.Mutex and the code is what it was without the alias.
// The mutant gate (maps/mutants.def, go_mutex_nolock; `make mutants`
// builds it with -tags maplab_mutant_go_mutex_nolock) swaps in
// mutant_gomutex_nolock.go instead.

package gomaps

import "sync"

type goMutexLock = sync.Mutex
