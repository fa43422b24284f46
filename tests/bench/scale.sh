#!/bin/bash
# scale.sh BUILDDIR RAWDIR: the scale measurements of make bench (issue 16).
#
# Three parts (SCALE_PARTS, default "routes change health"), each with its
# own NSD (zone bench.test., a wildcard: every name under it is answered)
# and a fresh dnsrouted -t 1 on SCALE_NET:
#
# routes  SCALE_ROUTES (100,000) routes '^[a-q][^.]*\.zNNNNNN\.bench\.test\.$'
#         to one pool, in one batch on a fresh store: the batch's wall time
#         and CPU (daemon and dnsroutectl), RSS after it and once the
#         background compilation is done, `show routes`, `export`, a no-op
#         `--replace` of the export, a restart (SIGTERM, start, the first
#         answer to a name of the last route, polled every 5 ms from
#         before the start), RSS after it; and the max UDP qps over names
#         of the first 10,000 routes, with all the routes, with those
#         10,000 only, and through one route, in alternating rounds: each
#         router with every pattern compiled and the ones a warm-up
#         load tried JIT-compiled (show stats routes-pending and
#         routes-jit-wanted at 0); 100,000 names asked again and again,
#         then 500,000 asked once each (every query a decision-cache
#         miss).
# change  SCALE_CHANGE_ROUTES (10,000) such routes and a catch-all to a
#         pool of 4 backends (the NSD), the max UDP qps measured, then a
#         dnsperf load at half of it during each change: a --replace by
#         10,000 other routes, a batch adding 10,000 more, and 100
#         `backend drain` / `backend undrain` pairs (each its own command
#         with its round trip, all over one control connection:
#         ctlpipe.py; 200 dnsroutectl processes' own start-up CPU would
#         be in the window); failed queries (lost or not NOERROR), and
#         the p99 latency of the queries answered while the change ran
#         against the median p99 of windows as long as the change before
#         it (report.py window; SCALE_CHANGE_BEFORE (11) s of load before
#         the change, so a change of up to 2.25 s has 4 such windows, one
#         of 1 s has 8).  Beside dnsperf, a
#         latency probe (latprobe.c: a query every ms, on a fixed
#         schedule, from its own socket) is cut the same way by the time
#         each query was really sent (report.py probe): a second view
#         whose timestamps are exact, not a rank in dnsperf's log.
#         SCALE_CHANGE_ROUNDS (5) rounds of each, whose median ratio
#         counts: the rig's own p99 moves a lot from one second to the
#         next on a shared machine; and as many rounds of no change (a
#         1 s pause in its place, no process), measured the same way:
#         the ratio the rig gives with no change at all, printed beside
#         every ratio; and a control from the same runs, at the change's
#         own window length: each window before a change against the
#         median of the others (report.py's loo; its median and 10th-90th
#         percentile over all the rounds' windows).  What the change budget did in each run (show stats
#         pace-waits, pace-waited-ms, pace-cpu-ms; read before the load and
#         after it, outside the window): the time a change now takes is
#         its window.
#         SCALE_SCHED=1: a perf sched trace of each round, and who held
#         the CPU while dnsrouted's worker, dnsperf, the probe or NSD
#         waited for one (schedwho.py; RAW/scale-sched-*.txt).
#         The rounds go kind by kind in turn, so that each kind meets the
#         same load on the machine as the others.  Experiment kinds, to
#         tell apart what a drain's commands cost the query path:
#         draincold (drain's pairs through a ctlpipe.py started in the
#         window, as this rig did before: its start-up CPU in it), and
#         200 commands over one connection, one every SCALE_CTL_GAP_MS
#         (5): drainp (drain's pairs), drainidle (the same of a backend
#         of a pool no route names: no load moves) and show (`show
#         settings`: a round trip, no change); with TMPDIR on a tmpfs,
#         the store's fdatasync costs nothing.  noneforks: the control
#         with the processes this rig started in its window before.  Else ctlpipe.py starts
#         and connects before the load does, and its CPU from the first
#         command on is the client's (client_cpu_ms; for the other kinds,
#         the CPU of the change's processes: dnsroutectl's).
# health  2,500 backends added at once, all at the NSD's address (every new
#         backend is checked at once): first checks that failed, time until
#         all are up; then 1,000 of them (the rest deleted), checked every
#         second: the daemon's CPU over SCALE_HEALTH_SECONDS (20), and the
#         time dnsroutectl -c takes for commands meanwhile (process start
#         included), with a drain and an undrain among them.
#
# Everything goes to RAWDIR/scale.tsv (KEY TAB VALUE), for report.py
# scale; raw outputs beside it (scale-*).  Progress on standard error.
# Everything started is stopped by PID; every dnsperf run is bounded.
#
# Environment: SCALE_PARTS, SCALE_ROUTES, SCALE_CHANGE_ROUTES,
# SCALE_CHANGE_ROUNDS (5), SCALE_CHANGE_KINDS (replace batch drain none: the
# change part's kinds, each in turn every round; or draincold, drainp,
# drainidle, show),
# SCALE_CTL_GAP_MS (5), SCALE_CHANGE_BUDGET (change-cpu-budget, %),
# SCALE_HEALTH_SECONDS, SCALE_QPS_ROUNDS (3),
# SCALE_NET (127.61.2), SCALE_PORT (5321), SCALE_SCHED (0); SCALE_CHANGE_QPS: the change
# part's load in qps instead of half the max (which moves with the rest
# of a shared machine's load, so that two builds' runs got different
# loads); SCALE_ROUTER_CPUS: a taskset CPU list for dnsrouted (one CPU:
# its worker and its main thread take turns on it, the case where a
# change's CPU can delay queries the most).
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 BUILDDIR RAWDIR" >&2
	exit 2
