"""The seed article, end to end: a zone split over two NSD servers (a-b names
on one, c-d names on the other, the apex on both), dnsrouted in front with a
route per half and one for the apex, queries over UDP and TCP, round robin on
the apex, no route -> SERVFAIL, zone transfers refused, and all of it back
after kill -9 and a restart on the same database."""

import collections

import dns.message
import dns.query
import dns.rcode

import dnsroute_test as dt

ALL_NAMES = dt.names('abcd')


def check_all_names(seed, tcp):
    r = seed.router
    if tcp:
        for name in ALL_NAMES:
            dt.check_name(r, name, tcp=True)
    else:
        s = r.udp_socket()
        try:
            for name in ALL_NAMES:
                dt.check_name(r, name, sock=s)
        finally:
            s.close()


def check_unrouted(router):
    for name in ('zzz.example.', 'other.org.', 'e1.example.', 'a1.example.org.'):
        a = router.query(name, 'A')
        assert dt.rcode_text(a) == 'SERVFAIL', '%s: %s' % (name, a)
        assert not a.answer


def check_xfr_refused(router):
    for rdtype in ('AXFR', 'IXFR'):
        q = dns.message.make_query('example.', rdtype)
        a = dns.query.tcp(q, router.host, port=router.port, timeout=3)
        assert dt.rcode_text(a) == 'REFUSED', 'TCP %s: %s' % (rdtype, a)
        assert not a.answer
        q = dns.message.make_query('example.', rdtype)
        a = dns.query.udp(q, router.host, port=router.port, timeout=3)
        assert dt.rcode_text(a) == 'REFUSED', 'UDP %s: %s' % (rdtype, a)


def test_every_name_from_the_right_server_udp(seed):
    check_all_names(seed, tcp=False)


def test_every_name_from_the_right_server_tcp(seed):
    check_all_names(seed, tcp=True)


def test_apex_soa_and_ns(seed):
    for tcp in (False, True):
        a = seed.router.query('example.', 'SOA', tcp=tcp)
        assert dt.rcode_text(a) == 'NOERROR'
        assert a.answer and a.answer[0][0].serial == dt.SOA_SERIAL
        a = seed.router.query('example.', 'NS', tcp=tcp)
        assert [str(rd.target) for rd in a.answer[0]] == ['ns1.example.']


def test_apex_round_robin_splits_evenly(seed):
    r = seed.router
    before = r.backends()
    seen = dt.apex_answers(r, 20, ('ns-ab', 'ns-cd'))
    after = r.backends()
    counts = collections.Counter(seen)
    assert counts == {'ns-ab': 10, 'ns-cd': 10}, seen
    # Round robin, as in the seed: never the same server twice in a row.
    assert all(x != y for x, y in zip(seen, seen[1:])), seen
    for name, txt in (('ns-ab', 'ns-ab'), ('ns-cd', 'ns-cd')):
        delta = int(after[name]['queries']) - int(before[name]['queries'])
        assert delta == counts[txt], \
            'show backends says %s got %d queries, answers say %d' % (name, delta, counts[txt])


def test_show_commands_describe_the_setup(seed):
    r = seed.router
    b = r.backends()
    assert set(b) == {'ns-ab', 'ns-cd'}
    assert b['ns-ab']['address'] == seed.ns_ab.endpoint
    assert b['ns-cd']['address'] == seed.ns_cd.endpoint
    for row in b.values():
        assert row['admin'] == 'enabled' and row['health'] == 'up', row
        for k in ('outstanding', 'queries', 'failures'):
            assert isinstance(row[k], int), (k, row)
        for k in ('rtt_us', 'latency_us'):
            assert row[k] is None or isinstance(row[k], (int, float)), (k, row)
    assert dt.csv_set(b['ns-ab']['pools']) == {'ab', 'apex'}
    assert dt.csv_set(b['ns-cd']['pools']) == {'cd', 'apex'}

    p = r.pools()
    assert set(p) == {'ab', 'cd', 'apex'}
    assert p['apex']['policy'] == 'roundrobin'
    assert dt.csv_set(p['apex']['members']) == {'ns-ab', 'ns-cd'}
    assert int(p['apex']['up']) == 2 and int(p['ab']['up']) == 1

    routes = r.routes()
    assert [x['pattern'] for x in routes] == [
        r'^[ab][^.]*\.example\.$', r'^[cd][^.]*\.example\.$', r'^example\.$']
    assert [int(x['position']) for x in routes] == [1, 2, 3]
    assert [x['pool'] for x in routes] == ['ab', 'cd', 'apex']

    t = r.route_test('b7.example.', 'TXT')
    assert t['route'] == routes[0]['id'] and t['pool'] == 'ab' and t['backend'] == 'ns-ab'
    t = r.route_test('C9.Example')          # any case, trailing dot optional
    assert t['route'] == routes[1]['id'] and t['backend'] == 'ns-cd'
    t = r.route_test('other.org.')
    assert t['route'] is None and t['backend'] is None


