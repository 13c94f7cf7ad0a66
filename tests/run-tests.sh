#!/bin/sh
# tests/run-tests.sh BUILD [NAME...] - run every Check suite binary in
# BUILD/tests (or only the named ones, e.g. check_rcu).
#
# Check exits 0 when CK_RUN_SUITE/CK_RUN_CASE match nothing, so this runner
# also fails when a binary ran no check at all.  It sums Check's
# "N%: Checks: C, Failures: F, Errors: E" lines and closes with the plain
# "N passed, N failed" line.  Each binary's wall time is printed after it.
set -u
build=${1:-build}
[ $# -gt 0 ] && shift
# ThreadSanitizer builds read the documented liburcu suppressions; other
# builds ignore TSAN_OPTIONS.
TSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/tsan.supp${TSAN_OPTIONS:+ $TSAN_OPTIONS}"
export TSAN_OPTIONS
passed=0
failed=0
status=0
if [ $# -gt 0 ]; then
	list=$(for n in "$@"; do printf '%s/tests/%s\n' "$build" "$n"; done)
else
	list=$(ls "$build"/tests/check_* 2>/dev/null)
fi
for t in $list; do
	if [ $# -gt 0 ] && [ ! -x "$t" ]; then
		echo "run-tests: $t is not built" >&2
		status=1
		continue
	fi
	[ -x "$t" ] || continue
	name=$(basename "$t")
	t0=$(date +%s)
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	# Seconds per binary: the first thing to read when CI runs long.
	echo "run-tests: $name took $(($(date +%s) - t0)) s (rc $rc)"
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' | tail -n1)
	if [ -z "$line" ]; then
		echo "run-tests: $name ran no test (rc $rc)" >&2
		status=1
		continue
	fi
	checks=$(printf '%s' "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
	fails=$(printf '%s' "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
	errs=$(printf '%s' "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
	if [ "$checks" -eq 0 ]; then
		echo "run-tests: $name ran no test" >&2
		status=1
	fi
	bad=$((fails + errs))
	passed=$((passed + checks - bad))
	failed=$((failed + bad))
	[ "$rc" -eq 0 ] && [ "$bad" -eq 0 ] || status=1
done
if [ $((passed + failed)) -eq 0 ]; then
	echo "run-tests: no test binary in $build/tests" >&2
	status=1
fi
echo "$passed passed, $failed failed"
exit $status
