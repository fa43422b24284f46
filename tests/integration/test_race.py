"""The race policy (the dnsmus seed, issue 14) against real NSD servers and
the misbehaving responder: every usable member is asked at once, the first
good answer wins (NOERROR with an answer record; NODATA or NXDOMAIN too
where the pool's `good` says so), and when none wins the best of the rest
goes back: NXDOMAIN or NODATA before SERVFAIL or REFUSED.  Who won shows in
`show recent`, `show backends`, `show stats` and the metrics."""

import dnsroute_test as dt


def race_pool(router, members, good=None):
    """Race pool p of the (name, endpoint) members, every *.example. name
    routed to it, every member up."""
    router.ok('pool add p policy race' + (' good %s' % good if good else ''))
    for name, ep in members:
        router.ok('backend add %s %s pool p %s' % (name, ep, dt.BACKEND_FAST))
    router.ok(r"route add '\.example\.$' pool p")
    for name, _ in members:
        router.wait_health(name, 'up')


def wins(router):
    return {n: int(b['race_wins']) for n, b in router.backends().items()}


def last(router, n=1):
    return router.rows('show recent %d' % n)


def halves(nsd_factory):
    """Two NSD servers with halves of example.: ns-ab knows a*, b*; ns-cd
    answers NXDOMAIN for them (and knows c*, d*)."""
    ab = nsd_factory('ns-ab', {'example.': dt.example_zone('ab', 'ns-ab')})
    cd = nsd_factory('ns-cd', {'example.': dt.example_zone('cd', 'ns-cd')})
    return ab, cd


def test_the_server_that_knows_the_name_wins(router, nsd_factory):
    ab, cd = halves(nsd_factory)
    race_pool(router, [('ns-ab', ab.endpoint), ('ns-cd', cd.endpoint)])
    stats0 = router.stats()
    for tcp in (False, True):
        for name in ('a1.example.', 'b7.example.', 'c3.example.', 'd50.example.'):
            dt.check_name(router, name, tcp=tcp)
    # Each half's server won its own names, and only those.
    # (check_name asks TXT and A: two races a name.)
    assert wins(router) == {'ns-ab': 8, 'ns-cd': 8}
    stats = router.stats()
    assert stats['race'] - stats0['race'] == 16
    assert stats['backend:ns-ab:race-wins'] == 8
    # Both were asked every time: the loser's answer was discarded or
    # came in before the winner's (then it only counts as an answer).
    back = router.backends()
    assert int(back['ns-ab']['queries']) >= 16 and int(back['ns-cd']['queries']) >= 16
    row = last(router)[0]
    assert (row['name'], row['outcome'], row['backend'], row['rcode']) == \
        ('d50.example.', 'race-won', 'ns-cd', 'NOERROR'), row
    assert row['tries'] == 2 and row['latency_us'] > 0, row
    # A name neither knows: both said NXDOMAIN, the best of the rest.
    a = router.query('zz.example.')
    assert dt.rcode_text(a) == 'NXDOMAIN', a
    row = last(router)[0]
    assert (row['outcome'], row['rcode']) == ('race-best', 'NXDOMAIN'), row
    assert wins(router) == {'ns-ab': 8, 'ns-cd': 8}
    # The pool and the metrics say the same.
    assert router.pools()['p']['policy'] == 'race'
    assert router.pools()['p']['good'] == 'answer'


def test_a_slow_good_answer_beats_a_fast_nxdomain(router, nsd_factory,
                                                  misbehave_factory):
    ab, _ = halves(nsd_factory)
    slow = misbehave_factory('delay', delay_ms=300)
    race_pool(router, [('ns-ab', ab.endpoint), ('slow', slow.endpoint)])
    router.ok('set query-timeout 2000')
    # ns-ab says NXDOMAIN at once; the responder's TXT comes 300 ms later
    # and wins.
    a = router.query('x1.example.', 'TXT')
    assert dt.rcode_text(a) == 'NOERROR' and dt.txt_values(a) == ['misbehave'], a
    row = last(router)[0]
    assert (row['outcome'], row['backend']) == ('race-won', 'slow'), row
    # (It waited for the slow one: far longer than NSD takes.)
    assert row['latency_us'] >= 250000, row
    # ...and ns-ab's own names are ns-ab's, the slow answer discarded.
    dt.check_name(router, 'a1.example.')
    assert wins(router) == {'ns-ab': 2, 'slow': 1}
    assert router.stat('race-discarded') >= 1
    # With NXDOMAIN good, the fast NXDOMAIN wins.
    router.ok('pool set p good answer,nxdomain')
    assert router.pools()['p']['good'] == 'answer,nxdomain'
    a = router.query('x1.example.', 'TXT')
    assert dt.rcode_text(a) == 'NXDOMAIN', a
    row = last(router)[0]
    assert (row['outcome'], row['backend']) == ('race-won', 'ns-ab'), row
    assert wins(router) == {'ns-ab': 3, 'slow': 1}


