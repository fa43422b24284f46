"""Backends that fail: never answer, answer late, answer with the wrong ID,
question or QR bit, answer garbage, truncate, or go away and come back.
The router must answer SERVFAIL in bounded time, never relay a bad answer,
retry on another member, count what it dropped, and follow health."""

import collections
import shutil
import socket
import struct
import subprocess
import time

import dns.message
import dns.query
import dns.rcode
import pytest

import dnsroute_test as dt

TIMEOUT_MS = 400
MARGIN_S = 1.0


def setup_pool(router, members, timeout_ms=TIMEOUT_MS, retries=None, policy=None):
    dt.setup_pool(router, members, timeout_ms, retries, policy)


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


# bare-noerror and bare-nxdomain: a header without a question that claims
# success or a denial is no server's answer to anything; it stays forged.
@pytest.mark.parametrize('mode', ['wrongid', 'qrclear', 'wrongquestion', 'garbage',
                                  'bare-noerror', 'bare-nxdomain'])
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


def ask(router, q, tcp, timeout):
    if tcp:
        return dns.query.tcp(q, router.host, port=router.port, timeout=timeout)
    return dns.query.udp(q, router.host, port=router.port, timeout=timeout)


@pytest.mark.parametrize('mode,rcode', [('bare-formerr', 'FORMERR'),
                                        ('bare-servfail', 'SERVFAIL'),
                                        ('bare-notimp', 'NOTIMP'),
                                        ('bare-refused', 'REFUSED')])
def test_header_only_error_answers_are_relayed(router, misbehave_factory, mode, rcode):
    """A server that cannot parse a query answers with a bare header:
    right ID, QR set, no question, an error rcode (issue 12).  It is the
    backend's answer: relayed at once as that rcode with the client's own
    question, never counted as forged and waited out (the query timeout
    here is longer than the client waits)."""
    m = misbehave_factory(mode)
    setup_pool(router, [('m', m.endpoint)], timeout_ms=10000, retries=0)
    before = router.stats()
    for tcp in (False, True):
        q = dt.make_query('a1.example.', 'TXT')
        a = ask(router, q, tcp, timeout=3)
        assert a.id == q.id and dt.rcode_text(a) == rcode, a
        assert a.question == q.question and not a.answer, a
    after = router.stats()
    diff = dt.counter_diff(before, after)
    assert dt.spoof_count(after) == dt.spoof_count(before), diff
    assert diff.get('headerless') == 2 and 'timeouts' not in diff, diff
    assert diff.get('rcode-%s' % rcode.lower(), diff.get('rcode-other')) == 2, diff
    dt.wait_for(lambda: router.backends()['m']['outstanding'] == 0, 5,
                what='no queries left outstanding')


@pytest.mark.parametrize('tool', ['dig', 'kdig'])
def test_header_only_formerr_pleases_dig_and_kdig(router, misbehave_factory, tool):
    """What the client sees of a backend's header-only FORMERR is a FORMERR
    about its own question, which dig and kdig take without a complaint."""
    exe = shutil.which(tool)
    if exe is None:
        pytest.skip('%s not installed' % tool)
    m = misbehave_factory('bare-formerr')
    setup_pool(router, [('m', m.endpoint)], timeout_ms=10000, retries=0)
    once = ['+tries=1', '+time=3'] if tool == 'dig' else ['+retry=0', '+timeout=3']
    p = subprocess.run([exe, '@' + router.host, '-p', str(router.port), 'a1.example.', 'TXT']
                       + once, capture_output=True, text=True, timeout=15)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert 'status: FORMERR' in out, out
    # A bare header would make kdig say "response doesn't have question
    # section" (dig only warns that EDNS got FORMERR, which is right).
    assert 'question section' not in out.lower().replace(';; question section:', ''), out
    assert 'mismatch' not in out.lower(), out
    assert 'a1.example.' in out.upper().split('QUESTION SECTION')[1].lower(), out


