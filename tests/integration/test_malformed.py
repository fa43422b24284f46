"""Malformed queries over raw UDP (and TCP): each gets FORMERR with its ID
when the header was readable, or no answer at all; none is forwarded; each
is counted in `malformed`; and the router answers a good query right after
every one of them."""

import socket
import struct

import dns.edns
import dns.message
import dns.name
import dns.query
import dns.rcode
import pytest

import dnsroute_test as dt

TC = struct.pack('!HH', 1, 1)           # QTYPE A, QCLASS IN
OPT = b'\x00' + struct.pack('!HHIH', 41, 1232, 0, 0)


def opt(rdata):
    """An OPT RR (root owner, 1232 octets, version 0) with this RDATA."""
    return b'\x00' + struct.pack('!HHIH', 41, 1232, 0, len(rdata)) + rdata


def option(code, data, claim=None):
    """One EDNS option; claim: the length it says, if not the true one."""
    return struct.pack('!HH', code, len(data) if claim is None else claim) + data


def hdr(qid, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack('!6H', qid, flags, qd, an, ns, ar)


def qname(*labels):
    return b''.join(bytes([len(l)]) + l for l in labels) + b'\x00'


Q = qname(b'a1', b'example') + TC

# name -> (packet, may the router answer it at all?)
CASES = {
    'empty': (b'', False),
    'short-5-bytes': (b'\x12\x34\x01\x00\x00', False),
    'header-only-qdcount-0': (hdr(0x1001, qd=0), True),
    'qdcount-2': (hdr(0x1002, qd=2) + Q + qname(b'b1', b'example') + TC, True),
    'compression-loop': (hdr(0x1003) + b'\xc0\x0c' + TC, True),
    'compression-loop-2': (hdr(0x1004) + b'\x02a1\xc0\x0c' + TC, True),
    'forward-pointer': (hdr(0x1005) + b'\xc0\x12' + TC + qname(b'a1', b'example'), True),
    'pointer-out-of-range': (hdr(0x1006) + b'\xc0\xff' + TC, True),
    'qr-set': (hdr(0x1007, flags=0x8100) + Q, False),
    'tc-set': (hdr(0x1008, flags=0x0300) + Q, True),
    'label-over-63': (hdr(0x1009) + bytes([64]) + b'a' * 64 + qname(b'example') + TC, True),
    'name-over-255': (hdr(0x100a) + (bytes([63]) + b'a' * 63) * 4 + b'\x00' + TC, True),
    'question-cut-in-name': (hdr(0x100b) + b'\x07exam', True),
    'question-cut-in-type': (hdr(0x100c) + qname(b'a1', b'example') + b'\x00', True),
    'trailing-garbage': (hdr(0x100d) + Q + b'\xde\xad\xbe\xef', True),
    'ancount-without-records': (hdr(0x100e, an=1) + Q, True),
    'two-opt': (hdr(0x100f, ar=2) + Q + OPT + OPT, True),
    'opt-not-at-root': (hdr(0x1010, ar=1) + Q + qname(b'x') + OPT[1:], True),
    'opt-in-answer': (hdr(0x1011, an=1) + Q + OPT, True),
    'opt-in-authority': (hdr(0x1012, ns=1) + Q + OPT, True),
    # The options in the OPT RDATA must add up to its RDLENGTH (issue 12).
    'edns-option-overruns': (hdr(0x1013, ar=1) + Q + opt(option(10, b'12345678', 60)), True),
    'edns-option-one-too-long': (hdr(0x1014, ar=1) + Q + opt(option(10, b'12345678', 9)), True),
    'edns-option-header-cut': (hdr(0x1015, ar=1) + Q + opt(b'\x00\x0a\x00'), True),
    'edns-second-option-overruns': (
        hdr(0x1016, ar=1) + Q + opt(option(12, b'\x00' * 4) + option(10, b'1234', 8)), True),
    'edns-option-then-stray-octet': (
        hdr(0x1017, ar=1) + Q + opt(option(12, b'\x00' * 4) + b'\x00'), True),
}


def check_reply(name, packet, may_answer, reply):
    if reply is None:
        return
    assert may_answer, '%s: answered %r' % (name, reply)
    assert len(reply) >= 12, '%s: short reply %r' % (name, reply)
    qid, flags = struct.unpack('!HH', reply[:4])
    assert qid == struct.unpack('!H', packet[:2])[0], '%s: reply ID %#x' % (name, qid)
    assert flags & 0x8000, '%s: reply without QR' % name
    assert flags & 0xf == dns.rcode.FORMERR, \
        '%s: rcode %s, want FORMERR or nothing' % (name, dns.rcode.to_text(flags & 0xf))


@pytest.fixture
def routed(seed):
    return seed.router


def test_malformed_udp(routed):
    r = routed
    before = r.stats()
    sent_before = int(r.backends()['ns-ab']['queries'])
    for i, (name, (packet, may_answer)) in enumerate(sorted(CASES.items())):
        reply = r.raw_udp(packet, timeout=0.3)
        check_reply(name, packet, may_answer, reply)
        good = 'b%d.example.' % (i + 1)
        a = r.query(good, 'TXT', timeout=2)
        assert dt.txt_values(a) == [dt.expected_txt(good)], \
            'after %s: %s' % (name, a)
    after = r.stats()
    assert after['malformed'] - before['malformed'] == len(CASES), dt.counter_diff(before, after)
    # None of them was forwarded: the a-b server saw only the good queries.
    assert int(r.backends()['ns-ab']['queries']) - sent_before == len(CASES)


def test_malformed_tcp(routed):
    """A malformed message on TCP: FORMERR or the connection closed; other
    connections are unaffected."""
    r = routed
    for name in ('qdcount-2', 'compression-loop', 'label-over-63', 'trailing-garbage',
                 'edns-option-overruns', 'edns-option-header-cut'):
        packet = CASES[name][0]
        s = socket.create_connection((r.host, r.port), timeout=2)
        try:
            s.sendall(struct.pack('!H', len(packet)) + packet)
            try:
                (n,) = struct.unpack('!H', dt.recv_exact(s, 2))
                reply = dt.recv_exact(s, n)
            except (EOFError, ConnectionResetError, socket.timeout):
                reply = None
            check_reply(name, packet, True, reply)
        finally:
            s.close()
        dt.check_name(r, 'c%d.example.' % (len(name) % 50 + 1), tcp=True)


def test_malformed_edns_option_is_answered_formerr_at_once(routed):
    """Issue 12's reproduction: an option claiming 60 octets when 8 are
    present.  It used to be forwarded; NSD's header-only FORMERR was then
    dropped as forged and the client got SERVFAIL after the query timeout,
    the query holding a slot all along.  Now the router answers FORMERR
    itself (the query timeout is set far above the client's wait, so an
    answer that comes at all came at once)."""
    r = routed
    r.ok('set query-timeout 10000')
    packet = struct.pack('!6H', 0x4242, 0x0100, 1, 0, 0, 1) + Q \
        + opt(option(10, b'12345678', 60))
    before = r.stats()
    reply = r.raw_udp(packet, timeout=3)
    assert reply is not None, 'no answer within 3 s'
    qid, flags, qd = struct.unpack('!HHH', reply[:6])
    assert (qid, flags & 0x8000, flags & 0xf) == (0x4242, 0x8000, dns.rcode.FORMERR), reply
    assert qd == 1 and reply[12:] == Q, 'the question is echoed: %r' % reply
    after = r.stats()
    diff = dt.counter_diff(before, after)
    assert diff.get('malformed') == 1 and diff.get('formerr') == 1, diff
    assert 'forwarded' not in diff and dt.spoof_count(after) == dt.spoof_count(before), diff
    assert r.rows('show recent 1')[0]['outcome'] == 'malformed:bad-edns-option'


def test_edns_options_that_add_up_are_forwarded(routed):
    """Options the router does not know, a cookie, padding, an empty one:
    all well formed, all forwarded untouched to NSD, which answers."""
    r = routed
    before = r.stats()
    opts = [dns.edns.GenericOption(10, b'\x01' * 8),
            dns.edns.GenericOption(65001, b''),
            dns.edns.GenericOption(12, b'\x00' * 37)]
    for i, tcp in enumerate((False, True)):
        name = 'a%d.example.' % (i + 7)
        q = dns.message.make_query(name, 'TXT', use_edns=0, options=opts)
        if tcp:
            a = dns.query.tcp(q, r.host, port=r.port, timeout=3)
        else:
            a = dns.query.udp(q, r.host, port=r.port, timeout=3)
        assert dt.rcode_text(a) == 'NOERROR' and dt.txt_values(a) == [dt.expected_txt(name)], a
    diff = dt.counter_diff(before, r.stats())
    assert diff.get('forwarded') == 2 and 'malformed' not in diff, diff


def test_tcp_length_lies(routed):
    """A frame announcing more than is sent, then the client goes away: the
    router forgets the connection and keeps serving."""
    r = routed
    s = socket.create_connection((r.host, r.port), timeout=2)
    s.sendall(b'\x01\x00' + Q)          # says 256 bytes, sends fewer
    s.close()
    s = socket.create_connection((r.host, r.port), timeout=2)
    s.sendall(b'\x00')                  # half a length prefix
    s.close()
    s = socket.create_connection((r.host, r.port), timeout=2)
    s.sendall(b'\x00\x00')              # an empty message
    s.close()
    dt.check_name(r, 'd1.example.', tcp=True)
    dt.check_name(r, 'd2.example.')


def test_odd_but_valid_names_are_routed(routed):
    """Bytes that need escaping reach the route table escaped, and the answer
    comes back; nothing odd appears raw in the log."""
    r = routed
    q = dns.message.make_query(dns.name.Name([b'a\nFORGED line', b'example', b'']), 'A')
    a = dns.message.from_wire(r.raw_udp(q.to_wire(), timeout=3))
    assert a.id == q.id and dt.rcode_text(a) == 'NXDOMAIN', a   # from ns-ab
    assert not any(l.startswith('FORGED') for l in dt.read_text(r.log).splitlines())
    t = r.route_test(r'a\010forged\032line.example.')
    assert t['pool'] == 'ab'