def test_route_hits_count(seed):
    r = seed.router
    hits = {x['pattern']: int(x['hits']) for x in r.routes()}
    for name in ('a1.example.', 'b2.example.', 'c3.example.'):
        r.query(name, 'A')
    after = {x['pattern']: int(x['hits']) for x in r.routes()}
    assert after[r'^[ab][^.]*\.example\.$'] - hits[r'^[ab][^.]*\.example\.$'] == 2
    assert after[r'^[cd][^.]*\.example\.$'] - hits[r'^[cd][^.]*\.example\.$'] == 1


def test_unrouted_names_get_servfail(seed):
    before = seed.router.stats()
    check_unrouted(seed.router)
    after = seed.router.stats()
    assert after['noroute'] - before['noroute'] == 4


def test_zone_transfers_refused(seed):
    before = seed.router.stat('refused-xfr')
    check_xfr_refused(seed.router)
    assert seed.router.stat('refused-xfr') - before == 4


def test_query_counters_by_transport(seed):
    r = seed.router
    before = r.stats()
    for i in range(1, 6):
        r.query('a%d.example.' % i, 'A')
    for i in range(1, 4):
        r.query('c%d.example.' % i, 'A', tcp=True)
    after = r.stats()
    assert after['queries-udp'] - before['queries-udp'] == 5
    assert after['queries-tcp'] - before['queries-tcp'] == 3


def test_burst_of_udp_queries_from_one_socket(seed):
    """200 queries sent back to back before reading: all answered right."""
    r = seed.router
    s = r.udp_socket()
    s.settimeout(5)
    try:
        want = {}
        for i, name in enumerate(ALL_NAMES):
            q = dt.make_query(name, 'TXT', qid=1000 + i)
            want[q.id] = name
            s.sendto(q.to_wire(), (r.host, r.port))
        got = {}
        while len(got) < len(want):
            a = dns.message.from_wire(s.recv(65535))
            got[a.id] = a
    finally:
        s.close()
    for qid, name in want.items():
        a = got[qid]
        assert str(a.question[0].name) == name
        assert dt.txt_values(a) == [dt.expected_txt(name)], (name, a)


def test_everything_back_after_kill9_and_restart(seed):
    r = seed.router
    before_routes = [(x['id'], x['pattern'], x['pool']) for x in r.routes()]
    r.restart()
    seed.wait_up()
    assert [(x['id'], x['pattern'], x['pool']) for x in r.routes()] == before_routes
    assert set(r.pools()) == {'ab', 'cd', 'apex'}
    assert set(r.backends()) == {'ns-ab', 'ns-cd'}
    check_all_names(seed, tcp=False)
    for name in ('a1.example.', 'b50.example.', 'c1.example.', 'd50.example.'):
        dt.check_name(r, name, tcp=True)
    seen = dt.apex_answers(r, 20, ('ns-ab', 'ns-cd'))
    assert collections.Counter(seen) == {'ns-ab': 10, 'ns-cd': 10}, seen
    check_unrouted(r)
    check_xfr_refused(r)
    # And once more, to be sure a restart does not only work once.
    r.restart()
    seed.wait_up()
    dt.check_name(r, 'd7.example.')