fi
# SCALE_NICE (-10; 0: off): the rig and all it starts (dnsrouted, NSD,
# dnsperf, the probe, dnsroutectl) run at this nice value, so that on a
# shared machine the other work at nice 0 (builds, tests) takes little of
# the CPU its load needs.  It does not help against benches run at a
# lower nice: at load 7-16 on 2 cores, beside another rig at nice -20,
# the p99 with no change at all still moved 2-130 ms from one window to
# the next, and the control's ratio with it.  Only relative to the rest of the machine: the
# router's own threads keep their distances (prio.c raises a change's
# main thread by 10 from where it started), and on an idle machine it
# changes nothing.  Refused (no CAP_SYS_NICE): it runs at 0 and says so.
if [ "${SCALE_NICE:--10}" != 0 ] && [ -z "${SCALE_NICED:-}" ]; then
	if [ "$(nice -n "${SCALE_NICE:--10}" nice 2>/dev/null)" -lt "$(nice)" ]; then
		SCALE_NICED=${SCALE_NICE:--10} exec nice -n "${SCALE_NICE:--10}" "$0" "$@"
	fi
	echo "scale: cannot run at nice ${SCALE_NICE:--10}; at $(nice)" >&2
	SCALE_NICED=0
fi
BUILDDIR=$(cd "$1" && pwd)
RAW=$2
# shellcheck source=tools.sh
. "$(dirname "${BASH_SOURCE[0]}")/tools.sh"
PARTS=${SCALE_PARTS:-routes change health}
NROUTES=${SCALE_ROUTES:-100000}
NCHANGE=${SCALE_CHANGE_ROUTES:-10000}
NROUNDS=${SCALE_CHANGE_ROUNDS:-5}
# Seconds of load before a change (>= 4): cut into windows as long as the
# change, whose median p99 is the change's "before" (report.py window).
BEFORE=${SCALE_CHANGE_BEFORE:-11}
[ "$BEFORE" -ge 4 ] || { echo "scale: SCALE_CHANGE_BEFORE is at least 4" >&2; exit 2; }
KINDS=${SCALE_CHANGE_KINDS:-replace batch drain none}
HSECS=${SCALE_HEALTH_SECONDS:-20}
QROUNDS=${SCALE_QPS_ROUNDS:-3}
NET=${SCALE_NET:-127.61.2}
PORT=${SCALE_PORT:-5321}
NSD_ADDR=$NET.1 NSD_PORT=$PORT
R_ADDR=$NET.2 R_PORT=$((PORT + 1))
MAX_FLAGS="-c 8 -q 500 -t 2"

mkdir -p "$RAW"
OUT=$RAW/scale.tsv
: >"$OUT"
D=$(mktemp -d "${TMPDIR:-/tmp}/dnsroute-scale-XXXXXX")
SOCK=$D/ctl.sock
START=$(date +%s)
PROCS_LABEL=scale
# shellcheck source=../lib/procs.sh
. "$HERE/../lib/procs.sh"

