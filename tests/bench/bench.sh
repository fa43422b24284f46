#!/bin/bash
# bench.sh BUILDDIR: the dnsroute benchmark (make bench; issue 6).
#
# Starts NSD on loopback with a generated zone bench. (BENCH_NAMES A records,
# default 10,000) and, for each scenario, runs the same bounded dnsperf load
# against NSD directly, through the floor relay (THREADS 1 only),
# through dnsrouted, and through dnsdist (when /usr/bin/dnsdist exists; the
# same routes as RegexRule -> PoolAction, no packet cache).  Two loads per
# target: maximum throughput and a fixed 10,000 qps for latency.  Then it
# prints one table and writes it, with the configuration figures, to
# BUILDDIR/tests/out/bench.txt (raw dnsperf outputs in
# BUILDDIR/tests/out/bench-raw/).
#
# The floor relays are the least a userspace relay can do, one thread, no
# parsing: over UDP floor_relay.c (poll, recvmmsg/sendmmsg of 32, a fixed
# table of clients by DNS ID), over TCP floor_tcp.c (a byte pipe with a
# backend connection per client connection), on the same address and port.
# They have no routes and one thread, so they run in the scenarios with
# THREADS 1, whatever the routes; their row is what any relay costs on this
# machine, and the router's figures are also given as ratios to it.  CPU per query is measured for
# every target: the relay's process, and NSD's main process with its forked
# children.
#
# Scenario NAME = PROTO-rROUTES-tTHREADS: PROTO udp|tcp is the clients'
# transport (dnsperf -m), ROUTES the number of non-matching regex routes
# before the matching one ('^rNNNNN\.bench\.$' ..., then '\.bench\.$'),
# THREADS dnsrouted's -t (dnsdist gets as many reuseport UDP listeners).
# In the scenarios with 10,000 routes and one thread, the target "unique"
# is dnsrouted again under a random-subdomain flood: every query a name
# never seen (k<random>.u.bench., answered by NSD's wildcard), so that no
# decision is in the cache, taking turns with the repeated names.
#
# Then tests/bench/scale.sh (issue 16): 100,000 routes, changes under load,
# health checks at scale; its figures are printed after the table.
#
# Environment:
#   BENCH_SECONDS=N     seconds of load per target, scenario and load (default 10; 3 in
#                       quick mode), split over the rounds
#   BENCH_ROUNDS=N      rounds (default 3): the targets of a scenario take turns, N short
#                       runs each, the order reversed every other round, so that the
#                       machine's drift falls on all of them alike; the table gives the
#                       medians of qps, average and p99 latency, and CPU over all rounds
#   BENCH_QUICK=1       fewer scenarios and 3 s runs
#   BENCH_SCENARIOS="udp:1:1 tcp:10000:2 ..."   PROTO:ROUTES:THREADS, overrides
#   BENCH_NAMES=N       names in the zone and the query file (default 10000, >= 10000
#                       unless you mean it)
#   BENCH_DNSDIST=0     leave dnsdist out
#   BENCH_BIG=0         skip the 10,000 routes + 100 backends measurement
#   BENCH_SCALE=0       skip scale.sh (SCALE_PARTS="routes change health" picks parts)
#   BENCH_NET=127.61.0  the /24 on loopback: NSD .1, dnsrouted .2, dnsdist .3, floor .4
#   BENCH_PORT=5301     NSD's port; dnsrouted +1, dnsdist +2, floor +3
#   BENCH_MAX_FLAGS, BENCH_LAT_FLAGS   dnsperf flags of the two loads (defaults below)
#   BENCH_TCP_PIN="1 0" TCP scenarios with THREADS 1, max load: every target's run has the
#                       relay (floor, dnsrouted, dnsdist) alone on the first CPU, NSD and
#                       dnsperf on the second (taskset, undone after the run).  Default
#                       empty: not pinned.  For an idle machine only: with other work on
#                       it a pinned process cannot move away, and single rounds fell to
#                       1.5k-5k qps against 34k.  The 10k load is never pinned.
#   BENCH_TCP_FLOOR_ACK=1   the TCP floor acknowledges its backend's answers as dnsrouted
#                       must (FLOOR_TCP_ACK, see floor_tcp.c; default).  0: the old floor,
#                       which leaves them to the kernel's delayed ACK and so holds every
#                       answer after the first of a pipelined burst for ~40 ms (NSD's Nagle)
#
# Everything started here is stopped on exit, by PID.  Nothing runs unbounded:
# every dnsperf run has -l and an outer timeout.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILDDIR" >&2
	exit 2
