#!/bin/bash
# demo.sh BUILDDIR: the seed article, replayed for a person to watch (make demo).
#
# One zone, example., is cut by the routes into two slices (a-b names, c-d
# names, the apex in both) with `zone split`; two NSD servers serve a slice
# each, dnsrouted sits in front with a route per half and one for the apex,
# and `zone check query` proves every name answers where it is routed.
# Every dnsroutectl and dig command is printed before it runs.  Then one
# NSD is stopped, the router notices, the NSD comes back and so does the
# backend, by itself.  Everything started here is stopped on exit, by PID.
#
# DEMO_PAUSE=SECONDS between steps (default 1; 0 for none).
# DEMO_ADDR=127.x.y  the /24 on loopback to use (default 127.53.0).
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILDDIR" >&2
	exit 2
fi
BUILDDIR=$(cd "$1" && pwd)
DNSROUTED=$BUILDDIR/daemon/dnsrouted
DNSROUTECTL=$BUILDDIR/ctl/dnsroutectl
export DNSROUTE_LIBEXECDIR=$BUILDDIR/ctl	# its zone helper
NSD=$(command -v nsd || echo /usr/sbin/nsd)
PAUSE=${DEMO_PAUSE:-1}
NET=${DEMO_ADDR:-127.53.0}
ROUTER=$NET.1 ROUTER_PORT=5299
AB=$NET.2 AB_PORT=5300
CD=$NET.3 CD_PORT=5301

for exe in "$DNSROUTED" "$DNSROUTECTL" "$NSD"; do
	[ -x "$exe" ] || { echo "demo: $exe is missing (make first?)" >&2; exit 1; }
done
command -v dig >/dev/null || { echo "demo: dig is missing (apt-get install bind9-dnsutils)" >&2; exit 1; }

D=$(mktemp -d "${TMPDIR:-/tmp}/dnsroute-demo-XXXXXX")
SOCK=$D/ctl.sock
PROCS_LABEL=demo
# shellcheck source=lib/procs.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/procs.sh"

# ---- presentation

if [ -t 1 ]; then
	B=$(printf '\033[1m') G=$(printf '\033[32m') N=$(printf '\033[0m')
else
	B='' G='' N=''
fi

say() {
	printf '\n%s# %s%s\n' "$G" "$*" "$N"
	[ "$PAUSE" = 0 ] || sleep "$PAUSE"
}

# Show a command as typed, then run it.
run() {
	printf '%s%% %s%s\n' "$B" "$*" "$N"
	eval "$*"
}

ctl() {
	run dnsroutectl "$@"
}

dnsroutectl() {
	"$DNSROUTECTL" -s "$SOCK" "$@"
}

dig() {
	command dig +time=2 +tries=1 "$@"
}

health_of() {
	"$DNSROUTECTL" -s "$SOCK" --json -c 'show backends' | /usr/bin/python3 -c '
import json, sys
for r in json.load(sys.stdin)["rows"]:
    if r["name"] == sys.argv[1]:
        print(r["health"])' "$1"
}

is_health() {	# is_health BACKEND STATE
	[ "$(health_of "$1")" = "$2" ]
}

answers_soa() {	# answers_soa ADDR PORT
	[ -n "$(command dig @"$1" -p "$2" +time=1 +tries=1 +short example. SOA 2>/dev/null)" ]
}


# ---- the zone

zone() {
	local l i n
	cat <<-EOF
	\$ORIGIN example.
	\$TTL 300
	@ IN SOA ns1.example. hostmaster.example. 2024010101 3600 600 86400 300
	@ IN NS ns1.example.
	@ IN TXT "the apex"
	ns1 IN A 127.0.0.1
	EOF
	for l in a b c d; do
		case $l in a) n=1 ;; b) n=2 ;; c) n=3 ;; d) n=4 ;; esac
		for i in $(seq 1 50); do
			echo "$l$i IN A 10.$n.0.$i"
			echo "$l$i IN TXT \"txt-$l$i\""
		done
	done
}

start_nsd() {	# start_nsd NAME ADDR PORT SLICE
	local name=$1 dir=$D/$1
	mkdir -p "$dir"
	if [ ! -f "$dir/nsd.conf" ]; then
		cp "$4" "$dir/example.zone"
		nsd_conf "$dir" "$2" "$3" "$name" example. example.zone
	fi
	nsd_run "$name" "$dir"
	wait_until 10 "$name to answer" answers_soa "$2" "$3"
}

# ---- the show

say "One zone, example.: 200 names (a1-a50 ... d1-d50) and the apex, in $D/example.zone. Too big for one server, say: it will be cut in two."
zone >"$D/example.zone"
run "grep -c . $D/example.zone"