log() { printf '[scale %4ds] %s\n' $(( $(date +%s) - START )) "$*" >&2; }
put() { printf '%s\t%s\n' "$1" "$2" >>"$OUT"; }
now() { date +%s.%N; }
elapsed() { echo "$(now) $1" | awk '{ printf "%.3f", $1 - $2 }'; }
ctl() { "$DNSROUTECTL" -s "$SOCK" "$@"; }
answers() { $GEN probe "$1" "$2" "$3"; }
# utime + stime in seconds, all threads.
cpu_s() { sed 's/^.*) //' "/proc/$1/stat" | awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($12 + $13) / t }'; }
rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
sub() { echo "$1 $2" | awk '{ printf "%.2f", $1 - $2 }'; }
subus() { echo "$1 $2" | awk '{ printf "%.6f", $1 - $2 }'; }

LATPROBE=$BUILDDIR/tests/bench/latprobe
for exe in "$DNSROUTED" "$DNSROUTECTL" "$NSD" "$DNSPERF" "$LATPROBE"; do
	[ -x "$exe" ] || { echo "scale: $exe is missing" >&2; exit 1; }
done
if answers "$NSD_ADDR" "$NSD_PORT" x.bench.test. >/dev/null 2>&1 ||
    answers "$R_ADDR" "$R_PORT" x.bench.test. >/dev/null 2>&1; then
	echo "scale: something already answers on $NET (set SCALE_NET)" >&2
	exit 1
fi

mkdir -p "$D/nsd"
$GEN wildzone "$D/nsd/bench.test.zone"
nsd_conf "$D/nsd" "$NSD_ADDR" "$NSD_PORT" scale-nsd bench.test. bench.test.zone
nsd_run nsd "$D/nsd"
wait_until 30 "NSD to answer" answers "$NSD_ADDR" "$NSD_PORT" x.bench.test.

# start_router DB [nowait]: a dnsrouted on DB; sets T0 (its start); waits
# until it answers a control command, unless nowait.
start_router() {
	T0=$(now)
	${SCALE_ROUTER_CPUS:+taskset -c "$SCALE_ROUTER_CPUS"} "$DNSROUTED" -f -t 1 -l "$R_ADDR:$R_PORT" -s "$SOCK" -d "$1" >>"$D/dnsrouted.log" 2>&1 &
	pid_of[dnsrouted]=$!
	[ "${2:-}" = nowait ] || wait_until 30 "dnsrouted to start" ctl -c 'show settings'
}
rpid() { echo "${pid_of[dnsrouted]}"; }
stat_of() { ctl -c 'show stats' | awk -v k="$1" '$1 == k { print $2 }'; }
# The change budget's counters (show stats pace-*), "WAITS WAITED_MS
# CPU_MS", or "- - -" from a router without them.
pace_counts() {
	ctl -c 'show stats' | awk '$1 == "pace-waits" { w = $2 }
	    $1 == "pace-waited-ms" { m = $2 } $1 == "pace-cpu-ms" { c = $2 }
	    END { if (w == "") print "- - -"; else print w, m, c }'
}
# pace_delta "BEFORE" "AFTER": what one change added to them.
pace_delta() {
	echo "$1 $2" | awk '$1 == "-" { print "pace_waits - pace_waited_ms - pace_cpu_ms -"; exit }
	    { printf "pace_waits %d pace_waited_ms %d pace_cpu_ms %d\n", $4 - $1, $5 - $2, $6 - $3 }'
}
# Every pattern compiled (show stats), and those the queries tried often
# JIT-compiled: the router is as fast as it gets.
compiled() {
	[ "$(stat_of routes-pending)" = 0 ] && [ "$(stat_of routes-jit-wanted)" = 0 ]
}

# max_qps FILE: a 3 s max UDP load; prints qps.
max_qps() {
	# shellcheck disable=SC2086 # flags
	timeout -k 5 40 "$DNSPERF" -s "$R_ADDR" -p "$R_PORT" -d "$1" -l 3 $MAX_FLAGS \
	    >"$RAW/scale-max.txt" 2>&1 || true
	awk '/Queries per second/ { printf "%.0f", $4 }' "$RAW/scale-max.txt"
}

# ---- 100,000 routes