def test_nsd_header_only_answers_are_relayed(seed):
    """Real NSD answers a bare header to queries it refuses to parse: class
    0 gets REFUSED, a record in the answer section FORMERR.  The router
    forwards both (they are well formed) and relays what NSD said."""
    r = seed.router
    r.ok('set query-timeout 10000')
    name = b'\x02a1\x07example\x00'
    cases = [
        ('class-0', struct.pack('!6H', 0x5151, 0x0100, 1, 0, 0, 0) + name
         + struct.pack('!HH', 16, 0), 'REFUSED'),
        ('record-in-answer', struct.pack('!6H', 0x5252, 0x0100, 1, 1, 0, 0) + name
         + struct.pack('!HH', 16, 1) + b'\xc0\x0c' + struct.pack('!HHIH', 1, 1, 0, 4)
         + b'\x0a\x01\x00\x01', 'FORMERR'),
    ]
    for what, packet, rcode in cases:
        direct = dt.raw_udp(seed.ns_ab.host, seed.ns_ab.port, packet, timeout=3)
        assert direct is not None and len(direct) == 12, (what, direct)
        assert dns.rcode.to_text(direct[3] & 0xf) == rcode, (what, direct)
        before = r.stats()
        reply = r.raw_udp(packet, timeout=3)
        assert reply is not None, '%s: no answer within 3 s' % what
        qid, flags, qd = struct.unpack('!HHH', reply[:6])
        assert qid == struct.unpack('!H', packet[:2])[0], (what, reply)
        assert dns.rcode.to_text(flags & 0xf) == rcode, (what, reply)
        assert qd == 1 and reply[12:12 + len(name) + 4] == packet[12:12 + len(name) + 4], \
            (what, reply)
        after = r.stats()
        diff = dt.counter_diff(before, after)
        assert diff.get('forwarded') == 1 and diff.get('headerless') == 1, (what, diff)
        assert dt.spoof_count(after) == dt.spoof_count(before), (what, diff)


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
        dt.hears_nothing(s, 1.0)
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
    # Nobody left for c-d: SERVFAIL at once, not after a timeout.  Said by
    # the router's counters, not a clock (a loaded machine stretches any
    # round trip): the pool is counted down and nothing is sent to a
    # backend, so there is no timeout to wait for.
    before = r.stats()
    a = r.query('c1.example.', 'A', timeout=10)
    diff = dt.counter_diff(before, r.stats())
    assert dt.rcode_text(a) == 'SERVFAIL', a
    assert diff.get('pool-down') == 1 and 'forwarded' not in diff and \
        'timeouts' not in diff and 'retries' not in diff, diff
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
    # 4 s: they must all be seen waiting before the first answers come
    # back.  The queries are made before the first is sent, and the count
    # is read over one control connection: at load 18 making them as they
    # went took the test 2 to 12 s (once 632 were ever in flight at once),
    # and a `show backends` through dnsroutectl 1 to 2 s, none of it the
    # router's.
    m = misbehave_factory('delay', delay_ms=4000)
    router.ok('set max-outstanding-backend 10000')
    # One client address with 3,000 in flight: above its default share.
    router.ok('set max-outstanding-per-client 10000')
    setup_pool(router, [('slow', m.endpoint)], timeout_ms=8000, retries=0)
    want = {i: dt.make_query('q%d.a.example.' % i, 'TXT', qid=i) for i in range(n)}
    wires = [want[i].to_wire() for i in range(n)]
    ctl = dt.CtlConn(router.sock)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        dt.big_buffers(s, 8 << 20)
        s.bind(('127.0.0.1', 0))
        for w in wires:
            s.sendto(w, (router.host, router.port))

        def outstanding():
            return {r['name']: r for r in ctl.rows('show backends')}['slow']['outstanding']
        # All of them wait in the router for the same 4 s.
        dt.wait_for(lambda: outstanding() >= n * 0.9, 5.0,
                    what='most queries outstanding at once')
        # An answer that carries its query's question as sent and ends in
        # the responder's TXT is taken as read; any other is parsed to be
        # judged.  Parsing all 3,000 took the test 13 s at load 22, most
        # of the 20 s it waits for them.
        got = set()
        s.settimeout(0.5)
        deadline = time.monotonic() + 20
        while len(got) < n and time.monotonic() < deadline:
            try:
                wire = s.recv(65535)
            except socket.timeout:
                continue
            qid = wire[0] << 8 | wire[1]
            assert qid in want and qid not in got, qid
            q = wires[qid]
            if wire[4:6] != q[4:6] or wire[12:len(q)] != q[12:] or \
                    not wire.endswith(b'\x09misbehave'):
                a = dns.message.from_wire(wire)
                assert a.question == want[qid].question, (qid, a.question)
                assert dt.txt_values(a) == ['misbehave'], a
            got.add(qid)
        assert len(got) == n, '%d of %d answered' % (len(got), n)
        dt.wait_for(lambda: outstanding() == 0, 5.0, what='nothing outstanding afterwards')
    finally:
        s.close()
        ctl.close()
