#!/bin/bash
# irq.sh BUILDDIR [TARGET]: userspace instructions per forwarded query, from
# valgrind --tool=callgrind (make bench-irq).
#
# Wall-clock figures on a shared 2-core machine move by 10% from run to
# run; callgrind's instruction counts do not (the same binary and load give
# the same count within a few instructions per query), so this is the
# number to compare before and after a change to the query path.
#
# TARGET: dnsrouted (default) or floor (tests/bench/floor_relay, or with
# IRQ_PROTO=tcp tests/bench/floor_tcp).  It
# starts NSD with the bench zone, the target under callgrind, sends a
# warm-up load (every name once: the slot pool, ID map and decision cache
# grow to size),
# zeroes the counters, sends IRQ_QUERIES queries at a paced rate over UDP
# (IRQ_PROTO=tcp for TCP), dumps, and prints instructions per query: in
# total, and the functions that take the most of it.  The timer ticks during
# the load are counted too (a few instructions per query at 2,000 qps).
#
# Environment: IRQ_QUERIES (default 20000), IRQ_QPS (default 2000),
# IRQ_ROUTES (non-matching routes before the matching one; default 0),
# IRQ_PROTO udp|tcp, IRQ_TOP (functions listed, default 25), IRQ_OUT=FILE
# (keep the callgrind dump there, for callgrind_annotate --tree=caller),
# IRQ_FLEET=1 (dnsrouted in a fleet: a one-member etcd, -e, fleet join;
# the whole process is counted, its etcd client and mirrors included),
# IRQ_CACHESIM=1 (callgrind's cache simulation too: L1 and last-level
# data misses per query, in total and for the functions with the most),
# BENCH_NET/BENCH_PORT as bench.sh (default here 127.61.1 and 5311).
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 BUILDDIR [dnsrouted|floor]" >&2
	exit 2
fi
BUILDDIR=$(cd "$1" && pwd)
TARGET=${2:-dnsrouted}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
GEN="$PY $HERE/gen.py"
NSD=$(command -v nsd || echo /usr/sbin/nsd)
DNSPERF=$(command -v dnsperf || echo /usr/bin/dnsperf)
QUERIES=${IRQ_QUERIES:-20000}
QPS=${IRQ_QPS:-2000}
ROUTES=${IRQ_ROUTES:-0}
PROTO=${IRQ_PROTO:-udp}
TOP=${IRQ_TOP:-25}
FLEET=${IRQ_FLEET:-0}
CACHESIM=${IRQ_CACHESIM:-0}
NET=${BENCH_NET:-127.61.1}
PORT=${BENCH_PORT:-5311}
NSD_ADDR=$NET.1 R_ADDR=$NET.2 R_PORT=$((PORT + 1))
ETCD_URL=http://$NET.3:$((PORT + 2)) ETCD_PEER=http://$NET.3:$((PORT + 3))

for exe in "$NSD" "$DNSPERF" valgrind callgrind_control callgrind_annotate; do
	command -v "$exe" >/dev/null || { echo "irq: $exe is missing" >&2; exit 1; }
done
case $TARGET in
dnsrouted|floor) ;;
*) echo "irq: target is dnsrouted or floor" >&2; exit 2 ;;
esac

D=$(mktemp -d "${TMPDIR:-/tmp}/dnsroute-irq-XXXXXX")
SOCK=$D/ctl.sock
PROCS_LABEL=irq
# shellcheck source=../lib/procs.sh
. "$HERE/../lib/procs.sh"

ctl() { "$BUILDDIR/ctl/dnsroutectl" -s "$SOCK" "$@"; }
answers() { $GEN probe "$1" "$2" n00001.bench. "$PROTO"; }
backend_up() {
	ctl --json -c 'show backends' | $PY -c '
import json, sys
sys.exit(0 if all(r["health"] == "up" for r in json.load(sys.stdin)["rows"]) else 1)'
}
# load N: N queries from the query file at QPS, bounded in time.
load() {
	local n=$1 secs
	head -n "$n" "$D/queries.txt" >"$D/q-$n.txt"
	secs=$(( n / QPS + 30 ))
	timeout -k 5 $((secs + 10)) "$DNSPERF" -m "$PROTO" -s "$R_ADDR" -p "$R_PORT" \
	    -d "$D/q-$n.txt" -n 1 -c 4 -Q "$QPS" -l "$secs" >"$D/dnsperf-$n.txt" 2>&1
	awk '/Queries completed:/ { print $3 }' "$D/dnsperf-$n.txt"
}

# As in the benchmark: 10,000 names, replayed; the warm-up asks each once,
# so the measured queries find their decisions cached, as in steady state.
$GEN zone 10000 "$D/bench.zone"
$GEN queries 10000 "$D/queries.txt"
while [ "$(wc -l <"$D/queries.txt")" -lt "$QUERIES" ]; do
	cat "$D/queries.txt" "$D/queries.txt" >"$D/q2.txt"
	mv "$D/q2.txt" "$D/queries.txt"