part_routes() {
	local db=$D/routes.db db1=$D/one.db db10k=$D/10k.db t c0 c1 r qf=$D/zq.txt i
	log "routes: $NROUTES routes in one batch"
	{
		echo "pool add main"
		echo "backend add ns1 $NSD_ADDR:$NSD_PORT pool main"
		$GEN zroutes "$NROUTES" 0 main "$D/z.only"
		cat "$D/z.only"
	} >"$D/routes.batch"
	start_router "$db"
	c0=$(cpu_s "$(rpid)")
	t=$(now)
	/usr/bin/time -f '%U %S' -o "$D/ctl.time" "$DNSROUTECTL" -s "$SOCK" -q -f "$D/routes.batch" >/dev/null
	put routes.n "$NROUTES"
	put routes.batch_s "$(elapsed "$t")"
	put routes.batch_daemon_cpu_s "$(sub "$(cpu_s "$(rpid)")" "$c0")"
	put routes.batch_ctl_cpu_s "$(awk '{ printf "%.2f", $1 + $2 }' "$D/ctl.time")"
	put routes.rss_batch_mib "$(rss_mib "$(rpid)")"
	wait_until 60 "the background compilation" compiled
	put routes.rss_mib "$(rss_mib "$(rpid)")"
	log "routes: batch $(grep batch_s "$OUT" | cut -f2) s, RSS $(rss_mib "$(rpid)") MiB"
	t=$(now)
	ctl -c 'show routes' >"$RAW/scale-show-routes.txt"
	put routes.show_s "$(elapsed "$t")"
	t=$(now)
	ctl -c export >"$D/export.conf"
	put routes.export_s "$(elapsed "$t")"
	t=$(now)
	ctl -f "$D/export.conf" --replace >"$RAW/scale-replace.txt"
	put routes.replace_noop_s "$(elapsed "$t")"
	stop dnsrouted
	# The restart: from the exec to the first right answer to a name of
	# the last route, asked every 5 ms by a prober started before.
	coproc PROBE { $GEN firstanswer "$R_ADDR" "$R_PORT" \
	    "a.z$(printf %06d $((NROUTES - 1))).bench.test." 30; }
	read -r _ <&"${PROBE[0]}"
	start_router "$db" nowait
	read -r t <&"${PROBE[0]}" || { echo "scale: no answer after the restart" >&2; exit 1; }
	# Its CPU by then (all threads; the background compilation has begun
	# too): what the load on the machine does not change.
	put routes.ready_cpu_s "$(cpu_s "$(rpid)")"
	wait "$PROBE_PID" || true
	wait_until 30 "dnsrouted to start" ctl -c 'show settings'
	put routes.ready_s "$(echo "$t $T0" | awk '{ printf "%.3f", $1 - $2 }')"
	wait_until 60 "the background compilation" compiled
	put routes.rss_restart_mib "$(rss_mib "$(rpid)")"
	log "routes: serving $(grep 'ready_s' "$OUT" | cut -f2) s after the restart ($(grep ready_cpu_s "$OUT" | cut -f2) s of CPU)"
	stop dnsrouted
	# The same routes' first 10,000, and one route for them all.
	start_router "$db10k"
	{ head -n 2 "$D/routes.batch"; head -n 10000 "$D/z.only"; } >"$D/r10k.batch"
	ctl -q -f "$D/r10k.batch" >/dev/null
	stop dnsrouted
	start_router "$db1"
	ctl -q -c "pool add main" >/dev/null
	ctl -q -c "backend add ns1 $NSD_ADDR:$NSD_PORT pool main" >/dev/null
	ctl -q -c "route add '\.bench\.test\.\$' pool main" >/dev/null
	wait_until 30 "the backend up" all_up 1
	stop dnsrouted
	# Names of the first 10,000 routes: 100,000 of them, asked again and
	# again; 500,000 more, each asked once in a 3 s run (every query a
	# decision-cache miss); and others for the warm-up.
	$GEN zqueries 100000 10000 "$qf"
	$GEN zqueries 500000 10000 "$D/zu.txt" 17
	$GEN zqueries 200000 10000 "$D/zw.txt" 18
	for i in $(seq "$QROUNDS"); do
		for r in one 10k all; do
			case $r in
			one) start_router "$db1" ;;
			10k) start_router "$db10k" ;;
			all) start_router "$db" ;;
			esac
			wait_until 30 "the backend up" all_up 1
			# As fast as it gets: the background compilation done,
			# then 200,000 other names once each, so that each of
			# the 10,000 routes' patterns is tried 20 times (over
			# 16: hot), and their JIT code made.
			wait_until 60 "the background compilation" compiled
			# shellcheck disable=SC2086 # flags
			timeout -k 5 60 "$DNSPERF" -s "$R_ADDR" -p "$R_PORT" \
			    -d "$D/zw.txt" -n 1 $MAX_FLAGS >/dev/null 2>&1 || true
			wait_until 30 "the JIT code of the patterns used" compiled
			put "routes.qps_$r.$i" "$(max_qps "$qf")"
			put "routes.qps_${r}_unique.$i" "$(max_qps "$D/zu.txt")"
			log "routes: round $i, $r: $(grep "qps_$r\.$i" "$OUT" | cut -f2) qps, unique names $(grep "qps_${r}_unique\.$i" "$OUT" | cut -f2)"
			stop dnsrouted
		done
	done
}

