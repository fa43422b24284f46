"""A backend that goes away while queries to it are out: over UDP the
kernel's port unreachable comes back as ECONNREFUSED on the router's
socket, over TCP the connection closes.  Either way every query out to it
fails at once (SERVFAIL here, with no retry and no other member), not at
its timeout: upstream.c finds them in its ID tables."""

import socket

import dns.message
import dns.rcode
import pytest

import dnsroute_test as dt

# Far longer than the test waits: a query that waited for it would show
# as a timeout in the counters.
TIMEOUT_MS = 30000


def ask(r, name):
    """A UDP client socket with a query for name sent to r."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    s.sendto(dns.message.make_query(name, 'TXT').to_wire(), (r.host, r.port))
    return s


def answer(s):
    s.settimeout(15)
    return dns.message.from_wire(s.recv(65535))


@pytest.mark.parametrize('transport', ['udp', 'tcp'])
def test_queries_out_to_a_backend_that_goes_fail_at_once(router, misbehave_factory,
                                                         transport):
    m = misbehave_factory('drop')
    dt.setup_pool(router, [('gone', m.endpoint)], TIMEOUT_MS, retries=0,
                  options='transport %s' % transport)
    # Checks that do not take it down within the test: the queries, not
    # the checks, must find that it went.
    router.ok('backend set gone interval 60 fall 10')
    before = router.stats()
    socks = []
    try:
        for i in range(3):
            socks.append(ask(router, 'a%d.example.' % i))
        dt.wait_for(lambda: dt.counter_diff(before, router.stats()).get('forwarded', 0) >= 3,
                    what='three queries out to the silent member')
        m.stop()
        if transport == 'udp':
            # Nothing tells the router until it sends there again: the
            # port unreachable for this one fails all four.
            socks.append(ask(router, 'b.example.'))
        rcodes = [dns.rcode.to_text(answer(s).rcode()) for s in socks]
    finally:
        for s in socks:
            s.close()
    assert rcodes == ['SERVFAIL'] * len(socks), rcodes
    diff = dt.counter_diff(before, router.stats())
    assert 'timeouts' not in diff, diff
    assert router.backends()['gone']['health'] == 'up', router.backends()