def test_nodata_wins_only_when_good_says_so(router, nsd_factory, misbehave_factory):
    ab, _ = halves(nsd_factory)
    slow = misbehave_factory('delay', delay_ms=200)
    race_pool(router, [('ns-ab', ab.endpoint), ('slow', slow.endpoint)],
              good='answer,nodata')
    # a1 has no MX at ns-ab: NODATA, good here, and first.
    a = router.query('a1.example.', 'MX')
    assert dt.rcode_text(a) == 'NOERROR' and not a.answer, a
    assert last(router)[0]['backend'] == 'ns-ab'
    router.ok('pool set p good answer')
    a = router.query('a1.example.', 'MX')
    assert dt.txt_values(a) == ['misbehave'], a


def test_best_of_the_rest(router, nsd_factory, misbehave_factory):
    ab, _ = halves(nsd_factory)
    broken = misbehave_factory('servfail')
    silent = misbehave_factory('drop')
    router.ok('set query-timeout 400')
    race_pool(router, [('ns-ab', ab.endpoint), ('broken', broken.endpoint),
                       ('silent', silent.endpoint)])
    # SERVFAIL at once, NXDOMAIN at once, nothing: at the timeout the
    # NXDOMAIN, whichever came first.
    a = router.query('x1.example.')
    assert dt.rcode_text(a) == 'NXDOMAIN', a
    row = last(router)[0]
    assert (row['outcome'], row['backend'], row['tries']) == \
        ('race-best', 'ns-ab', 3), row
    assert row['latency_us'] >= 350000, row
    # A good answer still wins at once over the broken and the silent.
    dt.check_name(router, 'a1.example.')
    assert wins(router) == {'ns-ab': 2, 'broken': 0, 'silent': 0}
    # Without ns-ab: SERVFAIL from broken is all there is.
    router.ok('backend disable ns-ab')
    a = router.query('a1.example.')
    assert dt.rcode_text(a) == 'SERVFAIL', a
    row = last(router)[0]
    assert (row['outcome'], row['backend']) == ('race-best', 'broken'), row
    # Only the silent one: a timeout.
    router.ok('backend disable broken')
    a = router.query('a1.example.')
    assert dt.rcode_text(a) == 'SERVFAIL', a
    assert last(router)[0]['outcome'] == 'timeout'


def test_race_counters_reach_the_metrics(router_factory, nsd_factory, alloc):
    mhost, mport = alloc()
    r = router_factory(extra_args=['-m', '%s:%d' % (mhost, mport)])
    ab, cd = halves(nsd_factory)
    race_pool(r, [('ns-ab', ab.endpoint), ('ns-cd', cd.endpoint)])
    for name in ('a1.example.', 'a2.example.', 'c1.example.'):
        dt.check_name(r, name)
    status, body = dt.scrape('http://%s:%d/metrics' % (mhost, mport))
    assert status == 200, body
    m = dt.samples(body)
    assert m['dnsroute_backend_race_wins_total{backend="ns-ab"}'] == 4
    assert m['dnsroute_backend_race_wins_total{backend="ns-cd"}'] == 2
    assert m['dnsroute_race_total'] == 6


def test_pool_add_usage_and_help(router):
    usage = router.ctl('pool add')
    assert usage.rc != 0
    text = usage.stdout + usage.stderr
    assert 'race' in text and 'good ANSWER' in text, text
    # Refused as bad usage, with the words that work.
    bad = router.ctl('pool add p policy fastest')
    assert bad.rc == 2 and bad.stderr.endswith(
        'one of roundrobin, weighted, first, least-outstanding, race, fanout\n'), \
        bad.describe()
    bad = router.ctl('pool add p policy race good nxdomain,bogus')
    assert bad.rc == 2 and 'several joined by commas' in bad.stderr, bad.describe()
    # good is a race pool's.
    bad = router.ctl('pool add p good answer,nxdomain')
    assert bad.rc == 1 and 'race' in bad.stdout + bad.stderr, bad.describe()
    assert 'p' not in router.pools()
    # help explains each policy from the word table.
    h = router.ctl('help pool add')
    assert h.rc == 0
    for word in ('roundrobin', 'weighted', 'first', 'least-outstanding', 'race',
                 'fanout', 'answer', 'nodata', 'nxdomain'):
        assert any(line.split()[:1] == [word] for line in h.stdout.splitlines()), \
            (word, h.stdout)
    # What is set comes back in export, and only what is not a default.
    router.ok('pool add q policy race good answer,nodata')
    router.ok('pool add plain')
    out = router.ctl('export').stdout
    assert 'pool add q policy race good answer,nodata\n' in out, out
    assert 'pool add plain policy roundrobin\n' in out, out
