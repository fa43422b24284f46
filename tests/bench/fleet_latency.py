#!/usr/bin/python3
"""fleet_latency.py BUILDDIR [ROUNDS]: how long a change made on one router
of a fleet takes to answer through the others (make bench-fleet).

Starts etcd (FLEET_MEMBERS members, default 3), an NSD serving
split.test. and three dnsrouted -e on loopback (with the integration
tests' helpers); router A seeds the fleet with a pool and the NSD backend,
B and C join.  Changes are sent on A's control socket (no dnsroutectl
start-up in the figures), and their names asked through B and C every
millisecond:

  - one change, ROUNDS times (default 10): `route add` for a new name,
    from the moment A answered to the moment B and C both answer it;
  - 1,000 changes one after the other, each its own `route add` (its
    own compare-and-swap): from the first sent to the last name
    answering on B and C, and from A's last answer to that;
  - one batch of 1,000 routes (begin, route add x 1,000, commit): from
    the commit's answer to the last name answering on B and C;
  - etcd away (every member stopped): how long a change on A takes to be
    refused, and the queries asked through A, B and C meanwhile (one a
    millisecond for 2 s, none may fail); etcd back: from it answering
    again (every member ready) to A taking a change again, and to B and C
    answering through it;
  - a router killed mid-change: B gets SIGKILL the moment A's commit of
    a second 1,000-route batch returns (B has it to apply, or is applying
    it); from B's restart (process start included) to B answering the
    batch's last name.

Prints medians, minimums and maximums.

With FLEET_ROUTES=N (e.g. 10000) it measures instead what one change costs
at that size (make bench-fleet FLEET_ROUTES=10000): a fleet of two routers
(A seeds N routes, B joins; FLEET_MEMBERS defaults to 1 here), then
FLEET_ADDS (default 100) `route add` on A one after the other, each timed
from sending it to A's answer; A's and B's CPU time over them (from
/proc), and the same adds on a standalone router holding the same N routes,
so what the fleet adds shows.  FLEET_PERF=FILE records A meanwhile with
`perf record --call-graph fp` (FLEET_PERF_CG=dwarf: another
kind), stopped by its PID.
"""

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'integration'))

import dns.exception  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402

import dnsroute_test as dt  # noqa: E402

N = 1000


