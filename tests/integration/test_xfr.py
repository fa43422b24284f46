"""Zone transfers through a route (issue 14): `route add REGEX qtype AXFR
pool P` (and IXFR) relays the transfer from a member of P over TCP,
message by message; without such a route AXFR and IXFR are refused as
before.  Checked against NSD serving a 10,000-record zone: what dig gets
through the router is what it gets from NSD."""

import socket
import struct
import subprocess

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

import dnsroute_test as dt

RECORDS = 10000
SERIAL = 2024010101


def big_zone(records=RECORDS):
    lines = ['$ORIGIN big.', '$TTL 300',
             '@ IN SOA ns1.big. hostmaster.big. %d 3600 600 86400 300' % SERIAL,
             '@ IN NS ns1.big.', 'ns1 IN A 127.0.0.1']
    for i in range(records - 3):
        lines.append('h%d IN A 10.%d.%d.%d' % (i, i >> 16, (i >> 8) & 255, i & 255))
    return '\n'.join(lines) + '\n'


def dig(host, port, *args):
    r = subprocess.run(['dig', '-p', str(port), '@' + host, '+noall', '+answer',
                        '+nocookie', '+tries=1', '+time=10'] + list(args),
                       capture_output=True, text=True, timeout=60)
    return r.stdout


def xfr_router(router, nsd_factory, routes=('AXFR', 'IXFR'), records=RECORDS):
    ns = nsd_factory('ns-big', {'big.': big_zone(records)}, provide_xfr=True)
    dt.setup_pool(router, [('ns-big', ns.endpoint)])
    for t in routes:
        router.ok(r"route add '^big\.$' qtype %s pool p" % t)
    return ns


def ask(router, rdtype, tcp=True, name='big.'):
    q = dns.message.make_query(name, rdtype)
    if tcp:
        return dns.query.tcp(q, router.host, port=router.port, timeout=5)
    return dns.query.udp(q, router.host, port=router.port, timeout=5)


def test_axfr_through_the_router_equals_nsd(router, nsd_factory):
    ns = xfr_router(router, nsd_factory)
    direct = dig(ns.host, ns.port, 'AXFR', 'big.')
    lines = direct.splitlines()
    # Every record, and the SOA again at the end.
    assert len(lines) == RECORDS + 1, direct[-500:]
    s0 = router.stats()
    via = dig(router.host, router.port, 'AXFR', 'big.')
    assert via == direct
    s1 = router.stats()
    assert s1['xfr'] - s0['xfr'] == 1 and s1['xfr-aborted'] == s0['xfr-aborted']
    row = router.rows('show recent 1')[0]
    assert (row['name'], row['type'], row['outcome'], row['backend'], row['rcode'],
            row['transport']) == ('big.', 'AXFR', 'xfr', 'ns-big', 'NOERROR', 'tcp'), row
    assert row['answers'] == RECORDS + 1, row
    # And again, on the same router: nothing was left behind.
    assert dig(router.host, router.port, 'AXFR', 'big.') == direct
    # Ordinary queries still go the ordinary way, and only by ordinary
    # routes.
    a = ask(router, 'SOA', tcp=False)
    assert dt.rcode_text(a) == 'SERVFAIL', a
    router.ok(r"route add '^big\.$' pool p")
    a = ask(router, 'SOA', tcp=False)
    assert dt.rcode_text(a) == 'NOERROR' and a.answer, a


def test_ixfr_through_the_router_equals_nsd(router, nsd_factory):
    ns = xfr_router(router, nsd_factory)
    # Up to date: the lone SOA.  From an older serial, NSD (no journal)
    # sends the whole zone AXFR style.
    for serial in (SERIAL, SERIAL - 1):
        direct = dig(ns.host, ns.port, 'IXFR=%d' % serial, 'big.')
        assert direct.count('\tSOA\t') >= 1, direct[-300:]
        assert dig(router.host, router.port, 'IXFR=%d' % serial, 'big.') == direct
    assert router.stat('xfr') == 2


def test_transfers_without_a_route_are_refused(router, nsd_factory):
    ns = xfr_router(router, nsd_factory, routes=('IXFR',))
    router.ok(r"route add '\.?big\.$' pool p")
    # A route for every name in big., but none for AXFR: refused, as before.
    s0 = router.stats()
    a = ask(router, 'AXFR')
    assert a.rcode() == dns.rcode.REFUSED and not a.answer, a
    assert router.stat('refused-xfr') - s0['refused-xfr'] == 1
    assert router.rows('show recent 1')[0]['outcome'] == 'xfr-refused'
    out = router.ctl('route test big. AXFR').stdout
    assert 'refuse' in out, out
    # The route that names IXFR takes IXFR only.
    assert dig(router.host, router.port, 'IXFR=%d' % SERIAL, 'big.') == \
        dig(ns.host, ns.port, 'IXFR=%d' % SERIAL, 'big.')
    # Over UDP a transfer is told to come over TCP.
    a = ask(router, 'IXFR', tcp=False)
    assert a.flags & dns.flags.TC and not a.answer, a
    assert router.rows('show recent 1')[0]['outcome'] == 'xfr-over-udp'


def test_a_backend_that_does_not_transfer_gets_servfail(router, misbehave_factory):
    # The responder answers anything with one TXT: no SOA first, no transfer.
    mb = misbehave_factory('ok')
    dt.setup_pool(router, [('mb', mb.endpoint)])
    router.ok(r"route add '^x\.example\.$' qtype AXFR pool p")
    a = ask(router, 'AXFR', name='x.example.')
    assert a.rcode() == dns.rcode.SERVFAIL and not a.answer, a
    assert router.stat('xfr-aborted') == 1
    row = router.rows('show recent 1')[0]
    assert (row['outcome'], row['rcode'], row['backend']) == ('xfr-aborted', 'SERVFAIL', 'mb'), row


