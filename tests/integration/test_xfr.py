"""Zone transfers through a route (issue 14): `route add REGEX qtype AXFR
pool P` (and IXFR) relays the transfer from a member of P over TCP,
message by message; without such a route AXFR and IXFR are refused as
before.  Checked against NSD serving a 10,000-record zone: what dig gets
through the router is what it gets from NSD."""

import subprocess

import dns.flags
import dns.message
import dns.query
import dns.rcode

import dnsroute_test as dt

RECORDS = 10000
SERIAL = 2024010101


def big_zone():
    lines = ['$ORIGIN big.', '$TTL 300',
             '@ IN SOA ns1.big. hostmaster.big. %d 3600 600 86400 300' % SERIAL,
             '@ IN NS ns1.big.', 'ns1 IN A 127.0.0.1']
    for i in range(RECORDS - 3):
        lines.append('h%d IN A 10.%d.%d.%d' % (i, i >> 16, (i >> 8) & 255, i & 255))
    return '\n'.join(lines) + '\n'


def dig(host, port, *args):
    r = subprocess.run(['dig', '-p', str(port), '@' + host, '+noall', '+answer',
                        '+nocookie', '+tries=1', '+time=10'] + list(args),
                       capture_output=True, text=True, timeout=60)
    return r.stdout


def xfr_router(router, nsd_factory, routes=('AXFR', 'IXFR')):
    ns = nsd_factory('ns-big', {'big.': big_zone()}, provide_xfr=True)
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
