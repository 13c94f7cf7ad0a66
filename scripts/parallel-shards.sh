#!/bin/sh
# scripts/parallel-shards.sh - the lab's shards over a set of hosts with GNU
# parallel (docs/envelope.md, "Many machines").  Needs `parallel` (Debian
# package parallel; rsync for hosts other than ':') on this machine and,
# on every host, the repository checked out and built (make BUILD=build
# all) at the same commit in $MAPLAB_DIR (default: the path of this
# checkout; a relative path is under the login's home).
#
#   scripts/parallel-shards.sh HOSTS N OUT matrix [MATRIX OPTIONS...]
#   scripts/parallel-shards.sh HOSTS N OUT envelope INCIDENT [OPTIONS...]
#
# HOSTS: a --sshloginfile (one ssh login a line; ':' is this machine);
# each host runs one shard at a time.  matrix: shard I of N on a host,
# its folder copied back to OUT/shard-I, then `maplab ci --judge` merges
# and judges them into OUT/merged.  envelope: round by round (`--pending`
# is the loop's test), every host gets the rounds so far (OUT/rounds),
# runs its shard's share of the next round and sends its folder back;
# then `--merge` writes OUT/merged.  The merge runs here; $MAPLAB
# (default build/maplab) is the binary, here and on the hosts.  Exit: the
# merge's, or 1 at the first failed shard.
set -eu

if [ $# -lt 4 ]; then
	sed -n '2,19s/^# \{0,1\}//p' "$0" >&2
	exit 2
fi
HOSTS=$1 N=$2 OUT=$3 WHAT=$4
shift 4
case $OUT in /*) ;; *) OUT=$PWD/$OUT;; esac       # the same path on every host
case $HOSTS in /*) ;; *) HOSTS=$PWD/$HOSTS;; esac
cd "$(dirname "$0")/.."                          # the merge reads the checkout
: "${MAPLAB_DIR:=$PWD}"
MAPLAB=${MAPLAB:-build/maplab}
case $N in ''|*[!0-9]*|0) echo "parallel-shards: N '$N': give a whole number >= 1" >&2; exit 2;; esac
[ -r "$HOSTS" ] || { echo "parallel-shards: no hosts file '$HOSTS'" >&2; exit 2; }
command -v parallel >/dev/null || { echo "parallel-shards: needs GNU parallel (apt-get install parallel)" >&2; exit 2; }
[ ! -e "$OUT" ] || { echo "parallel-shards: $OUT exists: give a new folder" >&2; exit 2; }
mkdir -p "$OUT"
# one job at a time per host, unless the line says N/host
sed '/^[0-9][0-9]*\//!s|^|1/|' "$HOSTS" > "$OUT/hosts"

# One parallel call, shards 0..N-1, each run in $MAPLAB_DIR on its host;
# OUT is an absolute path, the same on every host, so a job's folder comes
# back to where it was made (--return; left on the host too, so that a
# host that is this machine under another name keeps it).  Arguments:
# parallel's, then the command ({}: the shard).
on_hosts() {
	seq 0 $((N - 1)) | parallel --sshloginfile "$OUT/hosts" \
		--workdir "$MAPLAB_DIR" --halt now,fail=1 "$@"
}

case $WHAT in
matrix)
	mkdir -p "$OUT/shards"
	on_hosts --return "$OUT/shards/shard-{}" \
		"mkdir -p $OUT/shards && $MAPLAB matrix $* --shard {}/$N --out $OUT/shards/shard-{} -q"
	"$MAPLAB" ci --judge "$OUT"/shards/shard-* --out "$OUT/merged"
	;;
envelope)
	O="$* --rounds $OUT/rounds"
	mkdir -p "$OUT/rounds"
	while "$MAPLAB" envelope $O --pending; do
		on_hosts --basefile "$OUT/rounds" --return "$OUT/rounds" \
			"$MAPLAB envelope $O --shard {}/$N -q" || exit 1
	done
	"$MAPLAB" envelope $O --merge --out "$OUT/merged"
	;;
*)
	echo "parallel-shards: '$WHAT': give matrix or envelope" >&2
	exit 2
	;;
esac
