"""The daemon's own life: one daemon per database, and SIGTERM finishes the
queries in flight before a clean exit."""

import os
import pwd
import signal
import socket
import subprocess

import dns.message
import pytest

import dnsroute_test as dt


def run_refused(argv, log, what):
    """Run dnsrouted as argv says, its output appended to log, where it
    must not start: its exit status (killed if it keeps running)."""
    with open(log, 'ab') as out:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True)
    try:
        return p.wait(timeout=dt.STOP_DEADLINE)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise AssertionError('%s kept running:\n%s' % (what, dt.read_text(log)))


def test_second_daemon_on_the_same_database_refuses(router_factory):
    first = router_factory()
    first.ok('pool add p')
    second = router_factory(db=first.db, start=False)
    rc = run_refused(second.argv(), second.log, 'a second dnsrouted on the same database')
    assert rc != 0, dt.read_text(second.log)
    assert dt.read_text(second.log).strip(), 'refused without saying why'
    # The first one is untouched.
    assert 'p' in first.pools()
    assert first.ctl('show settings').rc == 0


def corrupt_store(router_factory, workdir, extra_args=()):
    """A router's store of 2,000 routes, stopped, with some of its pages
    overwritten: (that router, an intact copy of the store)."""
    first = router_factory(extra_args)
    first.ok('pool add p')
    r = first.ctl([r"route add '^r%d\.example\.$' pool p" % i for i in range(2000)],
                  args=('-q',))
    assert r.rc == 0 and len(first.routes()) == 2000, r.describe()
    first.stop()
    good = os.path.join(workdir, 'good.db')
    with open(first.db, 'rb') as f, open(good, 'wb') as g:
        g.write(f.read())
    fd = os.open(first.db, os.O_WRONLY)
    try:
        os.pwrite(fd, bytes((i * 7 + 13) & 0xff for i in range(16384)), 4096 * 8)
    finally:
        os.close(fd)
    return first, good


def test_corrupt_database_refuses_to_start(router_factory, workdir):
    """A store whose pages were overwritten: the start is refused with the
    reason (the integrity check runs beside the routes' load, and decides
    before anything is served), and leaves no WAL behind; the intact copy
    of the same store starts and has its routes."""
    first, good = corrupt_store(router_factory, workdir)
    p = subprocess.run(first.argv(), capture_output=True, text=True, timeout=dt.STOP_DEADLINE)
    assert p.returncode == 1 and 'is corrupt' in p.stderr, p
    assert not os.path.exists(first.db + '-wal'), 'a WAL left beside the corrupt store'
    second = router_factory(db=good)
    assert len(second.routes()) == 2000


def test_corrupt_database_is_not_written(router_factory, workdir, alloc):
    """Started with another registration prefix than its store's, a router
    drops the stored registrations before it loads: on a corrupt store
    that waits for the integrity check, and the refused start leaves the
    file as it was (for a recovery to read).  etcd need not answer."""
    etcd = ['-e', 'http://%s' % dt.endpoint(*alloc())]
    first, _ = corrupt_store(router_factory, workdir, etcd)
    with open(first.db, 'rb') as f:
        before = f.read()
    p = subprocess.run(first.argv() + ['-R', '/elsewhere/'], capture_output=True, text=True,
                       timeout=dt.STOP_DEADLINE)
    assert p.returncode == 1 and 'is corrupt' in p.stderr, p
    assert not os.path.exists(first.db + '-wal'), 'a WAL left beside the corrupt store'
    with open(first.db, 'rb') as f:
        assert f.read() == before, 'the refused start wrote to the corrupt store'


def test_sigterm_finishes_queries_in_flight(router, misbehave_factory):
    m = misbehave_factory('delay', delay_ms=600)
    router.ok('pool add p')
    router.ok('backend add slow %s pool p %s' % (m.endpoint, dt.BACKEND_FAST))
    router.ok(r"route add '\.example\.$' pool p")
    router.wait_health('slow', 'up')
    q = dt.make_query('a1.example.', 'TXT')
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(5)
        s.sendto(q.to_wire(), (router.host, router.port))
        dt.wait_for(lambda: router.backends()['slow']['outstanding'] == 1, 2,
                    interval=0.02, what='the query to be in flight')
        router.proc.send_signal(signal.SIGTERM)
        a = dns.message.from_wire(s.recv(65535))
    finally:
        s.close()
    assert a.id == q.id and dt.txt_values(a) == ['misbehave'], a
    router.stop(sig=None)


def test_second_daemon_on_the_same_address_refuses(router_factory):
    """SO_REUSEPORT would let a second router share the address and take
    half the queries; it must refuse to start instead."""
    first = router_factory()
    first.ok('pool add p')
    second = router_factory(start=False)
    argv = second.argv()
    i = argv.index('-l')
    argv[i + 1] = '%s:%d' % (first.host, first.port)
    rc = run_refused(argv, second.log, 'a second dnsrouted on the same address')
    assert rc != 0
    assert 'already in use' in dt.read_text(second.log)
    # The first one still answers.
    assert dt.rcode_text(first.query('zz.example.', 'A')) == 'SERVFAIL'