done
mkdir -p "$D/nsd"
cp "$D/bench.zone" "$D/nsd/bench.zone"
nsd_conf "$D/nsd" "$NSD_ADDR" "$PORT" irq-nsd bench. bench.zone
nsd_run nsd "$D/nsd"
wait_until 30 "NSD to answer" answers "$NSD_ADDR" "$PORT"

FLEET_ARGS=()
if [ "$FLEET" = 1 ] && [ "$TARGET" = dnsrouted ]; then
	etcd --name irq --data-dir "$D/etcd" --listen-client-urls "$ETCD_URL" \
	    --advertise-client-urls "$ETCD_URL" --listen-peer-urls "$ETCD_PEER" \
	    --initial-advertise-peer-urls "$ETCD_PEER" \
	    --initial-cluster "irq=$ETCD_PEER" >>"$D/etcd.log" 2>&1 &
	pid_of[etcd]=$!
	wait_until 30 "etcd to be healthy" env ETCDCTL_API=3 etcdctl \
	    --endpoints "$ETCD_URL" endpoint health
	FLEET_ARGS=(-e "$ETCD_URL" -R -)
fi

CG="valgrind --tool=callgrind --callgrind-out-file=$D/cg.out --dump-instr=no"
[ "$CACHESIM" != 1 ] || CG="$CG --cache-sim=yes"
if [ "$TARGET" = floor ]; then
	floor=floor_relay
	[ "$PROTO" = udp ] || floor=floor_tcp
	$CG "$BUILDDIR/tests/bench/$floor" "$R_ADDR" "$R_PORT" "$NSD_ADDR" "$PORT" \
	    >>"$D/target.log" 2>&1 &
	pid_of[target]=$!
else
	$CG "$BUILDDIR/daemon/dnsrouted" -f -t 1 -l "$R_ADDR:$R_PORT" -s "$SOCK" \
	    -d "$D/dnsroute.db" "${FLEET_ARGS[@]}" >>"$D/target.log" 2>&1 &
	pid_of[target]=$!
	wait_until 60 "dnsrouted to start" ctl -c 'show settings'
	$GEN routes "$ROUTES" main "$D/routes.only"
	{
		echo "pool add main"
		echo "backend add ns1 $NSD_ADDR:$PORT pool main"
		cat "$D/routes.only"
	} >"$D/routes.batch"
	ctl -q -f "$D/routes.batch"
	[ "$FLEET" != 1 ] || ctl -q -c 'fleet join'
	wait_until 60 "the backend to be up" backend_up
fi
wait_until 60 "the target to answer" answers "$R_ADDR" "$R_PORT"

warm=$(load 10000)
callgrind_control -z "${pid_of[target]}" >/dev/null 2>&1
done_q=$(load "$QUERIES")
callgrind_control -d "${pid_of[target]}" >/dev/null 2>&1
stop target
[ "$done_q" -gt 0 ] || { echo "irq: no query answered" >&2; exit 1; }

# The dump after the zeroing is part 1 (cg.out is the rest, at exit).
out=$D/cg.out.1
[ -s "$out" ] || { echo "irq: no callgrind dump" >&2; exit 1; }
total=$(awk '/^summary:/ { print $2; exit }' "$out")
[ -z "${IRQ_OUT:-}" ] || cp "$out" "$IRQ_OUT"
printf 'irq: %s (%s %s routes%s), %s of %s queries answered (warm-up %s)\n' \
    "$TARGET" "$PROTO" "$ROUTES" "$([ "$FLEET" = 1 ] && echo ', in a fleet')" \
    "$done_q" "$QUERIES" "$warm"
