#!/bin/bash
# sys.sh BUILDDIR: where a UDP relay's CPU per query goes, dnsrouted against
# the floor relay (make bench-sys; issue 16).
#
# make bench gives CPU per query and bench-irq userspace instructions; this
# gives the rest of the split, for both relays under the same load, taking
# turns: system calls per query by kind and datagrams per recvmmsg and
# sendmmsg (tests/bench/syscount.c, preloaded into both), user and system
# time per query (/proc/PID/task/*/stat, in clock ticks: coarse, so run
# long enough for some hundreds), run time per query from schedstat (ns),
# and context switches per query (a voluntary one is a sleep in
# epoll_wait or ppoll, and the wakeup after it).  On a machine where a
# system call costs a microsecond, half of it accounted as user time, the
# number of calls per query matters as much as the instructions.
#
# With SYS_PERF=1 each run is also sampled with perf (cpu-clock, 1 kHz,
# all threads) and the time per query is split by where it was spent:
# the kernel, libc (where the system calls' entry and exit land), the
# relay's own code, libevent; then the dearest symbols, in ns per query.
# Sampling costs the sampled process a little: compare runs of one kind.
#
# Environment: SYS_SECONDS (per run, default 5), SYS_ROUNDS (default 3),
# SYS_LOADS (default "max 10k": the bench's two dnsperf loads),
# BENCH_NET/BENCH_PORT as bench.sh (default here 127.61.2 and 5321).
# Everything started here is stopped on exit, by PID; every dnsperf run is
# bounded by -l and an outer timeout.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILDDIR" >&2
	exit 2
fi
BUILDDIR=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools.sh
. "$HERE/tools.sh"
SECS=${SYS_SECONDS:-5}
ROUNDS=${SYS_ROUNDS:-3}
LOADS=${SYS_LOADS:-max 10k}
PERF=
if [ "${SYS_PERF:-0}" = 1 ]; then
	PERF=$(command -v perf) || { echo "sys: SYS_PERF=1 needs perf (apt-get install linux-perf)" >&2; exit 1; }
fi
NET=${BENCH_NET:-127.61.2}
PORT=${BENCH_PORT:-5321}
NSD_ADDR=$NET.1 R_ADDR=$NET.2 R_PORT=$((PORT + 1)) F_ADDR=$NET.4 F_PORT=$((PORT + 3))
MAX_FLAGS=${BENCH_MAX_FLAGS:--c 8 -q 500 -t 2}
LAT_FLAGS=${BENCH_LAT_FLAGS:--c 8 -q 500 -t 2 -Q 10000}
CC=${CC:-cc}

for exe in "$DNSROUTED" "$DNSROUTECTL" "$FLOOR" "$NSD" "$DNSPERF" "$PY"; do
	[ -x "$exe" ] || { echo "sys: $exe is missing (make first? apt-get install nsd dnsperf?)" >&2; exit 1; }
done

D=$(mktemp -d "${TMPDIR:-/tmp}/dnsroute-sys-XXXXXX")
SOCK=$D/ctl.sock
PROCS_LABEL=sys
# shellcheck source=../lib/procs.sh
. "$HERE/../lib/procs.sh"

ctl() { "$DNSROUTECTL" -s "$SOCK" "$@"; }
answers() { $GEN probe "$1" "$2" n00001.bench. udp; }

$CC -O2 -shared -fPIC -o "$D/syscount.so" "$HERE/syscount.c" -ldl

$GEN zone 10000 "$D/bench.zone"
$GEN queries 10000 "$D/queries.txt"
mkdir -p "$D/nsd"
cp "$D/bench.zone" "$D/nsd/bench.zone"
nsd_conf "$D/nsd" "$NSD_ADDR" "$PORT" sys-nsd bench. bench.zone
nsd_run nsd "$D/nsd"
wait_until 30 "NSD to answer" answers "$NSD_ADDR" "$PORT"

SYSCOUNT_FILE=$D/cnt.floor LD_PRELOAD=$D/syscount.so \
    "$FLOOR" "$F_ADDR" "$F_PORT" "$NSD_ADDR" "$PORT" >>"$D/floor.log" 2>&1 &
