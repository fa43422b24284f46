# tools.sh: what the benchmark scripts run, from BUILDDIR and the system.
# Source it with BUILDDIR set.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3
GEN="$PY $HERE/gen.py"
REPORT="$PY $HERE/report.py"
DNSROUTED=$BUILDDIR/daemon/dnsrouted
DNSROUTECTL=$BUILDDIR/ctl/dnsroutectl
export DNSROUTE_LIBEXECDIR=$BUILDDIR/ctl	# its zone helper
FLOOR=$BUILDDIR/tests/bench/floor_relay
FLOOR_TCP=$BUILDDIR/tests/bench/floor_tcp
NSD=$(command -v nsd || echo /usr/sbin/nsd)
DNSPERF=$(command -v dnsperf || echo /usr/bin/dnsperf)

# backends_up: how many backends report health up; all_up N: exactly N.
# They ask through ctl, which each script defines for its own router.
backends_up() {
	ctl --json -c 'show backends' | $PY -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin)["rows"] if r["health"] == "up"))'
}
all_up() {
	[ "$(backends_up)" = "$1" ]
}
