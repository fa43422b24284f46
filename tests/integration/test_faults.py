"""Backends that fail: never answer, answer late, answer with the wrong ID,
question or QR bit, answer garbage, truncate, or go away and come back.
The router must answer SERVFAIL in bounded time, never relay a bad answer,
retry on another member, count what it dropped, and follow health."""

import collections
import socket
import time

import dns.message
import pytest

import dnsroute_test as dt

TIMEOUT_MS = 400
MARGIN_S = 1.0


def setup_pool(router, members, timeout_ms=TIMEOUT_MS, retries=None, policy=None):
    """Pool p with the given (name, endpoint) members, every *.example. name
    routed to it, and every member up."""
    router.ok('set query-timeout %d' % timeout_ms)
    if retries is not None:
        router.ok('set retries %d' % retries)
    router.ok('pool add p' + (' policy %s' % policy if policy else ''))
    for name, ep in members:
        router.ok('backend add %s %s pool p %s' % (name, ep, dt.BACKEND_FAST))
    router.ok(r"route add '\.example\.$' pool p")
    for name, _ in members:
        router.wait_health(name, 'up')


@pytest.mark.parametrize('tcp', [False, True], ids=['udp', 'tcp'])
def test_silent_only_member_servfail_in_bounded_time(router, misbehave_factory, tcp):
    m = misbehave_factory('drop')
    setup_pool(router, [('silent', m.endpoint)])
    before = router.stats()
    a, took = dt.timed(router.query, 'a1.example.', 'TXT', tcp=tcp, timeout=10)
    assert dt.rcode_text(a) == 'SERVFAIL', a
    limit = TIMEOUT_MS / 1000.0 * 2 + MARGIN_S     # timeout x (retries + 1)
    assert TIMEOUT_MS / 1000.0 * 0.9 <= took <= limit, took
    after = router.stats()
    assert after['timeouts'] > before['timeouts']
    assert after['servfail'] > before['servfail']
    # The health check still passes (the responder answers it), so it stays up.
    assert router.backends()['silent']['health'] == 'up'


def test_retry_on_another_member_gives_the_right_answer(router, misbehave_factory,
                                                         nsd_factory):
    m = misbehave_factory('drop')
    ns = nsd_factory('ns-ab', {'example.': dt.example_zone('ab', 'ns-ab')})
    setup_pool(router, [('silent', m.endpoint), ('good', ns.endpoint)])
    before = router.stats()
    s = router.udp_socket()
    slow = 0
    try:
        for i in range(1, 7):
            name = 'a%d.example.' % i
            a, took = dt.timed(router.query, name, 'TXT', timeout=10, sock=s)
            assert dt.rcode_text(a) == 'NOERROR', (name, a)
            assert dt.txt_values(a) == [dt.expected_txt(name)], (name, a)
            assert took <= TIMEOUT_MS / 1000.0 + MARGIN_S, (name, took)
            slow += took >= TIMEOUT_MS / 1000.0 * 0.9
    finally:
        s.close()
    after = router.stats()
    # Round robin sends some of the six to the silent member first.
    assert slow >= 1
    assert after['retries'] - before['retries'] == slow
    assert after['timeouts'] - before['timeouts'] == slow
    assert after['servfail'] == before['servfail']


def test_no_retries_setting(router, misbehave_factory, nsd_factory):
    m = misbehave_factory('drop')
    ns = nsd_factory('ns-ab', {'example.': dt.example_zone('ab', 'ns-ab')})
    setup_pool(router, [('silent', m.endpoint), ('good', ns.endpoint)], retries=0)
    s = router.udp_socket()
    try:
        rcodes = collections.Counter(dt.rcode_text(router.query('b1.example.', sock=s, timeout=10))
                                     for _ in range(4))
    finally:
        s.close()
    assert rcodes == {'NOERROR': 2, 'SERVFAIL': 2}, rcodes