pid_of[floor]=$!
SYSCOUNT_FILE=$D/cnt.dnsrouted LD_PRELOAD=$D/syscount.so \
    "$DNSROUTED" -f -t 1 -l "$R_ADDR:$R_PORT" -s "$SOCK" -d "$D/dnsroute.db" \
    >>"$D/dnsrouted.log" 2>&1 &
pid_of[dnsrouted]=$!
wait_until 30 "dnsrouted to start" ctl -c 'show settings'
printf 'pool add main\nbackend add ns1 %s:%s pool main interval 1 timeout 500\nroute add \\.bench\\.$ pool main\n' \
    "$NSD_ADDR" "$PORT" >"$D/routes.batch"
ctl -q -f "$D/routes.batch"
wait_until 30 "the backend to be up" all_up 1
wait_until 30 "the floor relay to answer" answers "$F_ADDR" "$F_PORT"
wait_until 30 "dnsrouted to answer" answers "$R_ADDR" "$R_PORT"

# snap PID CNTFILE: one line of figures of the process, all its threads.
snap() {
	local t r rt=0 st cs

	for t in /proc/"$1"/task/*; do
		read -r r _ <"$t/schedstat"
		rt=$((rt + r))
	done
	st=$(awk '{ sub(/^.*\) /, ""); u += $12; s += $13 } END { print u, s }' /proc/"$1"/task/*/stat)
	cs=$(awk '/^voluntary_ctxt/ { v += $2 } /^nonvoluntary_ctxt/ { n += $2 } END { print v, n }' \
	    /proc/"$1"/task/*/status)
	echo "$rt $st $cs $(od -An -v -t u8 -w8 "$2" | tr -d ' ' | tr '\n' ' ')"
}

: >"$D/runs"
for round in $(seq "$ROUNDS"); do
	for load in $LOADS; do
		order="floor dnsrouted"
		[ $((round % 2)) = 1 ] || order="dnsrouted floor"
		for x in $order; do
			if [ "$x" = floor ]; then addr=$F_ADDR port=$F_PORT; else addr=$R_ADDR port=$R_PORT; fi
			if [ "$load" = max ]; then flags=$MAX_FLAGS; else flags=$LAT_FLAGS; fi
			s0=$(snap "${pid_of[$x]}" "$D/cnt.$x")
			if [ -n "$PERF" ]; then
				# Over the whole load: the queries it answers are
				# what the samples are divided by.
				timeout -k 5 $((SECS + 30)) "$PERF" record -q -e cpu-clock -F 1000 \
				    -p "${pid_of[$x]}" -o "$D/$x.$load.$round.data" \
				    -- sleep $((SECS + 1)) >/dev/null 2>&1 &
				pid_of[perf]=$!
				sleep 0.5
			fi
			# shellcheck disable=SC2086
			timeout -k 5 $((SECS + 30)) "$DNSPERF" -s "$addr" -p "$port" \
			    -d "$D/queries.txt" -l "$SECS" $flags >"$D/perf.txt" 2>&1 || true
			s1=$(snap "${pid_of[$x]}" "$D/cnt.$x")
			if [ -n "$PERF" ]; then
				wait "${pid_of[perf]}" || true
				unset "pid_of[perf]"
				"$PERF" report -i "$D/$x.$load.$round.data" --stdio --sort dso,sym \
				    -F sample,dso,sym 2>/dev/null | grep -v '^#' | grep . |
				    sed "s/^/$x $load /" >>"$D/samples" || true
			fi
			q=$(awk '/Queries completed:/ { print $3 }' "$D/perf.txt")
			qps=$(awk '/Queries per second:/ { print $4 }' "$D/perf.txt")
			echo "$x $load ${q:-0} ${qps:-0} $s0 $s1" >>"$D/runs"
		done
	done
done

# Per target and load, the sums over the rounds, per answered query.
$PY - "$D/runs" "$(getconf CLK_TCK)" <<'EOF'
import sys
from collections import defaultdict
tck = int(sys.argv[2])
# snap: rt utime stime vcs ncs, then syscount.c's words in enum order
C = ["recvmmsg", "rdgrams", "rempty", "sendmmsg", "sdgrams", "epoll",
     "events", "poll", "read", "write", "otherio", "othersys"]
acc = defaultdict(lambda: defaultdict(float))
for line in open(sys.argv[1]):
    f = line.split()
    x, load, q, qps = f[0], f[1], int(f[2]), float(f[3])
    n = (len(f) - 4) // 2
    a = [int(v) for v in f[4:4 + n]]
    b = [int(v) for v in f[4 + n:4 + 2 * n]]
    d = [bv - av for av, bv in zip(a, b)]
    k = acc[(x, load)]
    k["q"] += q; k["qps"] += qps; k["runs"] += 1
    for name, v in zip(["rt", "ut", "st", "vcs", "ncs"] + C, d):
        k[name] += v
print("target    load     qps cpu_us/q user_us/q sys_us/q calls/q recvmmsg/q sendmmsg/q wait/q dgr/recv dgr/send vcs/q")
for (x, load), k in sorted(acc.items(), key=lambda i: (i[0][1], i[0][0])):
    q = k["q"] or 1
    calls = sum(k[c] for c in C if c not in ("rdgrams", "sdgrams", "events", "rempty"))
    print("%-9s %-4s %7.0f %8.2f %9.2f %8.2f %7.3f %10.3f %10.3f %6.3f %8.1f %8.1f %5.3f" % (
        x, load, k["qps"] / k["runs"], k["rt"] / q / 1000, k["ut"] * 1e6 / tck / q,
        k["st"] * 1e6 / tck / q, calls / q, k["recvmmsg"] / q, k["sendmmsg"] / q,
        (k["epoll"] + k["poll"]) / q, k["rdgrams"] / max(k["recvmmsg"], 1),
        k["sdgrams"] / max(k["sendmmsg"], 1), k["vcs"] / q))
EOF
[ -z "$PERF" ] || [ ! -s "$D/samples" ] || $PY - "$D/runs" "$D/samples" <<'EOF'
import sys
from collections import defaultdict
# Answered queries per target and load, over the rounds sampled.
q = defaultdict(int)
for line in open(sys.argv[1]):
    f = line.split()
    q[(f[0], f[1])] += int(f[2])
cls = defaultdict(lambda: defaultdict(int))
sym = defaultdict(lambda: defaultdict(int))
for line in open(sys.argv[2]):
    f = line.split(None, 4)
    if len(f) < 4 or not f[2].isdigit():
        continue
    x, load, n, dso = f[0], f[1], int(f[2]), f[3]
    name = f[4].split("] ", 1)[-1].strip() if len(f) > 4 else "?"
    if dso == "[kernel.kallsyms]":
        c = "kernel"
    elif dso.startswith("libc.so"):
        c = "libc"
    elif dso in ("dnsrouted", "floor_relay"):
        c = "own"
    elif dso.startswith("libevent"):
        c = "libevent"
    elif dso == "syscount.so":
        c = "syscount"
    else:
        c = "other"
    cls[(x, load)][c] += n
    cls[(x, load)]["all"] += n
    sym[(x, load)][name] += n
# A sample is a millisecond of CPU (-F 1000).
C = ["all", "kernel", "libc", "own", "libevent", "syscount", "other"]
print("perf: ns/query by where the samples fell (cpu-clock, 1 kHz; libc holds the system calls' entry and exit)")
print("target    load " + " ".join("%8s" % c for c in C) + " samples")
keys = sorted(cls, key=lambda k: (k[1], k[0]))
for k in keys:
    n = q[k] or 1
    print("%-9s %-4s " % k + " ".join("%8.0f" % (cls[k][c] * 1e6 / n) for c in C) +
          " %7d" % cls[k]["all"])
for k in keys:
    n = q[k] or 1
    top = sorted(sym[k].items(), key=lambda i: -i[1])[:12]
    print("%s %s, dearest: " % k + ", ".join("%s %.0f" % (name, v * 1e6 / n) for name, v in top))
EOF
echo "sys: cpu_us/q from schedstat (all threads); user/sys from clock ticks ($(getconf CLK_TCK)/s); calls/q counted by syscount.c; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
