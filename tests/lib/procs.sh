# procs.sh: what the shell scripts under tests/ share: starting and stopping
# only the processes they started (by PID, never by name), waiting for a
# condition with a deadline, and an NSD configuration for loopback.
# Source it after setting PROCS_LABEL (for messages) and D (the scratch
# directory, removed at a clean exit, kept with the logs otherwise).

declare -A pid_of=()

stop_pid() {	# stop_pid PID: TERM, up to 10 s, then KILL
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

stop() {	# stop NAME: a process recorded in pid_of
	if [ -n "${pid_of[$1]:-}" ]; then
		stop_pid "${pid_of[$1]}"
		unset "pid_of[$1]"
	fi
}

procs_cleanup() {
	local rc=$? name
	trap - EXIT INT TERM
	for name in "${!pid_of[@]}"; do
		stop_pid "${pid_of[$name]}"
	done
	if [ $rc -ne 0 ]; then
		echo "$PROCS_LABEL failed (exit $rc); logs kept in $D" >&2
		tail -n 20 "$D"/*.log >&2 2>/dev/null || true
	else
		rm -rf "$D"
	fi
	exit $rc
}
trap procs_cleanup EXIT
trap 'exit 130' INT TERM

# wait_until SECONDS WHAT COMMAND...: poll until COMMAND succeeds.
wait_until() {
	local deadline=$(( $(date +%s) + $1 )) what=$2
	shift 2
	until "$@" >/dev/null 2>&1; do
		if [ "$(date +%s)" -ge $deadline ]; then
			echo "$PROCS_LABEL: timed out waiting for $what" >&2
			return 1
		fi
		sleep 0.05
	done
}

# nsd_run NAME DIR: start the NSD of DIR/nsd.conf (see nsd_conf) in the
# foreground, logging to $D/NAME.log, its PID in pid_of[NAME]; $NSD if set.
nsd_run() {
	"${NSD:-nsd}" -d -c "$2/nsd.conf" >>"$D/$1.log" 2>&1 &
	pid_of[$1]=$!
}

# nsd_conf DIR ADDR PORT IDENTITY ZONE ZONEFILE: an NSD that runs as us
# in the foreground, answers id.server (health checks) and NSID with
# IDENTITY and does not rate-limit (its default of 200 qps would be the
# benchmark).
nsd_conf() {
	cat >"$1/nsd.conf" <<-EOF
	server:
	    ip-address: $2@$3
	    port: $3
	    username: ""
	    chroot: ""
	    pidfile: "$1/nsd.pid"
	    zonesdir: "$1"
	    database: ""
	    xfrdfile: "$1/xfrd.state"
	    zonelistfile: "$1/zone.list"
	    verbosity: 1
	    server-count: 1
	    do-ip6: no
	    hide-identity: no
	    identity: "$4"
	    nsid: "ascii_$4"
	    rrl-ratelimit: 0
	    tcp-count: 1000
	remote-control:
	    control-enable: no
	zone:
	    name: "$5"
	    zonefile: "$6"
	EOF
}