# ---- changes under load

# tasks PID: a line a thread, "TID CPU_NS WAIT_NS RUNS" (schedstat: time
# on a CPU, time runnable but waiting for one, times it was given one).
tasks() {
	local t
	for t in /proc/"$1"/task/*; do
		read -r a b c <"$t/schedstat" 2>/dev/null && echo "${t##*/} $a $b $c"
	done
}
# threads_delta PID BEFORE AFTER: what the change cost the router's
# threads: the main thread's CPU (ms), the other non-worker threads',
# and the worker's (the thread other than main with the most CPU) CPU,
# time waiting for a CPU (ms) and times it got one (each wake-up for a
# query, mostly: the mean wait is how long a query waits for the CPU).
threads_delta() {
	awk -v main="$1" 'NR == FNR { c0[$1] = $2; w0[$1] = $3; n0[$1] = $4; next }
	{ c = $2 - c0[$1]; w = $3 - w0[$1]; tot[$1] = $2
	  if ($1 == main) { mc = c; mw = w } else { oc[$1] = c; ow[$1] = w; on[$1] = $4 - n0[$1] } }
	END { best = ""; for (t in oc) if (best == "" || tot[t] > tot[best]) best = t
	  rest = 0; for (t in oc) if (t != best) rest += oc[t]
	  printf "main_cpu_ms %.1f main_wait_ms %.1f worker_cpu_ms %.1f worker_wait_ms %.1f worker_runs %d other_cpu_ms %.1f\n",
	      mc / 1e6, mw / 1e6, oc[best] / 1e6, ow[best] / 1e6, on[best], rest / 1e6 }' "$2" "$3"
}

# From a change's start to a quarter second after its end (the window
# report.py cuts), the rig itself starts no process: on this VM a fork
# and exec cost 8-12 ms of CPU at load 15-20 (100 `x=$(date +%s.%N)`:
# 1.2 s of CPU; 100 x=$EPOCHREALTIME: 0.01 s), on the CPUs the load
# shares, and the control (no change) paid them as well, so its
# during/before ratio was above 1.  So the clock, the pauses, the CPU
# counts are bash builtins there.
CLK_TCK=$(getconf CLK_TCK)
# stamp VAR: the wall time (s.us), no process started.
stamp() { printf -v "$1" '%s' "${EPOCHREALTIME/,/.}"; }
# pause SECONDS: sleep without a process (a read that times out on a FIFO
# no one writes; part_change opens PAUSE_FD).
pause() { read -r -t "$1" -u "$PAUSE_FD" _ || true; }
# children_cpu VAR: the CPU (user + system, ms) of this shell's children
# it waited for: before and after a change, what its client (dnsroutectl)
# took of the CPUs the load shares.
children_cpu() {
	local st fields
	read -r st <"/proc/$$/stat"
	read -r -a fields <<<"${st##*) }"
	printf -v "$1" '%d' $(( (fields[13] + fields[14]) * 1000 / CLK_TCK ))
}

