"""The daemon's own life: one daemon per database, and SIGTERM finishes the
queries in flight before a clean exit."""

import signal
import socket
import subprocess

import dns.message

import dnsroute_test as dt


def test_second_daemon_on_the_same_database_refuses(router_factory):
    first = router_factory()
    first.ok('pool add p')
    second = router_factory(db=first.db, start=False)
    p = subprocess.Popen(second.argv(), stdin=subprocess.DEVNULL,
                         stdout=open(second.log, 'ab'), stderr=subprocess.STDOUT,
                         start_new_session=True)
    try:
        rc = p.wait(timeout=dt.STOP_DEADLINE)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise AssertionError('a second dnsrouted on the same database kept running:\n'
                             + dt.read_text(second.log))
    assert rc != 0, dt.read_text(second.log)
    assert dt.read_text(second.log).strip(), 'refused without saying why'
    # The first one is untouched.
    assert 'p' in first.pools()
    assert first.ctl('show settings').rc == 0


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
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=open(second.log, 'ab'), stderr=subprocess.STDOUT,
                         start_new_session=True)
    try:
        rc = p.wait(timeout=dt.STOP_DEADLINE)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise AssertionError('a second dnsrouted on the same address kept running')
    assert rc != 0
    assert 'already in use' in dt.read_text(second.log)
    # The first one still answers.
    assert dt.rcode_text(first.query('zz.example.', 'A')) == 'SERVFAIL'
