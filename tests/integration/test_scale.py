"""Scale, as a user sees it (issue 16), without timing targets (those are
make bench's): 100,000 routes load in one batch and answer right after a
restart, while the daemon is still compiling them in the background (or
with nothing of theirs compiled: the prefilter's lite matcher decides these
routes), every sampled name by its own route; and changes applied under load (a --replace
of 1,000 routes, a batch, 50 drain/undrain pairs) lose no query.

Each route of the big table sends its names to one of three NSD servers,
which answer the same wildcard zone with different addresses, so an answer
says which route it came through; a catch-all at the end refuses.  A route
skipped while it was not compiled yet would be seen as a refusal or as
another server's address."""

import os
import random
import re
import select
import shutil
import socket
import time

import dns.message
import dns.rcode
import pytest

import dnsroute_test as dt

N = 100000          # routes in all, the most a router takes
NZ = N - 2          # of them, one a zone; the other two, see big_batch
SERVERS = 3

needs_dnsperf = pytest.mark.skipif(shutil.which('dnsperf') is None,
                                   reason='dnsperf not installed')


def wild_zone(addr):
    return '\n'.join([
        '$ORIGIN bench.test.',
        '$TTL 300',
        '@ IN SOA ns1.bench.test. hostmaster.bench.test. 1 3600 600 86400 300',
        '@ IN NS ns1.bench.test.',
        'ns1 IN A 127.0.0.1',
        '* IN A %s' % addr,
    ]) + '\n'


def server_addr(k):
    return '10.16.0.%d' % (k + 1)


def zpattern(i):
    return r'^[a-q][^.]*\.z%06d\.bench\.test\.$' % i


def start_servers(nsd_factory):
    return [nsd_factory('s%d' % k, {'bench.test.': wild_zone(server_addr(k))})
            for k in range(SERVERS)]


def big_batch(r, servers, n):
    """Pools p0..p2 of one server each; route i to pool p(i % 3); in
    front, '^q...5' (names starting with q whose zone number ends in 5)
    answers NXDOMAIN, so first-match order is tested too; last, a
    catch-all that refuses."""
    path = os.path.join(r.dir, 'big.cmd')
    with open(path, 'w') as f:
        for k, s in enumerate(servers):
            f.write('pool add p%d\n' % k)
            f.write('backend add s%d %s pool p%d\n' % (k, s.endpoint, k))
        f.write(r"route add '^q[^.]*\.z[0-9]*5\.bench\.test\.$' nxdomain" + '\n')
        for i in range(n):
            f.write("route add '%s' pool p%d\n" % (zpattern(i), i % SERVERS))
        f.write(r"route add '\.bench\.test\.$' refuse comment catch-all" + '\n')
    return path


def expected(name):
    """(rcode, address or None) the routes give name."""
    label, zone = name.split('.')[:2]
    i = int(zone[1:])
    if label[0] == 'q' and zone.endswith('5'):
        return 'NXDOMAIN', None
    if label[0] > 'q' or i >= NZ:
        return 'REFUSED', None
    return 'NOERROR', server_addr(i % SERVERS)


def burst(host, port, names, timeout=10.0):
    """Send every query at once from one socket, then collect the answers:
    {name: (rcode, first A or None)}.  Lost ones are missing."""
    s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.connect((host, port))
    s.setblocking(False)
    want = {}
    for k, name in enumerate(names):
        q = dns.message.make_query(name, 'A')
        q.id = k
        want[k] = name
        while True:
            try:
                s.send(q.to_wire())
                break
            except BlockingIOError:
                select.select([], [s], [], 1.0)
    got = {}
    end = time.monotonic() + timeout
    while len(got) < len(want) and time.monotonic() < end:
        if not select.select([s], [], [], max(0.0, end - time.monotonic()))[0]:
            continue
        while True:
            try:
                data = s.recv(4096)
            except BlockingIOError:
                break
            m = dns.message.from_wire(data)
            name = want.get(m.id)
            if name is None or str(m.question[0].name) != name:
                continue
            a = [rd.address for rr in m.answer for rd in rr]
            got[name] = (dns.rcode.to_text(m.rcode()), a[0] if a else None)
    s.close()
    return got


def sample_names(rnd, n):
    names = []
    for _ in range(n):
        i = rnd.randrange(NZ)
        names.append('%s%d.z%06d.bench.test.' % (rnd.choice('abcdefghijklmnopq'),
                                                 rnd.randrange(1000), i))
    # Past the letters of the routes, and past the last route: the
    # catch-all.  And the NXDOMAIN route in front of the others.
    names += ['x1.z%06d.bench.test.' % rnd.randrange(NZ), 'a1.z%06d.bench.test.' % (NZ + 7),
              'q1.z000015.bench.test.', 'q1.z099985.bench.test.']
    return names


def check(got, names, what):
    missing = [n for n in names if n not in got]
    wrong = [(n, got[n], expected(n)) for n in names if n in got and got[n] != expected(n)]
    assert not wrong, '%s: %d wrong answers, e.g. %s' % (what, len(wrong), wrong[:5])
    return missing