# --------------------------------------------------------------------------
# One client against the rest (README: "At most 64 transfers per worker")

XFR_MAX = 64            # transfers at once per worker
XFR_SHARE = 8           # of them, one client address's (xfr-max-per-client)
HUGE = 50000            # records: 1.1 MB a transfer, more than the router holds


def axfr_frame(qid):
    w = dns.message.make_query('big.', 'AXFR')
    w.id = qid
    w = w.to_wire()
    return struct.pack('!H', len(w)) + w


def read_transfers(conns, ids, records, deadline=60):
    """Read the connections until every ID in ids has ended; {id: 'servfail'
    or the number of records relayed in a transfer that ended whole}.
    Only headers are looked at: a transfer has ended when its records
    reach `records` (its SOA twice)."""
    got = {}
    for s in conns:
        s.settimeout(deadline)
        buf = b''
        mine = {i for i in ids if i // XFR_MAX == conns.index(s)}
        while any(i not in got or (got[i] != 'servfail' and got[i] < records)
                  for i in mine):
            chunk = s.recv(1 << 20)
            assert chunk, 'connection closed with transfers unfinished: %r' % \
                {i: got.get(i) for i in mine if got.get(i) != 'servfail'}
            buf += chunk
            while len(buf) >= 2 and len(buf) >= 2 + (buf[0] << 8 | buf[1]):
                n = buf[0] << 8 | buf[1]
                qid, flags, _, ancount = struct.unpack('!HHHH', buf[2:10])
                buf = buf[2 + n:]
                if flags & 0xf == dns.rcode.SERVFAIL and ancount == 0:
                    assert qid not in got, 'SERVFAIL in transfer %d' % qid
                    got[qid] = 'servfail'
                else:
                    assert got.get(qid) != 'servfail', qid
                    got[qid] = got.get(qid, 0) + ancount
    return got


def xfr_counts(st):
    """What ended the transfers asked, for an assertion's message (a
    string: pytest cuts a long dict short)."""
    return ' '.join('%s=%s' % (k, v) for k, v in sorted(st.items())
                    if v and (k in ('client-limit', 'overload', 'xfr', 'xfr-aborted',
                                    'spoofed', 'headerless', 'pool-down', 'servfail',
                                    'answers', 'forwarded') or k.startswith('backend:')))


@pytest.mark.parametrize('share', [None, 3])
def test_one_client_gets_a_share_of_the_transfer_slots(router_factory, nsd_factory, alloc,
                                                       share):
    """A client that asks for more transfers than a worker runs at once,
    pipelined on two connections it then does not read, gets its share of
    them started (XFR_SHARE, or xfr-max-per-client when set); the rest get
    SERVFAIL at once, counted in client-limit, and another client's
    transfer goes through meanwhile.  When it reads, it gets each of its
    running transfers whole."""
    r = router_factory(extra_args=['-t', '1'])
    r.ok('set tcp-idle-timeout 120')    # the greedy client reads nothing for a while
    if share is not None:
        r.ok('set xfr-max-per-client %d' % share)
        assert r.ctl('set xfr-max-per-client %d' % (XFR_MAX + 1)).rc == 2
    else:
        share = XFR_SHARE
    xfr_router(r, nsd_factory, routes=('AXFR',), records=HUGE)
    greedy, polite = alloc()[0], alloc()[0]
    assert greedy != polite
    conns, asked = [], 2 * XFR_MAX
    for c in range(2):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.bind((greedy, 0))
        s.connect((r.host, r.port))
        s.sendall(b''.join(axfr_frame(c * XFR_MAX + i) for i in range(XFR_MAX)))
        conns.append(s)
    try:
        def settled():
            st = r.stats()
            running = r.backends()['ns-big']['outstanding']
            done = st['client-limit'] + st['overload'] + st['xfr'] + st['xfr-aborted']
            return (running, st) if running + done == asked else None
        running, st = dt.wait_for(settled, 20, what='every transfer asked to start or fail')
        # Another client is not shut out.
        via = dig(r.host, r.port, '-b', polite, 'AXFR', 'big.')
        assert len(via.splitlines()) == HUGE + 1, via[-300:]
        # Never more than its share at once, and its share was let in:
        # running, or ended whole already.  On loopback the kernel took
        # 3 MB for a client with a 4 KB receive buffer that read nothing
        # (its send buffer grew to tcp_wmem's 4 MB), so a transfer may
        # end whole in it before the client reads a byte, and the next
        # asked then starts (twice in 8 runs at load 15 to 26: 2 running
        # and 1 ended; 2 running and 2 ended).
        started = running + st['xfr']
        assert running <= share <= started and st['xfr-aborted'] == 0, \
            (running, xfr_counts(st))
        assert st['client-limit'] == asked - started and st['overload'] == 0, xfr_counts(st)
        got = read_transfers(conns, range(asked), HUGE + 1)
    finally:
        for s in conns:
            s.close()
    whole = sorted(i for i, v in got.items() if v != 'servfail')
    assert len(whole) == started and all(got[i] == HUGE + 1 for i in whole), got
    st = r.stats()
    assert st['xfr'] == started + 1 and st['xfr-aborted'] == 0, xfr_counts(st)
    # Each refused one is in the recent queries as over the client's limit.
    rows = [x for x in r.rows('show recent 300') if x['type'] == 'AXFR']
    assert sum(x['outcome'] == 'client-limit' and x['rcode'] == 'SERVFAIL'
               for x in rows) == asked - started, rows[-3:]
