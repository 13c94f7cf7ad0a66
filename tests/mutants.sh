#!/bin/sh
# tests/mutants.sh BUILD OUT [NAME...] - run the gate on every mutant of
# maps/mutants.def (or the NAMEs given) and say which cells killed which.
#
# For each mutant: build/mutant-NAME/maplab (made by `make mutants`) runs
# `maplab ci` on the mutant's cells into OUT/NAME; a failing cell of the
# mutated variant kills it (a failing reference cell, or a cell failing for
# a missing reference or run, is a gate error instead: exit 2).  Then the
# Check suites the line names, built with the same mutant, run; a failure
# kills it too.  A Go mutant (a go-* variant) is the Go twins built with
# its tag into build/mutant-NAME/go (`make mutants`, when go is installed):
# BUILD/maplab runs `ci --runtime go` on them (MAPLAB_GO_BIN); without a
# go command it is skipped, and the summary says so.  Exit 0 when every
# mutant is killed (or skipped), 1 when one survives, 2 on an error of the
# gate itself.
set -u
build=${1:?usage: tests/mutants.sh BUILD OUT [NAME...]}
out=${2:?usage: tests/mutants.sh BUILD OUT [NAME...]}
shift 2
want=" $* "
mkdir -p "$out"
def=maps/mutants.def
re='^MUTANT(\([a-z_]*\), \([a-z_-]*\), "\([^"]*\)", "\([^"]*\)", "\([^"]*\)", "\([^"]*\)")$'
survivors=0
errors=0
skipped=0
summary=""
t0=$(date +%s)
# have_bins MAPLAB GODIR: the mutant's maplab, and its Go twins when GODIR
# is given (an absent twin would fail its cells as errors, not as a kill).
have_bins() {
	[ -x "$1" ] || { echo "mutants: $1 missing (make all mutants)" >&2; return 1; }
	[ -z "$2" ] && return 0
	for t in incidents/*/go/main.go; do
		t=${t#incidents/} t=${t%%/*}
		[ -x "$2/$t" ] || { echo "mutants: $2/$t missing (make mutants)" >&2; return 1; }
	done
}
lines=$(sed -n "s/$re/\1|\2|\3|\4|\5|\6/p" "$def")
[ -n "$lines" ] || { echo "mutants: no MUTANT line in $def" >&2; exit 2; }
IFS='
'
for line in $lines; do
	IFS='|' read -r name variant incidents variants suites what <<EOL
$line
EOL
	[ "$want" = "  " ] || case "$want" in *" $name "*) ;; *) continue ;; esac
	echo "== mutant $name: $what"
	m0=$(date +%s)
	case $variant in
	go-*)
		if ! command -v go >/dev/null 2>&1; then
			echo "   skipped: no go command (install golang-go, then make mutants)"
			skipped=$((skipped + 1))
			summary="$summary$(printf '%-16s %-8s %3ss  %s' "$name" "$variant" 0 "skipped: no go")
"
			continue
		fi
		bin="$build/maplab" gobin="$build/mutant-$name/go"
		set -- --runtime go ;;
	*) bin="$build/mutant-$name/maplab" gobin=""
		set -- ;;
	esac
	if ! have_bins "$bin" "$gobin"; then
		errors=$((errors + 1))
		continue
	fi
	[ -z "$gobin" ] || gobin=$(cd "$gobin" && pwd)
	MAPLAB_GO_BIN="$gobin" NO_COLOR=1 "$bin" ci "$@" \
		--incident "$incidents" --variant "$variants" \
		--no-report --out "$out/$name" >"$out/$name.log" 2>&1
	rc=$?
	# table rows: incident variant expected shown p [lo,hi] t margin verdict why
	fails=$(awk '$1 ~ /^(payment|metrics|config|retention)$/ && / FAIL / {print}' "$out/$name.log")
	killers=$(printf '%s\n' "$fails" | awk -v v="$variant" '$2 == v {print $1 "×" $2}' | tr '\n' ' ')
	bad=$(printf '%s\n' "$fails" | awk -v v="$variant" '$2 != v || /missing:|unbound:|runs recorded/' | grep -c . || true)
	if [ "$rc" -gt 1 ] || [ "$bad" -gt 0 ]; then
		echo "mutants: $name: the gate itself failed (exit $rc; see $out/$name.log)" >&2
		printf '%s\n' "$fails" | awk -v v="$variant" '$2 != v || /missing:|unbound:|runs recorded/' >&2
		errors=$((errors + 1))
	fi
	printf '%s\n' "$fails" | awk -v v="$variant" '$2 == v {c = $1 " x " $2; sub(/.* FAIL +/, ""); print "   killed by " c ": " $0}'
	by_suite=""
	for s in $(echo "$suites" | tr ',' ' '); do
		make -s -j2 BUILD="$build/mutant-$name" MUTANT="$name" \
			"$build/mutant-$name/tests/$s" >/dev/null || { errors=$((errors + 1)); continue; }
		if "$build/mutant-$name/tests/$s" >"$out/$name.$s.log" 2>&1; then
			echo "   $s passes (does not kill it)"
		else
			by_suite="$by_suite $s"
			grep -E '^[^ ]+:[0-9]+:[FE]:' "$out/$name.$s.log" | head -3 | sed 's/^/   killed by /'
		fi
	done
	if [ -n "$killers" ] || [ -n "$by_suite" ]; then
		verdict="killed by ${killers:+cells $killers}${by_suite:+suites$by_suite}"
	else
		verdict="SURVIVED"
		survivors=$((survivors + 1))
	fi
	summary="$summary$(printf '%-16s %-8s %3ss  %s' "$name" "$variant" $(($(date +%s) - m0)) "$verdict")
"
done
unset IFS
printf '\n%-16s %-8s %4s  %s\n%s' mutant variant time verdict "$summary"
skips=""
[ "$skipped" -eq 0 ] || skips=", $skipped skipped (no go command)"
echo "mutants: $(($(date +%s) - t0)) s, $survivors survived, $errors gate errors$skips; logs in $out"
[ "$errors" -eq 0 ] || exit 2
[ "$survivors" -eq 0 ] || exit 1
exit 0