awk -v t="$total" -v n="$done_q" 'BEGIN { printf "irq: %.0f instructions per query\n", t / n }'
# Calls of a few functions, in the whole process: epoll_wait is one
# wakeup (of the worker, and now and then of the main thread).  The
# functions compressed as "cfn=(ID) name" the first time, "cfn=(ID)" after.
calls_of() {
	awk -v want="$1" '
	/^c?fn=\(/ {
		s = $0; sub(/^c?fn=\(/, "", s); id = s; sub(/\).*$/, "", id)
		nm = s; sub(/^[0-9]+\) ?/, "", nm)
		if (nm != "") name[id] = nm
		if ($0 ~ /^cfn/) cur = id
		next
	}
	/^calls=/ { s = $0; sub(/^calls=/, "", s); sub(/ .*$/, "", s); c[cur] += s }
	END { for (i in c) if (name[i] == want) n += c[i]; print n + 0 }' "$out"
}
wakeups=$(calls_of epoll_wait)
# What a wakeup costs however many queries it brings (libevent, epoll_wait,
# the read callbacks, txq_flush; then also the system call wrappers and the
# clock read once a batch) varies with the number of wakeups, which
# varies from run to run (2,000-10,000 per 60,000 queries at 15,000 qps):
# the rest is the number to compare (over UDP: over TCP the read callbacks
# frame each message, per query).
callgrind_annotate --auto=no --threshold=100 --inclusive=no "$out" 2>/dev/null |
    awk -v n="$done_q" -v t="$total" -v wk="$wakeups" '
	/^ *[0-9,]+ \( *[0-9.]+%\) / && !/PROGRAM TOTALS/ {
		v = $1; gsub(",", "", v); v += 0
		if (v >= 0.99 * t) next
		fn = $0; sub(/^[^)]*\) +/, "", fn)
		ob = fn; sub(/^.*\[/, "", ob); sub(/\].*$/, "", ob); sub(/^.*\//, "", ob)
		sub(/ \[.*$/, "", fn); sub(/^[^ ]*:/, "", fn)
		if (ob ~ /^libevent/ || fn ~ /^(epoll_wait|udp_read_cb|up_udp_cb|txq_flush)$/)
			w += v
		else if (fn ~ /^(syscall|now_us|clock_gettime.*|__pthread_(en|dis)able_asynccancel|__errno_location)$/)
			x += v
	}
	END {
		printf "irq: %d wakeups (epoll_wait calls), %.1f queries a wakeup\n", wk, wk ? n / wk : 0
		printf "irq: %.0f instructions per query without the per-wakeup functions (%.0f a wakeup); %.0f without the system call wrappers and clock reads too\n", (t - w) / n, wk ? w / wk : 0, (t - w - x) / n
	}'
# Self cost of each function (--threshold=100: all of them, not just the
# first 99%), per query; the first lines are the inclusive totals of the
# thread's outer frames, skipped by taking only functions below 99%.
callgrind_annotate --auto=no --threshold=100 --inclusive=no "$out" 2>/dev/null |
    awk -v n="$done_q" -v t="$total" -v top="$TOP" '
	/^ *[0-9,]+ \( *[0-9.]+%\) / && !/PROGRAM TOTALS/ {
		v = $1; gsub(",", "", v); v += 0
		if (v >= 0.99 * t || k++ >= top) next
		# "N (P%)  file:function [object]" -> "function (object)"
		fn = $0; sub(/^[^)]*\) +/, "", fn)
		ob = fn; sub(/^.*\[/, "", ob); sub(/\].*$/, "", ob); sub(/^.*\//, "", ob)
		sub(/ \[.*$/, "", fn); sub(/^[^ ]*:/, "", fn)
		printf "%8.1f  %s (%s)\n", v / n, fn, ob
	}'
[ "$CACHESIM" = 1 ] || exit 0
# The cache model's data misses (events Ir Dr Dw I1mr D1mr D1mw ILmr DLmr
# DLmw): L1 read and write misses, last-level ones, per query; then the
# IRQ_TOP functions with the most L1 data misses (self), per query.  The
# model ignores prefetches: a line prefetched in time is a miss here.
awk -v n="$done_q" '
	/^events:/ { for (i = 2; i <= NF; i++) ev[$i] = i - 1 }
	/^summary:/ {
		for (i = 2; i <= NF; i++) v[i - 1] = $i
		printf "irq: per query %.2f L1 data misses (%.2f read, %.2f write), %.2f last-level (%.2f read, %.2f write), %.2f L1 instruction misses\n",
		    (v[ev["D1mr"]] + v[ev["D1mw"]]) / n, v[ev["D1mr"]] / n,
		    v[ev["D1mw"]] / n, (v[ev["DLmr"]] + v[ev["DLmw"]]) / n,
		    v[ev["DLmr"]] / n, v[ev["DLmw"]] / n, v[ev["I1mr"]] / n
	}' "$out"
callgrind_annotate --auto=no --threshold=100 --inclusive=no \
    --show=D1mr,D1mw,DLmr,DLmw --sort=D1mr "$out" 2>/dev/null |
    awk -v n="$done_q" '
	/file:function/ { body = 1; next }
	!body || /PROGRAM TOTALS/ || NF < 5 { next }
	{
		# "N (P%) N (P%) . . file:function [object]": four values,
		# "." for none, each but a none with its percentage.
		k = 0; fn = ""
		for (i = 1; i <= NF; i++) {
			if (k < 4 && $i ~ /^([0-9,]+|\.)$/) { v[++k] = $i; gsub(",", "", v[k]); v[k] += 0; continue }
			if (fn == "" && $i ~ /%\)$|^\(/) continue
			fn = fn (fn == "" ? "" : " ") $i
		}
		# The outer frames of the threads and the process.
		if (fn ~ /(worker_main|event_base_dispatch|start_thread|clone|libc_start_main|below main\)|:main)( |$)/) next
		ob = ""
		if (fn ~ /\[/) { ob = fn; sub(/^.*\[/, "", ob); sub(/\].*$/, "", ob); sub(/^.*\//, "", ob); ob = " (" ob ")" }
		sub(/ \[.*$/, "", fn); sub(/^.*\//, "", fn)
		printf "%6.2f L1 (%5.2f r %5.2f w)  %5.2f LL  %s%s\n",
		    (v[1] + v[2]) / n, v[1] / n, v[2] / n, (v[3] + v[4]) / n, fn, ob
	}' | sort -rn | head -n "$TOP"
