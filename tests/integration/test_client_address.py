"""The client's address to a backend (issue 14): `backend set B
client-address ecs` puts an EDNS Client Subnet option (RFC 7871) with the
client's network in each query that has EDNS, /24 and /56 by default
(settings ecs-prefix-v4, ecs-prefix-v6); a client's own option is kept, or
replaced with `set ecs-client replace`, and a /0 opt-out is always kept.
The misbehaving responder's echo mode says what it received, over UDP and
TCP, from IPv4 and IPv6 clients; an option the router added is taken out
of the answer again."""

import dns.edns
import dns.message
import dns.query

import dnsroute_test as dt

SRC4 = '127.0.0.9'


def ask(host, port, tcp=False, edns=True, options=(), source=None,
        source_port=0, rcode='NOERROR'):
    q = dns.message.make_query('x.example.', 'TXT', use_edns=0 if edns else False,
                               options=list(options))
    f = dns.query.tcp if tcp else dns.query.udp
    a = f(q, host, port=port, timeout=3, source=source, source_port=source_port)
    assert dt.rcode_text(a) == rcode, a
    return a


def said(a):
    vals = dt.txt_values(a)
    assert len(vals) == 1, a
    return vals[0]


def ecs_of(a):
    return [o for o in a.options if o.otype == dns.edns.ECS]


def test_ecs_to_an_echoing_backend(router_factory, misbehave_factory, alloc):
    _, port6 = alloc()
    r = router_factory(extra_args=['-l', '[::1]:%d' % port6])
    echo = misbehave_factory('echo')
    dt.setup_pool(r, [('echo', echo.endpoint)])

    def v4(**kw):
        return ask(r.host, r.port, source=SRC4, **kw)

    def v6(**kw):
        return ask('::1', port6, **kw)

    # Off by default: the backend sees the query as the client sent it.
    assert said(v4()) == 'ecs none'
    assert r.backends()['echo']['client_address'] == 'off'

    r.ok('backend set echo client-address ecs')
    assert r.backends()['echo']['client_address'] == 'ecs'
    for tcp in (False, True):
        a = v4(tcp=tcp)
        assert said(a) == 'ecs 1/24/0 7f0000', a
        # The echo's option with its scope does not reach the client.
        assert ecs_of(a) == [], a
        a = v6(tcp=tcp)
        assert said(a) == 'ecs 2/56/0 00000000000000', a
        assert ecs_of(a) == [], a

    r.ok('set ecs-prefix-v4 20')
    r.ok('set ecs-prefix-v6 48')
    assert said(v4()) == 'ecs 1/20/0 7f0000'
    assert said(v6(tcp=True)) == 'ecs 2/48/0 000000000000'

    # The client's own option: kept (and its answer keeps the echo's).
    mine = dns.edns.ECSOption('10.1.2.0', 24)
    a = v4(options=[mine])
    assert said(a) == 'ecs 1/24/0 0a0102', a
    assert len(ecs_of(a)) == 1, a
    r.ok('set ecs-client replace')
    assert said(v4(options=[mine])) == 'ecs 1/20/0 7f0000'
    # An opt-out (/0) is the client's wish, replace or not.
    assert said(v4(options=[dns.edns.ECSOption('0.0.0.0', 0)])) == 'ecs 1/0/0 '

    # Without EDNS nothing is added (the answer would need EDNS), counted.
    before = r.stat('ecs-skipped')
    assert said(v4(edns=False)) == 'no-edns'
    assert r.stat('ecs-skipped') == before + 1

    # Kept as set, and back to off.
    out = r.ctl('export').stdout
    assert 'client-address ecs' in out, out
    assert 'set ecs-prefix-v4 20\n' in out and 'set ecs-client replace\n' in out, out
    r.ok('backend set echo client-address off')
    assert said(v4()) == 'ecs none'
    bad = r.ctl('backend set echo client-address subnet')
    assert bad.rc == 2 and 'one of off, ecs, proxy' in bad.stderr, bad.describe()


def test_ecs_in_a_race(router, misbehave_factory):
    # Each member gets its own bytes: one with the option, one without.
    e1 = misbehave_factory('echo')
    e2 = misbehave_factory('echo', delay_ms=200)
    router.ok('pool add p policy race')
    router.ok('backend add with %s pool p client-address ecs %s' % (e1.endpoint, dt.BACKEND_FAST))
    router.ok('backend add without %s pool p %s' % (e2.endpoint, dt.BACKEND_FAST))
    router.ok(r"route add '\.example\.$' pool p")
    router.wait_health('with')
    router.wait_health('without')
    a = ask(router.host, router.port, source=SRC4)
    assert said(a) == 'ecs 1/24/0 7f0000' and ecs_of(a) == [], a
    router.ok('backend set with client-address off')
    router.ok('backend set without client-address ecs')
    a = ask(router.host, router.port, source=SRC4)
    assert said(a) == 'ecs none', a