def zone(rounds):
    lines = ['$ORIGIN split.test.', '$TTL 300',
             '@ IN SOA ns1 hostmaster 1 3600 600 86400 300', '@ IN NS ns1',
             'ns1 IN A 127.0.0.1']
    for tag, n in (('c', rounds), ('s', N), ('t', N), ('u', 2), ('k', N)):
        lines += ['%s%04d IN A 10.9.%d.%d' % (tag, i, i // 250, i % 250 + 1)
                  for i in range(n)]
    return '\n'.join(lines) + '\n'


class Ctl(dt.Session):
    """A control connection whose every command must succeed."""

    def __init__(self, router):
        super().__init__(router)
        self.s.settimeout(120)

    def final(self):
        line = super().final()
        if not line.startswith('0000'):
            raise RuntimeError(line)
        return line

    def run(self, line):
        self.send(line)
        return self.final()


def route(name):
    return "route add '^%s\\.split\\.test\\.$' pool p" % name


def answered(router, name, sock):
    q = dns.message.make_query(name + '.split.test.', 'A')
    try:
        r = dns.query.udp(q, router.host, port=router.port, timeout=0.2, sock=sock)
    except dns.exception.Timeout:
        return False
    return r.rcode() == dns.rcode.NOERROR and len(r.answer) > 0


def until_all(routers, socks, name, limit=60.0):
    """The moment (monotonic) at which every router answered name."""
    end = time.monotonic() + limit
    pending = list(range(len(routers)))
    while time.monotonic() < end:
        pending = [i for i in pending if not answered(routers[i], name, socks[i])]
        if not pending:
            return time.monotonic()
        time.sleep(0.001)
    raise RuntimeError('%s never answered everywhere' % name)


def ms(v):
    return '%.1f' % (v * 1000)


def report(what, vals):
    print('%-52s median %8s ms   min %8s   max %8s   (n=%d)' % (
        what, ms(statistics.median(vals)), ms(min(vals)), ms(max(vals)), len(vals)))


def stop_all(started):
    """Stop what was started, last first, by PID."""
    for p in reversed(started):
        try:
            p.stop()
        except AssertionError as e:
            print('stop: %s' % e, file=sys.stderr)
    dt._kill_leftovers()


def cpu_s(pid):
    """User and system CPU seconds of pid so far."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def seed(ctl, n, tag):
    """n routes in one batch, pipelined on one connection."""
    ctl.run('begin')
    for i in range(n):
        ctl.send(route('%s%05d' % (tag, i)))
        if i % 500 == 499:
            for _ in range(500):
                ctl.final()
    for _ in range(n % 500):
        ctl.final()
    ctl.run('commit')


def timed_adds(ctl, n, tag, pids):
    """n route adds one by one: their times (s) and each pid's CPU (s)."""
    c0 = [cpu_s(p) for p in pids]
    took = []
    for i in range(n):
        t0 = time.monotonic()
        ctl.run(route('%s%05d' % (tag, i)))
        took.append(time.monotonic() - t0)
    return took, [cpu_s(p) - c for p, c in zip(pids, c0)]


def etcd_put_ms(etcd, n=20, size=12000):
    """Median ms of n puts of size bytes through etcd's JSON gateway, as
    a change's chunk and head go (the wait on etcd, without a router)."""
    import base64
    import json
    import urllib.request
    url = etcd.members[0].url + '/v3/kv/put'
    body = json.dumps({'key': base64.b64encode(b'/bench/x').decode(),
                       'value': base64.b64encode(b'x' * size).decode()}).encode()
    took = []
    for _ in range(n):
        t0 = time.monotonic()
        with urllib.request.urlopen(urllib.request.Request(
                url, body, {'Content-Type': 'application/json'}), timeout=10) as r:
            r.read()
        took.append(time.monotonic() - t0)
    return took


def scale(routes):
    adds = int(os.environ.get('FLEET_ADDS', '100'))
    members = int(os.environ.get('FLEET_MEMBERS', '1'))
    work = tempfile.mkdtemp(prefix='dnsroute-fleet-scale-')
    alloc = dt.AddrAllocator().alloc
    started = []
    perf = None
    try:
        etcd = dt.Etcd(work, alloc, members).start()
        started.append(etcd)
        rs = []
        for name, extra in (('a', ['-e', etcd.urls, '-R', '-']),
                            ('b', ['-e', etcd.urls, '-R', '-']),
                            ('s', [])):
            rdir = os.path.join(work, name)
            os.makedirs(rdir)
            host, port = alloc()
            r = dt.Router(rdir, host, port, extra).start()
            started.append(r)
            rs.append(r)
        a, b, s = rs
        for r in (a, s):
            r.ok('pool add p')
            seed(Ctl(r), routes, 'r')
        a.ok('fleet join')
        dt.wait_for(lambda: 'etcd: revision' in
                    [x for x in b.rows('show fleet') if x['kind'] == 'state'][0]['detail'],
                    30)
        b.ctl('fleet join', timeout=120)
        dt.wait_for(lambda: b.stat('fleet-revision') == a.stat('fleet-revision'), 120)
        ctl, sctl = Ctl(a), Ctl(s)
        timed_adds(sctl, 5, 'w', [s.proc.pid])      # warm both alike
        timed_adds(ctl, 5, 'w', [a.proc.pid])
        dt.wait_for(lambda: b.stat('fleet-revision') == a.stat('fleet-revision'), 120)
        load = os.getloadavg()
        puts = etcd_put_ms(etcd)
        st, (st_cpu,) = timed_adds(sctl, adds, 'x', [s.proc.pid])
        if os.environ.get('FLEET_PERF'):
            perf = subprocess.Popen(['perf', 'record', '--call-graph',
                                     os.environ.get('FLEET_PERF_CG', 'fp'), '-q', '-o',
                                     os.environ['FLEET_PERF'], '-p', str(a.proc.pid)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        ft, (a_cpu, b_cpu) = timed_adds(ctl, adds, 'x', [a.proc.pid, b.proc.pid])
        if perf is not None:
            perf.send_signal(signal.SIGINT)
            perf.wait(timeout=60)
            perf = None
        t0 = time.monotonic()
        dt.wait_for(lambda: b.stat('fleet-revision') == a.stat('fleet-revision'), 120)
        b_late = time.monotonic() - t0
        print('%s; %d etcd member%s, 2 dnsrouted in a fleet + 1 standalone, '
              '%d routes, load %.2f %.2f %.2f before' % (
                  subprocess.run([dt.ETCD, '--version'], capture_output=True,
                                 text=True).stdout.split('\n')[0], members,
                  '' if members == 1 else 's', routes, *load))
        report('etcd: one 12 KB put answered', puts)
        report('standalone: route add answered', st)
        print('%-52s %8s ms a change' % ('  its CPU', ms(st_cpu / adds)))
        report('fleet A: route add answered', ft)
        print('%-52s %8s ms a change' % ('  A\'s CPU', ms(a_cpu / adds)))
        print('%-52s %8s ms a change' % ('  B\'s CPU (applying them)', ms(b_cpu / adds)))
        print('%-52s %8s ms' % ('  B caught up after A\'s last answer', ms(b_late)))
    finally:
        if perf is not None:
            perf.kill()
            perf.wait()
        stop_all(started)


def main():
    if len(sys.argv) < 2:
        sys.exit('usage: fleet_latency.py BUILDDIR [ROUNDS]')
    if os.environ.get('FLEET_ROUTES'):
        return scale(int(os.environ['FLEET_ROUTES']))
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    members = int(os.environ.get('FLEET_MEMBERS', '3'))
    work = tempfile.mkdtemp(prefix='dnsroute-fleet-bench-')
    alloc = dt.AddrAllocator().alloc
    started = []
    try:
        etcd = dt.Etcd(work, alloc, members).start()
        started.append(etcd)
        host, port = alloc()
        nsd = dt.Nsd(work, 'ns', host, port, {'split.test.': zone(rounds)}).start()
        started.append(nsd)
        routers = []
        for i in range(3):
            rdir = os.path.join(work, 'r%d' % i)
            os.makedirs(rdir)
            host, port = alloc()
            r = dt.Router(rdir, host, port, ['-e', etcd.urls, '-R', '-']).start()
            started.append(r)
            routers.append(r)
        a, b, c = routers
        a.ok('pool add p')
        a.ok('backend add ns %s pool p %s' % (nsd.endpoint, dt.BACKEND_FAST))
        a.ok('fleet join')
        for r in (b, c):
            dt.wait_for(lambda r=r: 'etcd: revision' in
                        [x for x in r.rows('show fleet') if x['kind'] == 'state'][0]['detail'],
                        10)
            r.ok('fleet join')
        for r in routers:
            r.wait_health('ns')
        others = [b, c]
        socks = [r.udp_socket() for r in others]
        ctl = Ctl(a)

        one = []
        for i in range(rounds):
            ctl.run(route('c%04d' % i))
            t0 = time.monotonic()
            one.append(until_all(others, socks, 'c%04d' % i) - t0)

        t_start = time.monotonic()
        for i in range(N):
            ctl.run(route('s%04d' % i))
        t_sent = time.monotonic()
        t_seq = until_all(others, socks, 's%04d' % (N - 1))
        for i in range(0, N, 97):
            until_all(others, socks, 's%04d' % i, limit=5)

        ctl.run('begin')
        t_begin = time.monotonic()
        for i in range(N):
            ctl.send(route('t%04d' % i))
        for i in range(N):
            ctl.final()
        ctl.run('commit')
        t_commit = time.monotonic()
        t_batch = until_all(others, socks, 't%04d' % (N - 1))

        # etcd away: every router serves its copy, changes are refused.
        etcd.stop()
        for r in routers:
            dt.wait_for(lambda r=r: r.stat('etcd-connected') == 0, 30)
        t0 = time.monotonic()
        try:
            ctl.run(route('u0000'))
            raise RuntimeError('a change was taken with etcd away')
        except RuntimeError as e:
            if 'etcd is unreachable' not in str(e):
                raise
        t_refused = time.monotonic() - t0
        asked = failed = 0
        qsocks = [r.udp_socket() for r in routers]
        end = time.monotonic() + 2
        while time.monotonic() < end:
            for i, r in enumerate(routers):
                asked += 1
                failed += not answered(r, 's%04d' % (asked % N), qsocks[i])
            time.sleep(0.001)
        for s in qsocks:
            s.close()
        t_up = time.monotonic()
        etcd.start()
        t_ready = time.monotonic()
        while True:
            try:
                ctl.run(route('u0001'))
                break
            except RuntimeError as e:
                if time.monotonic() - t_up > 60:
                    raise
                if 'etcd' not in str(e) and 'changed meanwhile' not in str(e):
                    raise
                time.sleep(0.01)
        t_taken = time.monotonic()
        t_back = until_all(others, socks, 'u0001')

        # B killed while it applies a batch made on A.
        ctl.run('begin')
        for i in range(N):
            ctl.send(route('k%04d' % i))
        for i in range(N):
            ctl.final()
        ctl.run('commit')
        b.kill9()
        t_restart = time.monotonic()
        b.start()
        bsock = b.udp_socket()
        t_b = until_all([b], [bsock], 'k%04d' % (N - 1))
        bsock.close()

        print('%s; %d etcd member%s, NSD, 3 dnsrouted on loopback' % (
            subprocess.run([dt.ETCD, '--version'], capture_output=True,
                           text=True).stdout.split('\n')[0], members,
            '' if members == 1 else 's'))
        report('one route add on A -> answered on B and C', one)
        print('%-52s %8s ms (%.1f changes a second on A)' % (
            '1,000 route adds one by one: first sent -> B and C',
            ms(t_seq - t_start), N / (t_sent - t_start)))
        print('%-52s %8s ms' % ('  A answered the last -> B and C answer it',
                                ms(t_seq - t_sent)))
        print('%-52s %8s ms (%s ms from begin)' % (
            'one 1,000-route batch: commit answered -> B and C',
            ms(t_batch - t_commit), ms(t_batch - t_begin)))
        print('%-52s %8s ms' % ('etcd away: a route add on A refused in',
                                ms(t_refused)))
        print('%-52s %8d of %d' % ('  queries through A, B, C meanwhile failed',
                                   failed, asked))
        print('%-52s %8s ms (+%s ms to B and C)' % (
            '  etcd answering again -> A takes a change',
            ms(t_taken - t_ready), ms(t_back - t_taken)))
        print('%-52s %8s ms' % ('  (etcd\'s own start, its members started -> '
                                'answering)', ms(t_ready - t_up)))
        print('%-52s %8s ms' % (
            'B killed applying a batch: restart -> B answers it',
            ms(t_b - t_restart)))
        for s in socks:
            s.close()
    finally:
        stop_all(started)


if __name__ == '__main__':
    socket.setdefaulttimeout(5)
    main()