fi
BUILDDIR=$(cd "$1" && pwd)
# shellcheck source=tools.sh
. "$(dirname "${BASH_SOURCE[0]}")/tools.sh"
DNSDIST=/usr/bin/dnsdist

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then SECS=${BENCH_SECONDS:-3}; else SECS=${BENCH_SECONDS:-10}; fi
if [ "$QUICK" = 1 ]; then ROUNDS=${BENCH_ROUNDS:-1}; else ROUNDS=${BENCH_ROUNDS:-3}; fi
RUN_SECS=$(( (SECS + ROUNDS - 1) / ROUNDS ))
[ "$RUN_SECS" -ge 2 ] || RUN_SECS=2
ROUND=1
NAMES=${BENCH_NAMES:-10000}
NET=${BENCH_NET:-127.61.0}
PORT=${BENCH_PORT:-5301}
NSD_ADDR=$NET.1 NSD_PORT=$PORT
R_ADDR=$NET.2 R_PORT=$((PORT + 1))
DD_ADDR=$NET.3 DD_PORT=$((PORT + 2))
F_ADDR=$NET.4 F_PORT=$((PORT + 3))
# Maximum throughput: 8 clients (8 UDP sockets, so SO_REUSEPORT can spread
# them over workers; 8 TCP connections), up to 500 queries outstanding.
MAX_FLAGS=${BENCH_MAX_FLAGS:--c 8 -q 500 -t 2}
# Latency: the same clients paced at 10,000 qps; -v prints every query's
# latency, from which the p99 is taken.
LAT_FLAGS=${BENCH_LAT_FLAGS:--c 8 -q 500 -t 2 -Q 10000}
# TCP, one worker, max load: "RELAY_CPU OTHER_CPU", or empty for no pinning.
# A TCP relay's CPU per query follows how many messages it finds per read
# (the TCP floor, a byte pipe: 9.1 us at 0.79 recv and send a query, 12.6
# at 1.15-1.31, in consecutive rounds), and that follows where the
# scheduler puts three busy processes on two cores and what else runs.
# Pinned, the relay has a CPU of its own, if the machine is otherwise idle.
TCP_PIN=${BENCH_TCP_PIN:-}
TCP_FLOOR_ACK=${BENCH_TCP_FLOOR_ACK:-1}
[ "$(nproc)" -ge 2 ] || TCP_PIN=
USE_DNSDIST=${BENCH_DNSDIST:-1}
[ -x "$DNSDIST" ] || USE_DNSDIST=0
BIG=${BENCH_BIG:-1}
SCALE=${BENCH_SCALE:-1}

if [ -n "${BENCH_SCENARIOS:-}" ]; then
	SCENARIOS=$BENCH_SCENARIOS
elif [ "$QUICK" = 1 ]; then
	SCENARIOS="udp:1:1 tcp:1:1 udp:1:2 udp:100:1 udp:10000:1 tcp:10000:1"
else
	SCENARIOS=
	for r in 1 100 1000 10000; do
		for t in 1 2; do
			for p in udp tcp; do
				SCENARIOS="$SCENARIOS $p:$r:$t"
			done
		done
	done
fi