# change_run NAME ROUND COMMAND...: a dnsperf load at QHALF qps and the
# latency probe (a query every ms on its own socket: latprobe.c), COMMAND
# run after BEFORE s (11: so that a change of up to 2.25 s has 4 windows as long
# before it), both stopped (SIGINT: they report) 2 s after the change;
# the window the change ran in, and each one's outcome.  With
# SCALE_SCHED=1 a perf sched trace covers the run, and schedwho.py tells
# who held the CPU while the query path waited for one
# (RAW/scale-sched-NAME-ROUND.txt; the trace itself is not kept).
change_run() {
	local name=$1 round=$2 f=$RAW/scale-change-$1-$2.txt t0 t1 p pp ps= l0 off cc0 cc1 rp pc0 pc1
	shift 2
	# Before the load: a process (dnsroutectl) is no part of a window.
	pc0=$(pace_counts)
	if [ "${SCALE_SCHED:-0}" = 1 ]; then
		rm -f "$D/sched.data"
		perf sched record -k CLOCK_MONOTONIC -B -o "$D/sched.data" \
		    -- sleep 60 >/dev/null 2>&1 &
		ps=$!
		wait_until 30 "perf sched to start" test -s "$D/sched.data"
		sleep 0.5
	fi
	timeout -k 5 300 "$DNSPERF" -s "$R_ADDR" -p "$R_PORT" -d "$D/cq.txt" -c 8 -q 500 \
	    -Q "$QHALF" -S 1 -v -l 240 >"$f" 2>&1 &
	p=$!
	"$LATPROBE" "$R_ADDR" "$R_PORT" probe.latprobe.bench.test. 1000 240 \
	    >"$f.probe" 2>&1 &
	pp=$!
	# Stopped at an abort too (procs.sh), not left running.
	pid_of[load]=$p pid_of[probe]=$pp
	rp=${pid_of[dnsrouted]}
	# No process started from here to the end of the window but the
	# change's own (see stamp).
	pause $((BEFORE - 2))
	tasks "$rp" >"$D/tasksb"
	pause 2
	tasks "$rp" >"$D/tasks0"
	read -r l0 _ </proc/loadavg
	children_cpu cc0
	stamp t0
	"$@" >>"$D/change.log" 2>&1
	stamp t1
	children_cpu cc1
	tasks "$rp" >"$D/tasks1"
	pause 2
	tasks "$rp" >"$D/tasks2"
	kill -INT "$p" "$pp"
	wait "$p" || true
	wait "$pp" || true
	unset 'pid_of[load]' 'pid_of[probe]'
	pc1=$(pace_counts)
	if [ -n "$CTLPIPE_OUT" ]; then
		# ctlpipe.py's own count, from its signal on.
		cat "$CTLPIPE_OUT" >>"$D/change.log"
		cc0=0 cc1=$(awk '/ms of CPU/ { print $3 }' "$CTLPIPE_OUT")
		CTLPIPE_OUT=
	fi
	put "change.$name.window.$round" "$t0 $t1"
	put "change.$name.result.$round" "$($REPORT window "$f" "$t0" "$t1" "$QHALF")"
	put "change.$name.probe.$round" "$($REPORT probe "$f.probe" "$t0" "$t1")"
	put "change.$name.threads.$round" "$(threads_delta "$(rpid)" "$D/tasks0" "$D/tasks1") load $l0 client_cpu_ms $((cc1 - cc0))"
	put "change.$name.before.$round" "$(threads_delta "$(rpid)" "$D/tasksb" "$D/tasks0")"
	put "change.$name.after.$round" "$(threads_delta "$(rpid)" "$D/tasks1" "$D/tasks2")"
	put "change.$name.paced.$round" "$(pace_delta "$pc0" "$pc1")"
	grep -v '^> ' "$f" >"$f.tmp" || true
	mv "$f.tmp" "$f"
	if [ -n "$ps" ]; then
		kill -INT "$ps"
		wait "$ps" || true
		# Wall time to CLOCK_MONOTONIC, the trace's clock.
		off=$($PY -c 'import time; print(time.time() - time.monotonic())')
		$PY "$HERE/schedwho.py" "$D/sched.data" \
		    "$(subus "$t0" "$off")" "$(subus "$t1" "$off")" "$(rpid)" \
		    >"$RAW/scale-sched-$name-$round.txt" 2>&1 || true
		rm -f "$D/sched.data"
	fi
	log "change: $name in $(sub "$t1" "$t0") s: $(grep "change.$name.result.$round" "$OUT" | cut -f2); probe: $(grep "change.$name.probe.$round" "$OUT" | cut -f2); $(grep "change.$name.threads.$round" "$OUT" | cut -f2); $(grep "change.$name.paced.$round" "$OUT" | cut -f2)"
}

