#!/bin/bash
# changecost.sh BUILDDIR OUTDIR: what one change costs the router at
# COST_ROUTES (10,000) routes, in instructions (callgrind: repeatable,
# unlike the CPU time of a loaded machine; issue 16).
#
# A dnsrouted -t 1 runs under callgrind with instrumentation off until a
# change (--instr-atstart=no), holding COST_ROUTES routes of scale.sh's
# form and a catch-all to a pool of 4 backends (checked once an hour: no
# health check runs between two dumps).  No query load: the worker is
# idle, so what is counted is the main thread's (and the threads a
# table's build starts).  Each change is one dump, from the request to its
# answer, and its background work after it (the patterns of a new table
# compiled) another, until show stats says routes-pending 0:
#   replace   --replace by COST_ROUTES other routes (scale.sh's a -> b),
#             then back (b -> a)
#   batch     a batch adding COST_ROUTES more routes
#   drain     COST_PAIRS (20) backend drain / undrain pairs over one
#             connection (ctlpipe.py), per command
#   show      as many `show settings` the same way: what a round trip
#             costs without a change
# OUTDIR gets the dumps (cg.KIND) and changecost.txt: a table of the
# inclusive instructions of the steps (COST_FUNCS), per change.
# COST_NATIVE=1: no callgrind; the main thread's CPU (schedstat: user and
# system, the commit's fsync too) per change instead, COST_ROUNDS (3)
# rounds of each, into OUTDIR/changecost-native.txt.
# Loopback COST_NET (127.82.2) .2, ports COST_PORT+1 (5822x).
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 BUILDDIR OUTDIR" >&2
	exit 2
fi
BUILDDIR=$(cd "$1" && pwd)
OUT=$2
# shellcheck source=tools.sh
. "$(dirname "${BASH_SOURCE[0]}")/tools.sh"
N=${COST_ROUTES:-10000}
PAIRS=${COST_PAIRS:-20}
NET=${COST_NET:-127.82.2}
PORT=${COST_PORT:-5822}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
D=$(mktemp -d "${TMPDIR:-/tmp}/dnsroute-cost-XXXXXX")
SOCK=$D/ctl.sock
PROCS_LABEL=changecost
# shellcheck source=../lib/procs.sh
. "$HERE/../lib/procs.sh"

log() { printf '[changecost] %s\n' "$*" >&2; }
ctl() { "$DNSROUTECTL" -s "$SOCK" "$@"; }
stat_of() { ctl -c 'show stats' | awk -v k="$1" '$1 == k { print $2 }'; }

for exe in "$DNSROUTED" "$DNSROUTECTL" valgrind callgrind_control \
    callgrind_annotate; do
	command -v "$exe" >/dev/null || { echo "changecost: no $exe" >&2; exit 1; }
done

NATIVE=${COST_NATIVE:-0}
CG=(valgrind --tool=callgrind --instr-atstart=no --dump-instr=no
    "--callgrind-out-file=$D/cg.out")
[ "$NATIVE" = 0 ] || CG=()
"${CG[@]}" "$DNSROUTED" -f -t 1 \
    -l "$NET.2:$((PORT + 1))" -s "$SOCK" -d "$D/store.db" \
    >>"$D/dnsrouted.log" 2>&1 &
pid_of[dnsrouted]=$!
wait_until 120 "dnsrouted to start" ctl -c 'show settings'

{
	echo "pool add main"
	for q in 1 2 3 4; do
		echo "backend add b$q $NET.1:$PORT pool main interval 3600 timeout 100"
	done
} >"$D/head.conf"
$GEN zroutes "$N" 0 main "$D/a.only"
$GEN zroutes "$N" 500000 main "$D/b.only"
$GEN zroutes "$N" 600000 main "$D/more.batch"
for q in a b; do
	{
		cat "$D/head.conf" "$D/$q.only"
		echo "route add '\\.bench\\.test\\.\$' pool main comment catch-all"
	} >"$D/$q.conf"
done
for i in $(seq "$PAIRS"); do
	echo 'backend drain b1'
	echo 'backend undrain b1'
done >"$D/drain.cmds"
for i in $(seq $((PAIRS * 2))); do echo 'show settings'; done >"$D/show.cmds"

# Polled each second, not faster: each look is counted too.
pending0() {
	local i
	for i in $(seq 600); do
		[ "$(stat_of routes-pending)" = 0 ] && return 0
		sleep 1
	done
	echo "changecost: the background compilation did not end" >&2
	return 1
}

ctl -q -f "$D/a.conf" >/dev/null
pending0