for exe in "$DNSROUTED" "$DNSROUTECTL" "$FLOOR" "$FLOOR_TCP" "$NSD" "$DNSPERF" "$PY"; do
	[ -x "$exe" ] || { echo "bench: $exe is missing (make bench first? apt-get install nsd dnsperf?)" >&2; exit 1; }
done

OUT=$BUILDDIR/tests/out
RAW=$OUT/bench-raw
mkdir -p "$OUT"
rm -rf "$RAW"
mkdir -p "$RAW"
D=$(mktemp -d "${TMPDIR:-/tmp}/dnsroute-bench-XXXXXX")
SOCK=$D/ctl.sock
START=$(date +%s)

PROCS_LABEL=bench
# shellcheck source=../lib/procs.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/procs.sh"

log() {
	printf '[bench %4ds] %s\n' $(( $(date +%s) - START )) "$*" >&2
}

now() { date +%s.%N; }
elapsed() { echo "$(now) $1" | awk '{ printf "%.3f", $1 - $2 }'; }


answers() { $GEN probe "$1" "$2" n00001.bench. "${3:-udp}"; }	# answers ADDR PORT [tcp]

# utime + stime of processes (all their threads), in clock ticks, then
# utime and stime apart.
cpu_ticks() {	# cpu_ticks PID...
	local p
	for p in "$@"; do
		sed 's/^.*) //' "/proc/$p/stat"
	done | awk '{ u += $12; s += $13 } END { print u + s, u, s }'
}
# A process and all its descendants: NSD's main process forks xfrd and the
# server child, which is the one that answers, a grandchild (NSD 4.6).
tree_pids() {	# tree_pids PID
	local c
	echo "$1"
	# shellcheck disable=SC2013 # pids, space-separated
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		tree_pids "$c"
	done
}
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

ctl() { "$DNSROUTECTL" -s "$SOCK" "$@"; }


conf() {	# conf KEY VALUE: a configuration figure for the report
	printf '%s\t%s\n' "$1" "$2" >>"$RAW/config.tsv"
}

# A leftover or someone else's server on our addresses would answer in our
# servers' stead, and be measured instead of them.
check_free() {	# check_free ADDR PORT
	if answers "$1" "$2" >/dev/null 2>&1; then
		echo "bench: something already answers on $1:$2 (set BENCH_NET or BENCH_PORT)" >&2
		exit 1
	fi
}

# ---- NSD

start_nsd() {
	local dir=$D/nsd
	mkdir -p "$dir"
	cp "$D/bench.zone" "$dir/bench.zone"
	nsd_conf "$dir" "$NSD_ADDR" "$NSD_PORT" bench-nsd bench. bench.zone
	nsd_run nsd "$dir"
	wait_until 30 "NSD to answer on $NSD_ADDR:$NSD_PORT" answers "$NSD_ADDR" "$NSD_PORT"
}

# ---- the floor relay

start_floor() {
	"$FLOOR" "$F_ADDR" "$F_PORT" "$NSD_ADDR" "$NSD_PORT" >>"$D/floor.log" 2>&1 &
	pid_of[floor]=$!
	FLOOR_TCP_ACK=$TCP_FLOOR_ACK "$FLOOR_TCP" "$F_ADDR" "$F_PORT" "$NSD_ADDR" "$NSD_PORT" >>"$D/floor.log" 2>&1 &
	pid_of[floor_tcp]=$!
	wait_until 30 "the floor relay to answer" answers "$F_ADDR" "$F_PORT"
	wait_until 30 "the TCP floor relay to answer" answers "$F_ADDR" "$F_PORT" tcp
}

# ---- dnsrouted

start_router() {	# start_router THREADS DBDIR; sets ROUTER_T0 (start time)
	ROUTER_T0=$(now)
	"$DNSROUTED" -f -l "$R_ADDR:$R_PORT" -s "$SOCK" -d "$2/dnsroute.db" -t "$1" >>"$D/dnsrouted.log" 2>&1 &
	pid_of[dnsrouted]=$!
	wait_until 30 "dnsrouted to start" ctl -c 'show settings'
}

