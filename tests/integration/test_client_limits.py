"""One client address cannot hold more than its share of the outstanding
query slots (setting max-outstanding-per-client, counter client-limit), so
a burst from one address, malformed or slow, leaves every other client
served (issue 12)."""

import socket
import struct
import time

import dns.message
import dns.query

import dnsroute_test as dt

def udp_from(host):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dt.big_buffers(s, send=True)
    s.bind((host, 0))
    return s


def malformed_edns(qid, name):
    """Issue 12's packet: an EDNS option claiming 60 octets when 8 are there."""
    wire = b''.join(bytes([len(l)]) + l.encode() for l in name.split('.') if l) + b'\x00'
    return (struct.pack('!6H', qid, 0x0100, 1, 0, 0, 1) + wire + struct.pack('!HH', 16, 1)
            + b'\x00' + struct.pack('!HHIH', 41, 1232, 0, 12)
            + struct.pack('!HH', 10, 60) + b'12345678')


def outstanding(r, name):
    return int(r.backends()[name]['outstanding'])


def test_a_burst_from_one_address_leaves_the_others_served(router, nsd_factory,
                                                           misbehave_factory, alloc):
    """10,000 malformed-EDNS packets and 10,000 queries to a backend that
    answers after 5 s, sent in a burst from one address, on a router with
    2,000 slots: the malformed ones get FORMERR and take no slot, the slow
    ones take no more than the per-client default (1,000), and normal
    queries from another address are answered by NSD meanwhile."""
    r = router
    ns = nsd_factory('ns-ab', {'example.': dt.example_zone('ab', 'ns-ab')})
    slow = misbehave_factory('delay', delay_ms=5000)
    r.ok('set max-outstanding 2000')
    r.ok('set query-timeout 8000')
    r.ok('set retries 0')
    r.ok('pool add ab')
    r.ok('pool add slow')
    r.ok('backend add ns-ab %s pool ab %s' % (ns.endpoint, dt.BACKEND_FAST))
    r.ok('backend add slow %s pool slow %s' % (slow.endpoint, dt.BACKEND_FAST))
    r.ok(r"route add '\.slow\.$' pool slow")
    r.ok(r"route add '^[ab][^.]*\.example\.$' pool ab")
    r.wait_health('ns-ab', 'up')
    r.wait_health('slow', 'up')

    flood_host, _ = alloc()
    good_host, _ = alloc()
    before = r.stats()
    flood = udp_from(flood_host)
    t0 = time.monotonic()
    try:
        for i in range(10000):
            flood.sendto(malformed_edns(i, 'a%d.example.' % (i % 50 + 1)), (r.host, r.port))
            q = dt.make_query('q%d.slow.' % i, 'TXT', qid=(10000 + i) & 0xffff)
            flood.sendto(q.to_wire(), (r.host, r.port))
        sent_in = time.monotonic() - t0
        # The slow ones the router let in are waiting on the responder.
        dt.wait_for(lambda: outstanding(r, 'slow') >= 900, 5,
                    what='the flooder at its share of the slots')
        held = outstanding(r, 'slow')
        good = udp_from(good_host)
        try:
            answered = 0
            for name in dt.names('ab', 10):
                a = dns.query.udp(dt.make_query(name, 'TXT'), r.host, port=r.port,
                                  timeout=3, sock=good)
                assert dt.rcode_text(a) == 'NOERROR', (name, a)
                assert dt.txt_values(a) == [dt.expected_txt(name)], (name, a)
                answered += 1
            # ... all while the flooder held its share.
            assert outstanding(r, 'slow') >= 900
        finally:
            good.close()
        good_done = time.monotonic() - t0
    finally:
        flood.close()
    after = r.stats()
    diff = dt.counter_diff(before, after)
    print('burst of 20,000 sent in %.2f s; flooder held %d slots; %d normal queries '
          'answered NOERROR %.2f s after the burst began; counters: %s'
          % (sent_in, held, answered, good_done, diff))
    assert r.settings()['max-outstanding-per-client'] == '1000'     # the default
    assert held <= 1000, held
    assert diff.get('malformed', 0) >= 1000 and dt.spoof_count(after) == dt.spoof_count(before), diff
    assert diff.get('client-limit', 0) >= 1000, diff
    assert 'overload' not in diff, diff
    # And the flooder's slow ones are answered in the end.
    dt.wait_for(lambda: outstanding(r, 'slow') == 0, 15, what='the slow queries answered')


def test_cap_as_a_count_and_as_a_percentage(router_factory, misbehave_factory, alloc):
    """Over the cap, a UDP query is dropped and a TCP query answered
    SERVFAIL at once, both counted in client-limit (show stats and the
    metrics); other addresses are not affected.  The setting takes a count
    or a share of max-outstanding."""
    mhost, mport = alloc()
    r = router_factory(extra_args=['-m', '%s:%d' % (mhost, mport)])
    m = misbehave_factory('delay', delay_ms=1500)
    dt.setup_pool(r, [('m', m.endpoint)], timeout_ms=5000)
    for value, cap in (('5', 5), ('1%', 5)):
        r.ok('set max-outstanding 500')
        r.ok('set max-outstanding-per-client %s' % value)
        assert r.settings()['max-outstanding-per-client'] == value
        before = r.stats()
        host, _ = alloc()
        s = udp_from(host)
        try:
            for i in range(cap + 3):
                s.sendto(dt.make_query('u%d.example.' % i, qid=i).to_wire(), (r.host, r.port))
            dt.wait_for(lambda: r.stat('client-limit') - before['client-limit'] == 3, 5,
                        what='three UDP queries over the cap counted')
            # Another address still gets in.
            other = udp_from(alloc()[0])
            try:
                other.sendto(dt.make_query('other.example.', qid=999).to_wire(),
                             (r.host, r.port))
                other.settimeout(5)
                a = dns.message.from_wire(other.recv(65535))
                assert a.id == 999 and dt.txt_values(a) == ['misbehave'], a
            finally:
                other.close()
            # The capped client hears back exactly its first `cap` queries.
            s.settimeout(3)
            got = sorted(dns.message.from_wire(s.recv(65535)).id for _ in range(cap))
            assert got == list(range(cap)), got
            dt.hears_nothing(s, 0.5)
        finally:
            s.close()

    # TCP: the same cap; the queries over it are answered SERVFAIL at once.
    r.ok('set max-outstanding-per-client 5')
    before = r.stat('client-limit')
    msgs = [dt.make_query('t%d.example.' % i, qid=100 + i) for i in range(8)]
    t = time.monotonic()
    answers = dt.tcp_pipeline(r.host, r.port, msgs, timeout=10)
    rcodes = sorted((a.id, dt.rcode_text(a)) for a in answers.values())
    assert rcodes == [(100 + i, 'NOERROR') for i in range(5)] + \
        [(105 + i, 'SERVFAIL') for i in range(3)], rcodes
    assert r.stat('client-limit') - before == 3
    print('TCP: 8 pipelined, 5 answered by the backend, 3 SERVFAIL; %.2f s' %
          (time.monotonic() - t))

    status, body = dt.scrape('http://%s:%d/metrics' % (mhost, mport))
    assert status == 200, body
    assert dt.samples(body)['dnsroute_client_limit_total'] == r.stat('client-limit') == 9

    for bad in ('0', '-1', '101%', '0%', 'x', '5 %', '%'):
        assert r.ctl('set max-outstanding-per-client %s' % bad).rc == 2, bad  # a bad value: a usage error