def compiled_line(r, start):
    """The daemon's note that its background compilation ended, in the
    log after offset start (the patterns compiled, and those left to the
    lite matcher); None before."""
    text = dt.read_text(r.log)[start:]
    m = re.search(r'(\d+) route patterns compiled in the background.*?'
                  r'(\d+) left to the lite matcher', text)
    return m


def test_100k_routes_answer_right_after_a_restart_while_they_compile(router, nsd_factory):
    r = router
    servers = start_servers(nsd_factory)
    path = big_batch(r, servers, NZ)
    res = r.ctl(None, args=('-q', '-f', path), timeout=80)
    assert res.rc == 0, res.describe()
    for k in range(SERVERS):
        r.wait_health('s%d' % k, 'up')
    rnd = random.Random(16)

    # The restart: queries go the moment the control socket answers,
    # which is before the patterns are compiled (the daemon says when
    # it is done, in its log).
    r.kill9()
    log_at = len(dt.read_text(r.log))
    r.start()
    early = sample_names(rnd, 300)
    got = burst(r.host, r.port, early)
    during = compiled_line(r, log_at) is None
    missing = check(got, early, 'right after the restart')
    # Every answer that came is right; one lost on the way is asked again.
    assert len(missing) < len(early) // 10, 'unanswered: %s' % missing[:5]
    assert not check(burst(r.host, r.port, missing), missing, 'asked again')
    dt.wait_for(lambda: compiled_line(r, log_at) is not None, 30,
                what='the background compilation to end')
    m = compiled_line(r, log_at)
    print('restart: %d of %d answered right, %s the background compilation '
          '(%s patterns, %s left to the lite matcher)'
          % (len(early) - len(missing), len(early), 'during' if during else 'after',
             m.group(1), m.group(2)))
    # The queries came while the patterns were being compiled, or with
    # none of theirs compiled: these routes' shape is decided by the
    # prefilter's lite matcher, which the background work leaves them to.
    # (A pattern that needs PCRE2 is compiled by the first query that
    # meets it: test_route.)
    assert during or int(m.group(2)) >= NZ, m.group(0)
    # The background work done: the same answers.
    late = sample_names(rnd, 1000)
    got = burst(r.host, r.port, late)
    assert not check(got, late, 'once compiled'), 'unanswered after compilation'
    # And the control path agrees with the query path.
    row = r.route_test('b7.z%06d.bench.test.' % (NZ - 1))
    assert row['pattern'] == zpattern(NZ - 1) and row['pool'] == 'p%d' % ((NZ - 1) % SERVERS), row


@needs_dnsperf
def test_changes_under_load_lose_nothing(router, nsd_factory, workdir):
    """A --replace of 1,000 routes (and back), a batch of 1,000 more and
    50 drain/undrain pairs while a dnsperf load runs: every query
    answered, NOERROR, by the route's server."""
    r = router
    servers = start_servers(nsd_factory)
    n = 1000
    head = ['pool add p'] + ['backend add s%d %s pool p interval 0.5' % (k, s.endpoint)
                             for k, s in enumerate(servers)]
    tail = [r"route add '\.bench\.test\.$' pool p comment catch-all"]
    conf_a = head + ["route add '%s' pool p" % zpattern(i) for i in range(n)] + tail
    conf_b = head + ["route add '%s' pool p" % zpattern(i) for i in range(n, 2 * n)] + tail
    assert r.ctl(conf_a).rc == 0
    for k in range(SERVERS):
        r.wait_health('s%d' % k, 'up')
    rnd = random.Random(6)
    names = ['%s%d.z%06d.bench.test. A' % (rnd.choice('abcdefghijklmnopq'), k, rnd.randrange(n))
             for k in range(5000)]
    # Long enough for the slowest machine (ASan, load 8): stopped once the
    # changes are done.
    load = dt.Dnsperf(workdir, r, seconds=180, qps=3000, names=names)
    try:
        t0 = time.monotonic()
        for conf in (conf_b, conf_a):
            res = r.ctl(conf, args=('--replace',), timeout=60)
            assert res.rc == 0, res.describe()
        more = ["route add '%s' pool p" % zpattern(i) for i in range(2 * n, 3 * n)]
        res = r.ctl(more, timeout=60)
        assert res.rc == 0, res.describe()
        for _ in range(50):
            r.ok('backend drain s1')
            r.ok('backend undrain s1')
        spent = time.monotonic() - t0
        assert load.running(), 'the changes outlasted the load (%.1f s)' % spent
        res = load.stop()
    finally:
        load.kill()
    print('changes under load: %.1f s of changes; %d sent, %d completed, %d lost, %d in flight '
          'at the end, rcodes %s' % (spent, res['sent'], res['completed'], res['lost'],
                                      res['interrupted'], res['rcodes']))
    assert res['lost'] == 0 and res['completed'] + res['interrupted'] == res['sent'], res
    assert res['completed'] >= 3000 * spent * 0.25, res
    assert set(res['rcodes']) == {'NOERROR'}, res['rcodes']
    assert len(r.routes()) == 2 * n + 1