# ctl_ready GAP_MS COMMAND...: ctlpipe.py started with each COMMAND 100
# times, in turn, over one control connection (GAP_MS 0: each right after
# the reply before; else one every GAP_MS), connected and waiting for
# ctl_go: a command each with its round trip, and neither 200 dnsroutectl
# processes' start-up CPU nor the interpreter's in the change's window.
ctl_ready() {
	local gap=$1 i c
	shift
	for i in $(seq 100); do
		for c in "$@"; do echo "$c"; done
	done >"$D/ctl.cmds"
	CTLPIPE_OUT=$D/ctlpipe.out
	$PY "$HERE/ctlpipe.py" -w "$SOCK" "$gap" <"$D/ctl.cmds" >"$CTLPIPE_OUT" 2>&1 &
	CTLPIPE=$!
	pid_of[ctlpipe]=$CTLPIPE
	wait_until 30 "ctlpipe.py to connect" grep -q '^ready' "$D/ctlpipe.out"
}
# drain_cold: 100 drain/undrain pairs through a ctlpipe.py started then
# (as this rig did before ctl_ready): what its start-up adds.
drain_cold() {
	local i
	for i in $(seq 100); do
		echo 'backend drain b1'
		echo 'backend undrain b1'
	done | $PY "$HERE/ctlpipe.py" "$SOCK"
}
# forks_as_before: the processes the rig started in the window of a 1 s
# control before it used builtins there (noneforks).
forks_as_before() {
	local x
	sleep 1
	x=$(now)
	x=$(rpid)
	sleep 0.01
	: "$x"
}
# ctl_go: the commands ctl_ready prepared, sent (no process started:
# change_run reads ctlpipe.py's output after the window).
ctl_go() {
	kill -USR1 "$CTLPIPE"
	wait "$CTLPIPE" || return 1
	unset 'pid_of[ctlpipe]'
}

# SCALE_CHANGE_BUDGET: the setting change-cpu-budget, in both files a
# --replace goes between (it sets what its file omits back to the
# default); unset, the router's default (and a router without it works).
budget_line() {
	if [ -n "${SCALE_CHANGE_BUDGET:-}" ]; then
		echo "set change-cpu-budget $SCALE_CHANGE_BUDGET"
	fi
}

part_change() {
	local db=$D/change.db q r
	mkfifo "$D/pause"
	exec {PAUSE_FD}<>"$D/pause"
	CTLPIPE_OUT=
	log "change: $NCHANGE routes, 4 backends; nice $(nice), $BEFORE s of load before each change"
	put change.nice "$(nice)"
	put change.before_s "$BEFORE"
	{
		echo "pool add main"
		for q in 1 2 3 4; do
			echo "backend add b$q $NSD_ADDR:$NSD_PORT pool main interval 1 timeout 500"
		done
		# A pool no route names: drainidle's (its drains move no load).
		echo "pool add idle"
		echo "backend add i1 $NSD_ADDR:$NSD_PORT pool idle interval 1 timeout 500"
		$GEN zroutes "$NCHANGE" 0 main "$D/a.only"
		cat "$D/a.only"
		echo "route add '\\.bench\\.test\\.\$' pool main comment catch-all"
		budget_line
	} >"$D/a.conf"
	# The same with 10,000 other routes: what --replace is to make.
	$GEN zroutes "$NCHANGE" 500000 main "$D/b.only"
	{
		head -n 7 "$D/a.conf"
		cat "$D/b.only"
		grep -F 'comment catch-all' "$D/a.conf"
		budget_line
	} >"$D/b.conf"
	$GEN zqueries 200000 "$NCHANGE" "$D/cq.txt"
	start_router "$db"
	ctl -q -f "$D/a.conf" >/dev/null
	wait_until 30 "5 backends up" all_up 5
	wait_until 60 "the background compilation" compiled
	QMAX=$(max_qps "$D/cq.txt")
	QHALF=${SCALE_CHANGE_QPS:-$((QMAX / 2))}
	put change.routes "$NCHANGE"
	put change.qps_max "$QMAX"
	put change.qps "$QHALF"
	log "change: max $QMAX qps, loads at $QHALF${SCALE_ROUTER_CPUS:+, dnsrouted on CPU $SCALE_ROUTER_CPUS}"
	put change.cpus "${SCALE_ROUTER_CPUS:-any}"
	put change.budget "${SCALE_CHANGE_BUDGET:-default}"
	# Several rounds of each: the rig's own p99 moves a lot from one
	# second to the next.
	GAP=${SCALE_CTL_GAP_MS:-5}
	q=a
	# Round by round, each kind in turn: a kind is compared with the
	# others under the same load on the machine.
	for r in $(seq "$NROUNDS"); do
		for k in $KINDS; do
			case $k in
			replace)
				if [ $q = a ]; then q=b; else q=a; fi
				change_run replace $r ctl -q -f "$D/$q.conf" --replace ;;
			batch)
				$GEN zroutes "$NCHANGE" $((600000 + r * NCHANGE)) main "$D/more.batch"
				change_run batch $r ctl -q -f "$D/more.batch" ;;
			drain)
				# 100 drain/undrain pairs in a row.
				ctl_ready 0 'backend drain b1' 'backend undrain b1'
				change_run drain "$r" ctl_go ;;
			draincold)
				change_run draincold "$r" drain_cold ;;
			drainp)
				ctl_ready "$GAP" 'backend drain b1' 'backend undrain b1'
				change_run drainp "$r" ctl_go ;;
			drainidle)
				ctl_ready "$GAP" 'backend drain i1' 'backend undrain i1'
				change_run drainidle "$r" ctl_go ;;
			show)
				ctl_ready "$GAP" 'show settings' 'show settings'
				change_run show "$r" ctl_go ;;
			none)
				# The control: no change at all, measured the
				# same way (a second without one in its place),
				# for the rig's own noise beside them.
				change_run none "$r" pause 1 ;;
			noneforks)
				# The control as this rig ran it before stamp
				# and pause: a sleep, then a date, a subshell
				# and a sleep started within the window.
				change_run noneforks "$r" forks_as_before ;;
			*)
				echo "scale: unknown change kind $k" >&2; exit 2 ;;
			esac
		done
	done
	cp "$D/change.log" "$RAW/scale-change.log"
	stop dnsrouted
}

