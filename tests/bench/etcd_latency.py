#!/usr/bin/python3
"""etcd_latency.py BUILDDIR [ROUNDS]: how long a registration takes to reach
the query path (make bench-etcd).

Starts a one-member etcd, an NSD serving split.test. and dnsrouted -e on
loopback (with the integration tests' helpers), then ROUNDS times (default
10): `etcdctl put /dnsrouter/bN ADDR,REGEX` for a name nothing answers yet,
and queries that name through the router every millisecond until the new
backend answers; then `etcdctl del` and queries until the route is gone
(SERVFAIL, the default action).  Each time is measured from the moment
etcdctl returned (the write is committed) and from the moment it was
started (etcdctl's own start-up and etcd's commit included).  Prints the
median, minimum and maximum of each.
"""

import os
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


def zone(n):
    lines = ['$ORIGIN split.test.', '$TTL 300',
             '@ IN SOA ns1 hostmaster 1 3600 600 86400 300', '@ IN NS ns1',
             'ns1 IN A 127.0.0.1']
    lines += ['b%d IN A 10.9.0.%d' % (i, i) for i in range(n)]
    return '\n'.join(lines) + '\n'


def ask(router, name, sock):
    q = dns.message.make_query(name, 'A')
    try:
        r = dns.query.udp(q, router.host, port=router.port, timeout=0.2, sock=sock)
    except dns.exception.Timeout:
        return None
    return dns.rcode.to_text(r.rcode())


def until(router, name, sock, want, limit=10.0):
    """Seconds (monotonic) at which name's rcode first was want."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if ask(router, name, sock) == want:
            return time.monotonic()
        time.sleep(0.001)
    raise RuntimeError('%s never answered %s' % (name, want))


def ms(v):
    return '%.1f' % (v * 1000)


def report(what, vals):
    print('%-44s median %6s ms   min %6s   max %6s   (n=%d)' % (
        what, ms(statistics.median(vals)), ms(min(vals)), ms(max(vals)), len(vals)))


def main():
    if len(sys.argv) < 2:
        sys.exit('usage: etcd_latency.py BUILDDIR [ROUNDS]')
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    work = tempfile.mkdtemp(prefix='dnsroute-etcd-bench-')
    alloc = dt.AddrAllocator().alloc
    started = []
    try:
        etcd = dt.Etcd(work, alloc, 1).start()
        started.append(etcd)
        host, port = alloc()
        nsd = dt.Nsd(work, 'ns', host, port, {'split.test.': zone(rounds)}).start()
        started.append(nsd)
        rdir = os.path.join(work, 'r')
        os.makedirs(rdir)
        host, port = alloc()
        router = dt.Router(rdir, host, port, ['-e', etcd.urls]).start()
        started.append(router)
        sock = router.udp_socket()
        put_done, put_start, del_done, del_start = [], [], [], []
        for i in range(rounds):
            name = 'b%d.split.test.' % i
            key = '/dnsrouter/b%d' % i
            value = '%s,^b%d\\.split\\.test\\.$' % (nsd.endpoint, i)
            assert ask(router, name, sock) == 'SERVFAIL'
            t0 = time.monotonic()
            etcd.put(key, value)
            t1 = time.monotonic()
            t2 = until(router, name, sock, 'NOERROR')
            put_start.append(t2 - t0)
            put_done.append(t2 - t1)
            t0 = time.monotonic()
            etcd.delete(key)
            t1 = time.monotonic()
            t2 = until(router, name, sock, 'SERVFAIL')
            del_start.append(t2 - t0)
            del_done.append(t2 - t1)
        print('%s, NSD, dnsrouted on loopback; %d rounds' % (
            subprocess.run([dt.ETCD, '--version'], capture_output=True,
                           text=True).stdout.split('\n')[0], rounds))
        report('put returned -> first answer by the backend', put_done)
        report('put started  -> first answer by the backend', put_start)
        report('del returned -> route gone (SERVFAIL)', del_done)
        report('del started  -> route gone (SERVFAIL)', del_start)
        sock.close()
    finally:
        for p in reversed(started):
            try:
                p.stop()
            except AssertionError as e:
                print('stop: %s' % e, file=sys.stderr)
        dt._kill_leftovers()


if __name__ == '__main__':
    socket.setdefaulttimeout(5)
    main()