ndump=0
# dump NAME: the counts since the last dump (or -i on) into OUT/cg.NAME.
dump() {
	callgrind_control -d "${pid_of[dnsrouted]}" >/dev/null
	ndump=$((ndump + 1))
	wait_until 60 "the dump" test -s "$D/cg.out.$ndump"
	mv "$D/cg.out.$ndump" "$OUT/cg.$1"
}
# measure NAME COMMAND...: COMMAND counted (NAME), then what the router
# does after it until no pattern is pending (NAME-after).
measure() {
	local name=$1
	shift
	callgrind_control -i on "${pid_of[dnsrouted]}" >/dev/null
	"$@" >>"$D/ctl.log" 2>&1
	dump "$name"
	pending0
	dump "$name-after"
	callgrind_control -i off "${pid_of[dnsrouted]}" >/dev/null
	log "$name done"
}

# The main thread's CPU so far, in ns (its TID is the PID).
main_ns() { awk '{ print $1 }' "/proc/${pid_of[dnsrouted]}/task/${pid_of[dnsrouted]}/schedstat"; }
# native NAME COMMAND...: the main thread's CPU (ms) for COMMAND, and
# after it until no pattern is pending.
native() {
	local name=$1 c0 c1 c2
	shift
	c0=$(main_ns)
	"$@" >>"$D/ctl.log" 2>&1
	c1=$(main_ns)
	pending0
	c2=$(main_ns)
	echo "$name $c0 $c1 $c2" | awk '{ printf "%-10s cmd_ms %8.1f after_ms %8.1f\n", $1, ($3 - $2) / 1e6, ($4 - $3) / 1e6 }' | tee -a "$OUT/changecost-native.txt"
}

if [ "$NATIVE" = 1 ]; then
	: >"$OUT/changecost-native.txt"
	for r in $(seq "${COST_ROUNDS:-3}"); do
		native replace ctl -q -f "$D/b.conf" --replace
		native replace2 ctl -q -f "$D/a.conf" --replace
		native drain "$PY" "$HERE/ctlpipe.py" "$SOCK" <"$D/drain.cmds"
		native show "$PY" "$HERE/ctlpipe.py" "$SOCK" <"$D/show.cmds"
	done
	# Each batch adds N routes: one round, last.
	native batch ctl -q -f "$D/more.batch"
	stop dnsrouted
	exit 0
fi

measure replace ctl -q -f "$D/b.conf" --replace
measure replace2 ctl -q -f "$D/a.conf" --replace
measure drain "$PY" "$HERE/ctlpipe.py" "$SOCK" <"$D/drain.cmds"
measure show "$PY" "$HERE/ctlpipe.py" "$SOCK" <"$D/show.cmds"
measure batch ctl -q -f "$D/more.batch"
stop dnsrouted

# The steps: inclusive instructions of each function named, per dump.
FUNCS=${COST_FUNCS:-cmd_execute slice_cb cmd_parse cmd_run_on cmd_audit \
reply_change cmd_state_read sd_diff state_build config_build \
route_table_new route_index_build_wait cmd_share_text cmd_share_commit \
db_commit state_publish route_cache_gc warm_cb route_cache_warm \
sqlite3_step pcre2_compile_8 pcre2_jit_compile_8 malloc free}
{
	printf '%-24s' step
	for k in replace replace2 drain show batch; do
		printf ' %14s %14s' "$k" "+after"
	done
	echo
	for f in total $FUNCS; do
		printf '%-24s' "$f"
		for k in replace replace2 drain show batch; do
			for s in "" -after; do
				# The summary line is wrong after a toggle
				# (it can wrap below zero): totals is right.
				if [ "$f" = total ]; then
					awk '/^totals:/ { printf " %14s", $2 }' \
					    "$OUT/cg.$k$s"
					continue
				fi
				callgrind_annotate --inclusive=yes --threshold=100 \
				    --auto=no "$OUT/cg.$k$s" 2>/dev/null |
				    awk -v f="$f" '
				/ \(.*%\) / {
					fn = $0; sub(/^[^)]*\) +/, "", fn)
					sub(/ \[.*$/, "", fn); sub(/^.*:/, "", fn)
					if (fn == f) { x = $1; gsub(",", "", x); v += x }
				}
				END { gsub(",", "", v); printf " %14s", v == "" ? "-" : v }'
			done
		done
		echo
	done
	echo "drain and show: $((PAIRS * 2)) commands each"
} >"$OUT/changecost.txt"
cat "$OUT/changecost.txt"
