"""Pool policies against real NSD backends (tests/unit/test_balance.c covers
each policy member by member): round robin over three servers takes them in
turn, and with one of them drained or down the other two share its turns
evenly, where the next member used to take them all and carry twice the
load of the other (issue 14)."""

import collections

import dnsroute_test as dt

SERVERS = ('ns1', 'ns2', 'ns3')


def three(router, nsd_factory):
    """Pool p of three NSD servers with the same zone, each answering the
    apex TXT with its own name."""
    members = []
    for name in SERVERS:
        ns = nsd_factory(name, {'example.': dt.example_zone('ab', name)})
        members.append((name, ns))
    dt.setup_pool(router, [(n, ns.endpoint) for n, ns in members],
                  policy='roundrobin')
    router.ok(r"route add '^example\.$' pool p")
    return dict(members)


def test_round_robin_in_turn(router, nsd_factory):
    three(router, nsd_factory)
    seen = dt.apex_answers(router, 30, SERVERS)
    assert collections.Counter(seen) == {n: 10 for n in SERVERS}, seen
    assert all(x != y for x, y in zip(seen, seen[1:])), seen


def test_round_robin_spreads_a_drained_members_turns(router, nsd_factory):
    three(router, nsd_factory)
    router.ok('backend drain ns2')
    seen = dt.apex_answers(router, 40, SERVERS)
    assert collections.Counter(seen) == {'ns1': 20, 'ns3': 20}, seen
    # Still in turn: never the same server twice in a row.
    assert all(x != y for x, y in zip(seen, seen[1:])), seen


def test_round_robin_spreads_a_down_members_turns(router, nsd_factory):
    servers = three(router, nsd_factory)
    before = router.backends()
    servers['ns1'].stop()
    router.wait_health('ns1', 'down')
    seen = dt.apex_answers(router, 40, SERVERS)
    after = router.backends()
    assert collections.Counter(seen) == {'ns2': 20, 'ns3': 20}, seen
    # What show backends counts is what answered.
    for name in ('ns2', 'ns3'):
        assert int(after[name]['queries']) - int(before[name]['queries']) == 20


def test_routes_keep_their_pools_as_pools_come_and_go(router, nsd_factory):
    """A route names its pool by its place among the pools, which are
    sorted by name (config.h): a pool added or deleted before it moves
    it, a drain shares the routes as they are.  Each route keeps sending
    its names to its own pool's servers throughout."""
    for name in ('ns1', 'ns2'):
        ns = nsd_factory(name, {'example.': dt.example_zone('ab', name)})
        dt.setup_pool(router, [(name, ns.endpoint)], pool='p' + name[-1],
                      route=r'^example\.$' if name == 'ns2' else r'^a')

    def check():
        assert dt.apex_answers(router, 4, SERVERS) == ['ns2'] * 4
        before = router.backends()
        router.query('a1.example.', 'A')
        after = router.backends()
        assert [int(after[n]['queries']) - int(before[n]['queries'])
                for n in ('ns1', 'ns2')] == [1, 0], (before, after)
        assert {r['pattern']: r['pool'] for r in router.routes()} == \
            {'^a': 'p1', r'^example\.$': 'p2'}

    check()
    router.ok('pool add a')
    check()
    router.ok('backend drain ns2')
    router.ok('backend undrain ns2')
    check()
    router.ok('pool del a')
    router.ok('pool add q')
    check()