# apply_routes ROUTES DBDIR: a fresh store, then one batch of 'backend add' and
# the routes; prints the batch's wall time.
apply_routes() {
	local n=$1 batch=$D/routes-$1.batch t0 t
	{
		echo "pool add main"
		echo "backend add ns1 $NSD_ADDR:$NSD_PORT pool main interval 1 timeout 500"
		cat "$D/routes-$n.only"
	} >"$batch"
	t0=$(now)
	ctl -q -f "$batch" >>"$D/dnsroutectl.log" 2>&1
	t=$(elapsed "$t0")
	echo "$t"
}

# ---- dnsdist

start_dnsdist() {	# start_dnsdist ROUTES LISTENERS; sets DD_READY (seconds to the first answer)
	local cfg=$D/dnsdist-$1-$2.conf t0
	$GEN dnsdist "$1" "$DD_ADDR:$DD_PORT" "$NSD_ADDR:$NSD_PORT" "$2" "$cfg"
	t0=$(now)
	"$DNSDIST" --supervised --disable-syslog -C "$cfg" >>"$D/dnsdist.log" 2>&1 </dev/null &
	pid_of[dnsdist]=$!
	wait_until 120 "dnsdist to answer" answers "$DD_ADDR" "$DD_PORT"
	DD_READY=$(elapsed "$t0")
}

# ---- one dnsperf run

# TCP with one worker, max load: the relay alone on one CPU, NSD and
# dnsperf on the other, for every target's run (see TCP_PIN above); then
# all CPUs again.
tcp_pin() {	# tcp_pin TARGET PID RELAY_CPU OTHER_CPU
	local p
	[ "$1" = nsd ] || taskset -a -p -c "$3" "$2" >/dev/null
	for p in $(tree_pids "${pid_of[nsd]}"); do
		taskset -a -p -c "$4" "$p" >/dev/null
	done
}
tcp_unpin() {	# tcp_unpin TARGET PID
	local p all=0-$(( $(nproc) - 1 ))
	[ "$1" = nsd ] || taskset -a -p -c "$all" "$2" >/dev/null
	for p in $(tree_pids "${pid_of[nsd]}"); do
		taskset -a -p -c "$all" "$p" >/dev/null
	done
}

# run_load SCENARIO PROTO ROUTES THREADS TARGET LOAD ADDR PORT PID [tree]
# The CPU of PID over the run; with tree, of PID and its descendants (and no
# RSS: which process's would it be?).
run_load() {
	local scen=$1 proto=$2 routes=$3 threads=$4 target=$5 load=$6 addr=$7 port=$8 pid=$9 tree=${10:-}
	local f=$scen.$target.$load.$ROUND.txt flags pids c0=- c1=- ticks=- rss=- p99=- qf
	local user=- sys=- pin=
	if [ "$load" = max ]; then flags=$MAX_FLAGS; else flags="$LAT_FLAGS -v"; fi
	if [ -n "$tree" ]; then pids=$(tree_pids "$pid"); else pids=$pid; fi
	[ "$proto" != tcp ] || [ "$threads" != 1 ] || [ "$load" != max ] || pin=$TCP_PIN
	# shellcheck disable=SC2086 # two CPUs
	[ -z "$pin" ] || tcp_pin "$target" "$pid" $pin
	# shellcheck disable=SC2086
	[ -z "$pid" ] || c0=$(cpu_ticks $pids)
	qf=$D/queries.txt
	[ "$target" != unique ] || qf=$D/unique.txt
	# shellcheck disable=SC2086
	timeout -k 5 $((RUN_SECS + 30)) ${pin:+taskset -c "${pin#* }"} "$DNSPERF" -m "$proto" -s "$addr" -p "$port" -d "$qf" \
		-l "$RUN_SECS" $flags >"$RAW/$f" 2>&1 || echo "(dnsperf exit $?)" >>"$RAW/$f"
	if [ -n "$pid" ]; then
		# shellcheck disable=SC2086
		c1=$(cpu_ticks $pids)
		# shellcheck disable=SC2086
		set -- $c0 $c1
		ticks=$(($4 - $1)) user=$(($5 - $2)) sys=$(($6 - $3))
		[ -n "$tree" ] || rss=$(rss_kb "$pid")
	fi
	[ -z "$pin" ] || tcp_unpin "$target" "$pid"
	if [ "$load" != max ]; then
		p99=$($REPORT p99 "$RAW/$f")
		grep -v '^> ' "$RAW/$f" >"$RAW/$f.tmp" || true
		mv "$RAW/$f.tmp" "$RAW/$f"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$proto" "$routes" "$threads" \
		"$target" "$load" "$f" "$ticks" "$rss" "$p99" "$user" "$sys" >>"$RAW/runs.tsv"
	log "$scen $target $load round $ROUND: $(grep -E 'Queries per second' "$RAW/$f" | awk '{print $4}') qps, p99 $p99 us"
}