@pytest.mark.parametrize('mode', ['wrongid', 'qrclear', 'wrongquestion', 'garbage'])
def test_bad_answers_are_never_relayed(router, misbehave_factory, mode):
    m = misbehave_factory(mode)
    setup_pool(router, [('liar', m.endpoint)], retries=0)
    before = router.stats()
    # UDP: the bad answer is dropped and counted, the query waits for the
    # real one until its timeout, then SERVFAIL.
    a, took = dt.timed(router.query, 'a1.example.', 'TXT', timeout=10)
    assert dt.rcode_text(a) == 'SERVFAIL' and not a.answer, a
    assert TIMEOUT_MS / 1000.0 * 0.9 <= took <= TIMEOUT_MS / 1000.0 + MARGIN_S, took
    after = router.stats()
    if mode != 'garbage':
        assert dt.spoof_count(after) - dt.spoof_count(before) >= 1, \
            dt.counter_diff(before, after)
    assert after['timeouts'] - before['timeouts'] == 1, dt.counter_diff(before, after)
    # TCP: never relayed either (the router may give up on the connection
    # early, so only the upper bound holds).
    a, took = dt.timed(router.query, 'a1.example.', 'TXT', tcp=True, timeout=10)
    assert dt.rcode_text(a) == 'SERVFAIL' and not a.answer, a
    assert took <= TIMEOUT_MS / 1000.0 + MARGIN_S, took
    dt.wait_for(lambda: router.backends()['liar']['outstanding'] == 0, 5,
                what='no queries left outstanding')


def test_spoof_then_real_answer_gets_through(router, misbehave_factory):
    m = misbehave_factory('spoof-then-ok')
    setup_pool(router, [('m', m.endpoint)])
    before = router.stats()
    for tcp in (False, True):
        a, took = dt.timed(router.query, 'c5.example.', 'A', tcp=tcp, timeout=10)
        assert dt.rcode_text(a) == 'NOERROR', a
        assert dt.txt_values(a) == ['misbehave']
        assert str(a.question[0].name) == 'c5.example.'
        assert took < TIMEOUT_MS / 1000.0, took
    after = router.stats()
    assert dt.spoof_count(after) - dt.spoof_count(before) >= 2, \
        dt.counter_diff(before, after)
    assert after['timeouts'] == before['timeouts']


def test_truncated_answer_relayed_to_udp_full_over_tcp(router, misbehave_factory):
    m = misbehave_factory('truncate')
    setup_pool(router, [('m', m.endpoint)])
    q = dt.make_query('a1.example.', 'TXT')
    raw = router.raw_udp(q.to_wire(), timeout=3)
    assert raw is not None
    a = dns.message.from_wire(raw)
    assert a.id == q.id and a.flags & dns.flags.TC and not a.answer, a
    a = router.query('a1.example.', 'TXT', tcp=True)
    assert not a.flags & dns.flags.TC and dt.txt_values(a) == ['misbehave'], a


@pytest.mark.parametrize('mode,rcode', [('servfail', 'SERVFAIL'), ('refused', 'REFUSED')])
def test_backend_error_rcodes_are_relayed(router, misbehave_factory, mode, rcode):
    m = misbehave_factory(mode)
    setup_pool(router, [('m', m.endpoint)])
    for tcp in (False, True):
        a, took = dt.timed(router.query, 'a1.example.', tcp=tcp, timeout=10)
        assert dt.rcode_text(a) == rcode, a
        assert took < TIMEOUT_MS / 1000.0, took


def test_slow_answer_within_timeout(router, misbehave_factory):
    m = misbehave_factory('delay', delay_ms=250)
    setup_pool(router, [('slow', m.endpoint)], timeout_ms=1500)
    a, took = dt.timed(router.query, 'a1.example.', 'TXT', timeout=10)
    assert dt.txt_values(a) == ['misbehave'] and took >= 0.24, (a, took)


def test_late_answer_after_servfail_is_not_relayed(router, misbehave_factory):
    m = misbehave_factory('delay', delay_ms=700)
    setup_pool(router, [('late', m.endpoint)], timeout_ms=300, retries=0)
    q = dt.make_query('a1.example.', 'TXT')
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(5)
        s.sendto(q.to_wire(), (router.host, router.port))
        a = dns.message.from_wire(s.recv(65535))
        assert a.id == q.id and dt.rcode_text(a) == 'SERVFAIL', a
        # The backend answers at 700 ms; the client must hear nothing more.
        s.settimeout(1.0)
        try:
            extra = s.recv(65535)
        except socket.timeout:
            extra = None
        assert extra is None, dns.message.from_wire(extra)
    finally:
        s.close()


