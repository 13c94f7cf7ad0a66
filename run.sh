#!/bin/sh
# run.sh - the lab's front door.  Thin: installs what is missing, builds,
# and hands the subcommand to build/maplab (or make).  See ./run.sh --help.
set -eu
cd "$(dirname "$0")"

BUILD=${BUILD:-build}
MAPLAB="$BUILD/maplab"

usage() {
	cat <<'USAGE'
usage: ./run.sh [COMMAND] [ARGS...]

  (none)            install, build, run the quick lab (every incident x
                    variant), render the report and print where it is
  test              install, build, run every test (unit suites, the
                    concurrency suites under TSan, the CI expectation
                    matrix, the Go twins' config cells, then the quick
                    mutant subset)
  ci [ARGS]         the CI preset against harness/verdict/expectations.json; JUnit XML
  mutants [NAME...] build the mutants (maps/mutants.def), run the gate on
                    each, say which cells killed which; exit 1 if one
                    survives
  bench [--quick]   the map benchmark (every variant and three peers;
                    --callgrind adds instruction counts, installs valgrind)
  tsan              ThreadSanitizer lane: every incident briefly, TSan verdict
                    beside the memory verdict
  diagnose I V      the six-step diagnostic checklist for incident I, variant V
  exercise          workshop: the conformance suite, the lock check (one probe
                    per EXERCISE marker) and the concurrency suite on the
                    `exercise` variant (maps/exercise.c) - fail until solved
  report [RUN]      (re-)render the report of a results folder (default latest);
                    several folders (machines, shards) are merged first
  envelope I        the capacity envelope: per variant, the load where
                    incident I tips into unbounded memory (docs/envelope.md)
  go [ARGS]         the Go lab: install golang-go, build the Go twins, run
                    the claim experiments (maplab goclaims) and every
                    incident with its C and Go variants, render the report
  list|run|matrix   passed to build/maplab (see ./run.sh run --help)
  --help            this text

Environment: BUILD=dir (build folder, default build), NO_COLOR=1,
MAPLAB_MALLOC_TRACE=1 (malloc trace lines on any run).
USAGE
}

# Debian packages the lab needs; only the missing ones are installed, and
# apt-get update runs only when something is missing.
PKGS="make gcc pkg-config check libsubunit-dev libjansson-dev liburcu-dev libglib2.0-dev libck-dev gnuplot-nox"
TEST_PKGS="chromium gdb"
# Go (Debian's 1.19): the incidents' Go twins and the claim experiments.
# Installed by `go` and `test`; when it cannot be, the Go cells are
# `error` results with one line and the C lab runs as before.
GO_PKGS="golang-go"

install_missing() {
	missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "run.sh: installing$missing" >&2
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# Go, if it can be had; never fatal.
go_build() {
	install_missing $GO_PKGS || echo "run.sh: golang-go could not be installed; the Go cells will be errors" >&2
	if command -v go >/dev/null 2>&1; then
		make -s BUILD="$BUILD" go
	else
		echo "run.sh: no go command; the Go cells will be errors" >&2
	fi
}

# The mutants `./run.sh test` runs (the whole list: `./run.sh mutants`):
# one per way a mutant dies: crashes and map damage (sharded_nolock), an
# unsafe cell that no longer reproduces (unsafe_locked), a suite (rcu_nograce),
# a Go twin's own race detector (go_mutex_nolock: ~1 s; skipped without go).
QUICK_MUTANTS="sharded_nolock unsafe_locked rcu_nograce go_mutex_nolock"

mutants() {
	make -s -j"$(nproc 2>/dev/null || echo 2)" BUILD="$BUILD" mutants
	tests/mutants.sh "$BUILD" "results/$(date +%Y%m%d-%H%M%S)-mutants" "$@"
}

build() {
	jobs=$(nproc 2>/dev/null || echo 2)
	make -s -j"$jobs" BUILD="$BUILD" all
}

cmd=${1:-lab}
[ $# -gt 0 ] && shift

case "$cmd" in
-h | --help | help)
	usage
	;;
lab)
	install_missing $PKGS
	build
	out="results/$(date +%Y%m%d-%H%M%S)-quick"
	"$MAPLAB" matrix --preset quick --out "$out" "$@"
	"$MAPLAB" report --quiet "$out"
	echo "run.sh: the report is $out/report.html (and report.md beside it)"
	;;
test)
	install_missing $PKGS $TEST_PKGS
	go_build
	build
	make -s BUILD="$BUILD" test
	make -s -j"$(nproc)" BUILD="$BUILD" tsan-concurrency
	"$MAPLAB" ci "$@"
	# The Go gate's config cells (~1 min; every Go cell: ci --runtime go,
	# ~4 min, docs/go.md).  Without go they are not run, and it says so.
	if command -v go >/dev/null 2>&1; then
		"$MAPLAB" ci --runtime go --incident config
	else
		echo "run.sh: no go command: the Go gate did not run" >&2
	fi
	mutants $QUICK_MUTANTS
	;;
go)
	# the claims, then every incident with its C and Go variants side by
	# side (quick size), one folder, one report
	install_missing $PKGS
	go_build
	build
	out="results/$(date +%Y%m%d-%H%M%S)-go"
	"$MAPLAB" matrix --preset quick --runtime both --out "$out" "$@"
	"$MAPLAB" goclaims --out "$out" || echo "run.sh: the Go claims did not run (see above)" >&2
	"$MAPLAB" report --quiet "$out"
	echo "run.sh: the report is $out/report.html (#go-claims: the Go claims)"
	;;
mutants)
	install_missing $PKGS
	build
	mutants "$@"
	;;
exercise)
	install_missing $PKGS
	build
	MAPLAB_VARIANTS=exercise "$BUILD/tests/check_maps" &&
		MAPLAB_EXERCISE_SOLVED=1 "$BUILD/tests/check_exercise" &&
		MAPLAB_VARIANTS=exercise "$BUILD/tests/check_maps_concurrent" &&
		echo "run.sh: the exercise variant passes the suites and the lock check; now compare it with mutex: ./run.sh matrix --variant exercise,mutex"
	;;
diagnose)
	install_missing $PKGS gdb
	build
	make -s -j"$(nproc)" BUILD="$BUILD/tsan" SAN=thread all
	exec "$MAPLAB" diagnose "$@"
	;;
list | run | matrix | report | ci | envelope)
	install_missing $PKGS
	build
	exec "$MAPLAB" "$cmd" "$@"
	;;
bench)
	# valgrind only for --callgrind (instruction counts per op)
	case " $* " in
	*" --callgrind "*) install_missing $PKGS valgrind ;;
	*) install_missing $PKGS ;;
	esac
	build
	exec "$MAPLAB" "$cmd" "$@"
	;;
tsan)
	install_missing $PKGS
	make -s -j"$(nproc)" BUILD="$BUILD/tsan" SAN=thread all
	exec "$BUILD/tsan/maplab" tsan "$@"
	;;
*)
	echo "run.sh: unknown command '$cmd'; try ./run.sh --help" >&2
	exit 2
	;;
esac