# ---- generate

check_free "$NSD_ADDR" "$NSD_PORT"
check_free "$R_ADDR" "$R_PORT"
check_free "$DD_ADDR" "$DD_PORT"
check_free "$F_ADDR" "$F_PORT"

log "generating zone bench. ($NAMES names), queries, routes"
$GEN zone "$NAMES" "$D/bench.zone"
$GEN queries "$NAMES" "$D/queries.txt"
# More names than a run sends: at the end of the file dnsperf starts again.
$GEN unique 1500000 "$D/unique.txt"
ROUTE_COUNTS=$(for s in $SCENARIOS; do echo "$s" | cut -d: -f2; done | sort -n -u)
for n in $ROUTE_COUNTS 10000; do
	[ -f "$D/routes-$n.only" ] || $GEN routes "$n" main "$D/routes-$n.only"
done

{
	printf 'clk_tck\t%s\n' "$(getconf CLK_TCK)"
} >"$RAW/meta"
: >"$RAW/runs.tsv"
: >"$RAW/config.tsv"

HEADER=$(cat <<-EOF
	dnsroute benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'); $(uname -sr); $(nproc) cores; load average at start $(cut -d' ' -f1-3 /proc/loadavg))
	dnsrouted: $DNSROUTED ($("$DNSROUTED" -V 2>&1 | head -1))
	NSD $("$NSD" -v 2>&1 | head -1 | awk '{print $NF}') on $NSD_ADDR:$NSD_PORT (server-count 1, rrl off); $("$DNSPERF" -h 2>&1 | grep -i '^version' | head -1 | sed 's/Version/dnsperf/')$( [ "$USE_DNSDIST" = 1 ] && echo "; $("$DNSDIST" --version 2>&1 | head -1 | awk '{print $1, $2}') (RegexRule -> PoolAction, no packet cache, reuseport UDP listener per router thread, its own TCP workers)")
	zone bench.: $NAMES A names n00001..; query file: those names, random order, type A, replayed in a loop.
	Routes: N x '^rNNNNN\.bench\.\$' (no match), then '\.bench\.\$' -> pool main (one backend, the NSD).
	Loads: max = dnsperf $MAX_FLAGS ; 10k = dnsperf $LAT_FLAGS (-v)
	  $ROUNDS round(s) of $RUN_SECS s per target and load, the targets taking turns (order reversed every other round);
	  qps, avg and p99 are the medians over the rounds, lost the sum, cpu_us/q all rounds' CPU / all answered queries.
	floor = on $F_ADDR:$F_PORT, one thread, no parsing: UDP $FLOOR (poll, recvmmsg/sendmmsg 32 at a time, a fixed
	  65,536-entry table of clients by DNS ID); TCP $FLOOR_TCP (epoll, a byte pipe, one backend connection per
	  client connection; $( [ "$TCP_FLOOR_ACK" = 1 ] && echo "it acknowledges answers as dnsrouted must, BENCH_TCP_FLOOR_ACK=1" || echo "no TCP_QUICKACK: NSD's Nagle holds answers ~40 ms for its delayed ACKs, BENCH_TCP_FLOOR_ACK=0")).
	  The least any userspace relay costs on this rig (-t 1 scenarios only).
	  x/fl = relay / floor, same scenario and load.
	CPU: dnsperf, NSD and the relay share the same $(nproc) cores, so qps is the rig's, not the relay's alone.
	  TCP with 1 worker, max load: $( [ -n "$TCP_PIN" ] && echo "pinned, the relay alone on CPU ${TCP_PIN% *}, NSD and dnsperf on CPU ${TCP_PIN#* } (BENCH_TCP_PIN)" || echo "not pinned (BENCH_TCP_PIN empty)").
	  cpu_us/q = utime+stime delta over the run (all threads; /proc/PID/stat, CLK_TCK $(getconf CLK_TCK)) / answered queries,
	  of the relay's process, or for nsd of its main process and its forked children.
	  rss = VmRSS of the relay after the run. p99 = nearest rank over the per-query latencies of dnsperf -v,
	  measured on the 10k runs only (on max runs latency is queueing in dnsperf's -q window).
	Ratios: x/dd = dnsrouted / dnsdist, x/nsd = via relay / NSD direct, in the same scenario and load; +avg_us = avg - NSD's avg.
	EOF
)

# ---- run

start_nsd
log "NSD up on $NSD_ADDR:$NSD_PORT"
start_floor
log "floor relay up on $F_ADDR:$F_PORT"

for n in $ROUTE_COUNTS; do
	db=$D/db-$n
	rm -rf "$db"
	mkdir -p "$db"
	first=1
	thread_counts=$(for s in $SCENARIOS; do
		[ "$(echo "$s" | cut -d: -f2)" = "$n" ] && echo "$s" | cut -d: -f3
	done | sort -n -u)
	for t in $thread_counts; do
		if [ $first = 1 ]; then
			# Apply the routes on a fresh store, then restart on it: the
			# restart's time to the first answer is reported as ready.
			start_router "$t" "$db"
			a=$(apply_routes "$n" "$db")
			conf "apply.$n" "$a"
			log "$n routes: batch applied in $a s"
			stop dnsrouted
		fi
		start_router "$t" "$db"
		wait_until 30 "dnsrouted to answer" answers "$R_ADDR" "$R_PORT"
		if [ $first = 1 ]; then
			conf "ready.$n" "$(elapsed "$ROUTER_T0")"
			conf "rss_idle.$n" "$(rss_kb "${pid_of[dnsrouted]}")"
		fi
		wait_until 30 "backend ns1 up" all_up 1
		dd_pid=
		if [ "$USE_DNSDIST" = 1 ]; then
			start_dnsdist "$n" "$t"
			r=$DD_READY
			dd_pid=${pid_of[dnsdist]}
			if [ $first = 1 ]; then
				conf "dd_ready.$n" "$r"
				conf "dd_rss_idle.$n" "$(rss_kb "$dd_pid")"
			fi
			log "dnsdist with $n rules answering after $r s"
		fi
		first=0
		for s in $SCENARIOS; do
			p=$(echo "$s" | cut -d: -f1)
			[ "$(echo "$s" | cut -d: -f2)" = "$n" ] && [ "$(echo "$s" | cut -d: -f3)" = "$t" ] || continue
			scen=$p-r$n-t$t
			targets="nsd dnsrouted"
			[ "$t" != 1 ] || targets="nsd floor dnsrouted"
			[ -z "$dd_pid" ] || targets="$targets dnsdist"
			[ "$n" != 10000 ] || [ "$t" != 1 ] || targets="$targets unique"
			for load in max 10k; do
				for ROUND in $(seq "$ROUNDS"); do
					order=$targets
					[ $((ROUND % 2)) = 1 ] || order=$(echo "$targets" | tr ' ' '\n' | tac | tr '\n' ' ')
					for x in $order; do
						case $x in
						nsd)	run_load "$scen" "$p" "$n" "$t" nsd "$load" "$NSD_ADDR" "$NSD_PORT" "${pid_of[nsd]}" tree ;;
						floor)	fpid=${pid_of[floor]}
							[ "$p" = udp ] || fpid=${pid_of[floor_tcp]}
							run_load "$scen" "$p" "$n" "$t" floor "$load" "$F_ADDR" "$F_PORT" "$fpid" ;;
						dnsrouted|unique) run_load "$scen" "$p" "$n" "$t" "$x" "$load" "$R_ADDR" "$R_PORT" "${pid_of[dnsrouted]}" ;;
						dnsdist) run_load "$scen" "$p" "$n" "$t" dnsdist "$load" "$DD_ADDR" "$DD_PORT" "$dd_pid" ;;
						esac
					done
				done
			done
		done
		stop dnsdist
		stop dnsrouted
	done