def test_backend_down_then_back_by_itself(seed):
    """The seed article's docker stop / start, but the server comes back
    without anyone re-adding it."""
    r = seed.router
    seed.ns_cd.stop()
    r.wait_health('ns-cd', 'down')
    assert int(r.pools()['apex']['up']) == 1
    # The apex is served by the survivor alone.
    s = r.udp_socket()
    try:
        vals = [dt.txt_values(r.query('example.', 'TXT', sock=s)) for _ in range(6)]
    finally:
        s.close()
    assert vals == [['ns-ab']] * 6, vals
    # Nobody left for c-d: SERVFAIL at once, not after a timeout.
    a, took = dt.timed(r.query, 'c1.example.', 'A', timeout=10)
    assert dt.rcode_text(a) == 'SERVFAIL' and took < 0.5, (a, took)
    dt.check_name(r, 'a1.example.')

    seed.ns_cd.start()
    r.wait_health('ns-cd', 'up')
    dt.check_name(r, 'c1.example.')
    dt.check_name(r, 'd9.example.', tcp=True)
    s = r.udp_socket()
    try:
        vals = collections.Counter(dt.txt_values(r.query('example.', 'TXT', sock=s))[0]
                                   for _ in range(10))
    finally:
        s.close()
    assert vals == {'ns-ab': 5, 'ns-cd': 5}, vals


def test_drain_disable_enable(seed):
    r = seed.router
    r.ok('backend drain ns-cd')
    assert r.backends()['ns-cd']['admin'] == 'drained'
    s = r.udp_socket()
    try:
        vals = [dt.txt_values(r.query('example.', 'TXT', sock=s)) for _ in range(4)]
    finally:
        s.close()
    assert vals == [['ns-ab']] * 4
    r.ok('backend undrain ns-cd')
    r.ok('backend disable ns-ab')
    assert r.backends()['ns-ab']['admin'] == 'disabled'
    assert dt.rcode_text(r.query('a1.example.')) == 'SERVFAIL'
    assert dt.txt_values(r.query('example.', 'TXT')) == ['ns-cd']
    r.ok('backend enable ns-ab')
    r.wait_health('ns-ab', 'up')
    dt.check_name(r, 'a1.example.')
    # Admin state survives a restart too.
    r.ok('backend drain ns-ab')
    r.restart()
    r.wait_health('ns-cd', 'up')
    assert r.backends()['ns-ab']['admin'] == 'drained'


def test_thousands_outstanding_each_answer_to_its_query(router, misbehave_factory):
    """3,000 queries in flight at once on one worker: the ID map grows
    several times with entries live in it, and every answer must still go
    to the query it belongs to."""
    n = 3000
    m = misbehave_factory('delay', delay_ms=1500)
    router.ok('set max-outstanding-backend 10000')
    setup_pool(router, [('slow', m.endpoint)], timeout_ms=8000, retries=0)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for opt in (33, socket.SO_RCVBUF):     # SO_RCVBUFFORCE when root
            try:
                s.setsockopt(socket.SOL_SOCKET, opt, 8 << 20)
                break
            except OSError:
                pass
        s.bind(('127.0.0.1', 0))
        want = {}
        for i in range(n):
            q = dt.make_query('q%d.a.example.' % i, 'TXT', qid=i)
            want[i] = q
            s.sendto(q.to_wire(), (router.host, router.port))
        # All of them wait in the router for the same 1.5 s.
        dt.wait_for(lambda: int(router.backends()['slow']['outstanding']) >= n * 0.9,
                    5.0, what='most queries outstanding at once')
        got = {}
        s.settimeout(0.5)
        deadline = time.monotonic() + 20
        while len(got) < n and time.monotonic() < deadline:
            try:
                a = dns.message.from_wire(s.recv(65535))
            except socket.timeout:
                continue
            assert a.id in want and a.id not in got, a.id
            assert a.question == want[a.id].question, (a.id, a.question)
            assert dt.txt_values(a) == ['misbehave'], a
            got[a.id] = a
        assert len(got) == n, '%d of %d answered' % (len(got), n)
    finally:
        s.close()
    dt.wait_for(lambda: int(router.backends()['slow']['outstanding']) == 0, 5.0,
                what='nothing outstanding afterwards')