say "dnsrouted, on $ROUTER:$ROUTER_PORT (its state lives in SQLite: $D/dnsroute.db)."
printf '%s%% dnsrouted -f -l %s:%s -s %s -d %s%s\n' "$B" $ROUTER $ROUTER_PORT "$SOCK" "$D/dnsroute.db" "$N"
"$DNSROUTED" -f -l $ROUTER:$ROUTER_PORT -s "$SOCK" -d "$D/dnsroute.db" >>"$D/dnsrouted.log" 2>&1 &
pid_of[dnsrouted]=$!
wait_until 10 "dnsrouted to start" "$DNSROUTECTL" -s "$SOCK" -c 'show settings'

say "Below, dnsroutectl is short for: dnsroutectl -s $SOCK"
say "Pools, and a route per half and one for the apex."
ctl -c "'pool add ab'"
ctl -c "'pool add cd'"
ctl -c "'pool add apex policy roundrobin'"
ctl -c "\"route add '^[ab][^.]*\\.example\\.\$' pool ab comment 'a-b half'\""
ctl -c "\"route add '^[cd][^.]*\\.example\\.\$' pool cd comment 'c-d half'\""
ctl -c "\"route add '^example\\.\$' pool apex comment 'the apex, on both'\""

say "zone split cuts the zone by those routes: a file per pool, each with the apex (SOA, NS, the name server's address) so that it answers on its own. It also lists every name no route sends to a pool, and fails."
ctl -c "'zone split $D/example.zone $D/slices'" || true
say "The seed's routes forgot the name server's own name. A route for it, and again."
ctl -c "\"route add '^ns1\\.example\\.\$' pool apex comment 'the name server'\""
ctl -c "'zone split $D/example.zone $D/slices'"
run "grep -c . $D/slices/*.zone"

say "Two NSD servers: ns-ab serves ab.zone, ns-cd serves cd.zone. Both have the apex, so apex.zone needs no server of its own."
start_nsd ns-ab "$AB" $AB_PORT "$D/slices/ab.zone"
start_nsd ns-cd "$CD" $CD_PORT "$D/slices/cd.zone"
run dig @$AB -p $AB_PORT +short a1.example TXT
run "dig @$CD -p $CD_PORT a1.example TXT | grep status  # ns-cd does not have a1"

say "The backends (health-checked with id.server. CH TXT over TCP, every second here), members of their half's pool and of the apex's."
ctl -c "'backend add ns-ab $AB:$AB_PORT pool ab pool apex interval 1 fall 2 rise 1'"
ctl -c "'backend add ns-cd $CD:$CD_PORT pool cd pool apex interval 1 fall 2 rise 1'"
wait_until 10 "ns-ab up" is_health ns-ab up
wait_until 10 "ns-cd up" is_health ns-cd up
ctl -c "'show backends'"
ctl -c "'show routes'"
ctl -c "'show pools'"

say "zone check query asks every name's backends for it: each name is served where its route sends it."
ctl -c "'zone check $D/example.zone query'"

say "Queries through the router go to the server that has the name."
run dig @$ROUTER -p $ROUTER_PORT +noall +answer a1.example TXT
run dig @$ROUTER -p $ROUTER_PORT +noall +answer c1.example TXT
run dig @$ROUTER -p $ROUTER_PORT +noall +answer +tcp d7.example A
ctl -c "'route test b42.example. TXT'"

say "The apex is on both: round robin between them (NSID says which answered)."
run dig @$ROUTER -p $ROUTER_PORT +noall +answer example SOA
for i in 1 2 3 4; do
	run "dig @$ROUTER -p $ROUTER_PORT +nsid example TXT | grep NSID"
done

say "A name no route matches gets SERVFAIL; zone transfers are refused."
run "dig @$ROUTER -p $ROUTER_PORT zzz.example A | grep status"
run "dig @$ROUTER -p $ROUTER_PORT +tcp example AXFR | grep -E 'status|failed' || true"

say "Stop ns-cd (the article's docker stop). The health checks notice."
run kill ${pid_of[ns-cd]}
wait "${pid_of[ns-cd]}" 2>/dev/null || true
unset 'pid_of[ns-cd]'
wait_until 15 "ns-cd down" is_health ns-cd down
ctl -c "'show backends'"
run "dig @$ROUTER -p $ROUTER_PORT c1.example TXT | grep status"
for i in 1 2; do
	run "dig @$ROUTER -p $ROUTER_PORT +nsid example TXT | grep NSID"
done

say "Start ns-cd again. Unlike the seed, nobody has to re-add it: it comes back by itself."
printf '%s%% nsd -d -c %s%s\n' "$B" "$D/ns-cd/nsd.conf" "$N"
start_nsd ns-cd "$CD" $CD_PORT "$D/slices/cd.zone"
wait_until 15 "ns-cd up" is_health ns-cd up
ctl -c "'show backends'"
run dig @$ROUTER -p $ROUTER_PORT +noall +answer c1.example TXT
for i in 1 2; do
	run "dig @$ROUTER -p $ROUTER_PORT +nsid example TXT | grep NSID"
done
ctl -c "'show health ns-cd last 5'" || true
ctl -c "'show stats'"

say "That was the seed article. Stopping everything this demo started."