done

# ---- 10,000 routes and 100 backends

if [ "$BIG" = 1 ]; then
	db=$D/db-big
	mkdir -p "$db"
	start_router 1 "$db"
	$GEN backends 100 1 "$NSD_ADDR:$NSD_PORT" main "$D/big.only"
	{
		echo "pool add main"
		sed 's/interval 5/interval 1/' "$D/big.only"
		cat "$D/routes-10000.only"
	} >"$D/big.batch"
	t0=$(now)
	ctl -q -f "$D/big.batch" >>"$D/dnsroutectl.log" 2>&1
	a=$(elapsed "$t0")
	conf big.apply "$a"
	log "10,000 routes + 100 backends: batch applied in $a s"
	wait_until 60 "100 backends up" all_up 100 || true
	conf big.up "$(backends_up)"
	conf big.rss_idle "$(rss_kb "${pid_of[dnsrouted]}")"
	f=big.dnsrouted.max.txt
	# shellcheck disable=SC2086
	timeout -k 5 $((SECS + 30)) "$DNSPERF" -s "$R_ADDR" -p "$R_PORT" -d "$D/queries.txt" -l "$SECS" $MAX_FLAGS \
		>"$RAW/$f" 2>&1 || true
	conf big.rss_load "$(rss_kb "${pid_of[dnsrouted]}")"
	conf big.secs "$SECS"
	conf big.qps "$(awk '/Queries per second/ {print $4}' "$RAW/$f")"
	conf big.lost "$(awk '/Queries lost/ {print $3}' "$RAW/$f")"
	stop dnsrouted
fi

stop floor
stop floor_tcp
stop nsd
if [ "$SCALE" = 1 ]; then
	log "scale measurements (tests/bench/scale.sh)"
	BENCH_T=$(( $(date +%s) - START ))
	"$HERE/scale.sh" "$BUILDDIR" "$RAW"
fi
TOTAL=$(( $(date +%s) - START ))
{
	echo "$HEADER"
	echo
	$REPORT table "$RAW"
	echo
	echo "Configuration:"
	$REPORT config "$RAW"
	echo
	echo "Targets of issue 6 (ok / MISS; - = reported only; all from this run: medians of $ROUNDS round(s) on a noisy machine):"
	$REPORT targets "$RAW"
	echo
	echo "Targets of issue 16 (scale; the same conventions):"
	$REPORT scale "$RAW"
	echo
	echo "Total benchmark time: ${TOTAL} s ($( [ "$QUICK" = 1 ] && echo "quick mode, " )$ROUNDS x $RUN_SECS s per target and load$( [ "$SCALE" = 1 ] && echo "; scale.sh from ${BENCH_T} s on" ))."
} >"$OUT/bench.txt"
cat "$OUT/bench.txt"
echo "(written to $OUT/bench.txt; raw dnsperf outputs in $RAW)" >&2