def test_refused_starts_leave_nothing_behind(router, workdir, alloc):
    """Whatever refuses a start (an address or socket in use, a bad flag,
    a store directory that is not there, an unknown user, a metrics
    address in use found after the store was made) leaves no database, lock
    file, pid file or control socket behind, and says why."""
    with open(os.path.join(workdir, 'afile'), 'w') as f:
        f.write('not a directory\n')
    cases = [
        ('address in use', ['-l', router.endpoint], 'already in use'),
        ('bad flag', ['-x'], 'usage'),
        ('no store directory', ['-d', os.path.join(workdir, 'missing', 'db')], 'missing'),
        ('store under a file', ['-d', os.path.join(workdir, 'afile', 'db')], 'afile'),
        ('unknown user', ['-u', 'no-such-user-dnsroute'], 'unknown user'),
        ('control socket in use', ['-s', router.sock], 'in use'),
        ('metrics address in use', ['-m', router.endpoint], 'in use'),
    ]
    for i, (what, args, says) in enumerate(cases):
        d = os.path.join(workdir, 'refused%d' % i)
        os.makedirs(d)
        host, port = alloc()
        argv = [dt.DNSROUTED, '-f', '-l', dt.endpoint(host, port), '-s',
                os.path.join(d, 'ctl.sock'), '-d', os.path.join(d, 'db'), '-p',
                os.path.join(d, 'pid')] + args
        p = subprocess.run(argv, capture_output=True, text=True, timeout=dt.STOP_DEADLINE)
        assert p.returncode in (1, 2), '%s: started anyway: %s' % (what, p)
        assert says in p.stderr, '%s: %s' % (what, p.stderr)
        assert os.listdir(d) == [], '%s left %s' % (what, os.listdir(d))
    assert sorted(os.listdir(os.path.join(workdir))) == sorted(
        ['TEST', 'afile', 'r0'] + ['refused%d' % i for i in range(len(cases))])
    # The running one is untouched.
    assert router.ctl('show settings').rc == 0


def test_pid_file_where_the_dropped_user_cannot_remove_it_is_reported(
        router_factory, workdir):
    """-u with the pid file in a directory the user may not write: said
    at start, with the fix, rather than found out at exit."""
    if os.geteuid() != 0:
        pytest.skip('needs root to drop privileges')
    nobody = pwd.getpwnam('nobody')
    dt.let_others_reach(workdir)
    rootdir = os.path.join(workdir, 'rootdir')
    os.makedirs(rootdir, mode=0o755)
    pidfile = os.path.join(rootdir, 'dnsrouted.pid')
    r = router_factory(['-u', 'nobody', '-p', pidfile], start=False)
    os.chown(r.dir, nobody.pw_uid, nobody.pw_gid)
    r.start()
    assert ('%s will be left behind at exit: %s is not writable by nobody'
            % (pidfile, rootdir)) in dt.read_text(r.log)
    r.stop()
    assert os.path.exists(pidfile)


def test_route_hits_survive_a_restart(router):
    """Hit counters are saved when the daemon stops (and every minute), so
    a restart keeps "which routes are dead"; a route changed in place keeps
    its count, a new route starts at zero."""
    r = router
    r.ok(r"route add '^hit\.example\.$' refuse")
    r.ok(r"route add '^cold\.example\.$' nxdomain")
    for _ in range(5):
        assert dt.rcode_text(r.query('hit.example.')) == 'REFUSED'
    assert dt.rcode_text(r.query('cold.example.')) == 'NXDOMAIN'
    hits = {x['pattern']: x['hits'] for x in r.routes()}
    assert hits == {r'^hit\.example\.$': 5, r'^cold\.example\.$': 1}, hits
    r.stop()
    r.start()
    assert {x['pattern']: x['hits'] for x in r.routes()} == hits
    # Counting goes on from there; a change in place keeps the count.
    assert dt.rcode_text(r.query('hit.example.')) == 'REFUSED'
    hit = [x for x in r.routes() if x['pattern'] == r'^hit\.example\.$'][0]
    r.ok('route set %d comment warm' % hit['id'])
    r.ok(r"route add '^new\.example\.$' drop")
    r.stop()
    r.start()
    now = {x['pattern']: (x['hits'], x['comment']) for x in r.routes()}
    assert now == {r'^hit\.example\.$': (6, 'warm'), r'^cold\.example\.$': (1, ''),
                   r'^new\.example\.$': (0, '')}, now


def test_help_is_not_an_error(router):
    """dnsrouted -h prints its usage on stdout and exits 0; a bad flag is
    bad usage: 2."""
    p = subprocess.run([dt.DNSROUTED, '-h'], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0 and 'usage: dnsrouted' in p.stdout, (p.returncode, p.stderr)
    p = subprocess.run([dt.DNSROUTED, '-Z'], capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and 'usage: dnsrouted' in p.stderr, (p.returncode, p.stdout)
    assert router.ctl('show settings').rc == 0