# ---- health checks at scale

part_health() {
	local db=$D/health.db i c0 c1 t p
	log "health: 2,500 backends added at once"
	{
		echo "pool add main"
		for i in $(seq 2500); do
			echo "backend add h$i $NSD_ADDR:$NSD_PORT pool main interval 1 timeout 500"
		done
	} >"$D/h.batch"
	start_router "$db"
	t=$(now)
	ctl -q -f "$D/h.batch" >/dev/null
	wait_until 30 "2,500 backends up" all_up 2500 || true
	put health.first_up_s "$(elapsed "$t")"
	put health.first_failed "$(grep -c 'is down: .*(first check)' "$D/dnsrouted.log" || true)"
	for i in $(seq 1001 2500); do echo "backend del h$i"; done >"$D/hdel.batch"
	ctl -q -f "$D/hdel.batch" >/dev/null
	sleep 3
	log "health: 1,000 backends every second for $HSECS s"
	: >"$D/lat.txt"
	(
		end=$(( $(date +%s) + HSECS ))
		k=0
		while [ "$(date +%s)" -lt "$end" ]; do
			k=$((k + 1))
			case $((k % 20)) in
			5) cmd='backend drain h1' ;;
			15) cmd='backend undrain h1' ;;
			*) cmd='show settings' ;;
			esac
			t=$(now)
			ctl -q -c "$cmd" >/dev/null || echo "failed: $cmd" >>"$D/lat.txt"
			elapsed "$t" >>"$D/lat.txt"
			echo >>"$D/lat.txt"
			sleep 0.05
		done
	) &
	p=$!
	c0=$(cpu_s "$(rpid)")
	sleep "$HSECS"
	c1=$(cpu_s "$(rpid)")
	wait "$p" || true
	put health.backends 1000
	put health.cpu_pct "$(echo "$c1 $c0 $HSECS" | awk '{ printf "%.1f", 100 * ($1 - $2) / $3 }')"
	put health.ctl "$($REPORT latencies "$D/lat.txt")"
	put health.ctl_failed "$(grep -c failed "$D/lat.txt" || true)"
	stop dnsrouted
}

for part in $PARTS; do
	case $part in
	routes) part_routes ;;
	change) part_change ;;
	health) part_health ;;
	*) echo "scale: unknown part $part" >&2; exit 2 ;;
	esac
done
put scale.seconds $(( $(date +%s) - START ))
stop nsd
