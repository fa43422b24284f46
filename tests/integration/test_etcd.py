"""Nameservers registered through etcd (issue 15), as the router seed had
them: a key /dnsrouter/ID with the value ADDR:PORT,REGEX routes the names
matching REGEX to that server; deleting the key or letting its lease expire
takes the route away; malformed values are counted and skipped.  Each test
starts its own etcd (one member, or three where a member must go away while
the cluster keeps working) and real NSD servers, all on loopback.

Also: what the router does when etcd goes away (queries keep being
answered from the snapshot, `show fleet` says so) and comes back (it
catches up, resuming its watch, or reading everything again when etcd
compacted the history it needed), a router started while etcd is down
(it serves the registrations it stored), and the routers of a fleet
seeing each other.
"""

import os
import re
import shutil
import time

import pytest

import dnsroute_test as dt

SPLIT = r'^x.*\.split\.test\.$'
NAMES = ['xa.split.test.', 'xb.split.test.', 'xc.split.test.']
# Seconds a route may outlive its key's deletion in etcd (the watch).
ROUTE_AFTER_EXPIRY = 5

needs_dnsperf = pytest.mark.skipif(shutil.which('dnsperf') is None,
                                   reason='dnsperf not installed')


@pytest.fixture
def ns(nsd_factory):
    """start(name) -> an NSD serving split.test. whose TXT answers name."""
    def start(name):
        return nsd_factory(name, {'split.test.': dt.split_zone(name, NAMES)},
                           identity=name)
    return start


def registered_routes(router):
    return [r for r in router.routes() if int(r['id']) < 0]


def answers(router, name='xa.split.test.', rdtype='TXT'):
    """The rcode and TXT (or A) values of a query through the router."""
    r = router.query(name, rdtype, timeout=2)
    vals = dt.txt_values(r) if rdtype == 'TXT' else dt.a_values(r)
    return dt.rcode_text(r), vals


def wait_answer(router, want, name='xa.split.test.', deadline=10.0):
    """Until the router answers name's TXT with want (a server's name)."""
    def ok():
        try:
            return answers(router, name) == ('NOERROR', [want])
        except dt.dns.exception.Timeout:
            return False
    dt.wait_for(ok, deadline, what='%s answered by %s' % (name, want))


def wait_no_route(router, deadline=10.0):
    def gone():
        return not registered_routes(router) and \
            answers(router)[0] == 'SERVFAIL'
    dt.wait_for(gone, deadline, what='the registered route gone (SERVFAIL)')


def start_router(router_factory, etcd, *extra):
    return router_factory(['-e', etcd if isinstance(etcd, str) else etcd.urls] + list(extra))


# --------------------------------------------------------------------------
# Registrations


def test_put_routes_to_the_server_and_del_stops_it(etcd_factory, router_factory, ns):
    etcd = etcd_factory()
    r = start_router(router_factory, etcd)
    ns9 = ns('ns9')
    assert answers(r)[0] == 'SERVFAIL'

    etcd.put('/dnsrouter/ns9', '%s,%s' % (ns9.endpoint, SPLIT))
    wait_answer(r, 'ns9')
    assert answers(r, 'xb.split.test.', 'A') == ('NOERROR', ['10.9.9.2'])
    # The route comes after the operator's (none here), marked as etcd's.
    route, = registered_routes(r)
    assert route['pattern'] == SPLIT and route['pool'] == 'etcd:ns9'
    assert route['origin'] == 'etcd /dnsrouter/ns9'
    b = r.backends()['etcd:ns9']
    assert b['address'] == ns9.endpoint and b['health'] == 'up'
    assert b['origin'] == 'etcd /dnsrouter/ns9'
    assert r.pools()['etcd:ns9']['origin'] == 'etcd'
    # Health-checked like any other, with history.
    assert any(h['to'] == 'up' for h in r.rows('show health etcd:ns9'))
    # Not the operator's to change, and not exported.
    for cmd, word in (('route del %s' % route['id'], 'route'),
                      ('route move %s 1' % route['id'], 'route'),
                      ('backend drain etcd:ns9', 'backend'),
                      ('backend set etcd:ns9 weight 2', 'backend'),
                      ('pool set etcd:ns9 policy first', 'pool'),
                      ("route add '^y' pool etcd:ns9", 'pool')):
        res = r.ctl(cmd)
        assert res.rc == 1 and 'registered through etcd' in res.stdout + res.stderr, \
            res.describe()
    export = r.ok('export')
    assert 'ns9' not in export.replace('# and 1 route registered', '')
    assert '# and 1 route registered through etcd' in export
    # The counters and the fleet's view.
    st = r.stats()
    assert st['etcd-connected'] == 1 and st['registrations'] == 1
    reg, = r.fleet()['registrations']
    assert reg['state'] == 'live' and reg['name'] == '/dnsrouter/'
    assert int(reg['revision']) >= etcd.revision() - 1

    etcd.delete('/dnsrouter/ns9')
    wait_no_route(r)
    assert 'etcd:ns9' not in r.backends() and 'etcd:ns9' not in r.pools()


def test_same_regex_is_one_route_to_a_pool(etcd_factory, router_factory, ns):
    etcd = etcd_factory()
    r = start_router(router_factory, etcd)
    a, b = ns('ns-a'), ns('ns-b')
    etcd.put('/dnsrouter/a', '%s,%s' % (a.endpoint, SPLIT))
    etcd.put('/dnsrouter/b', '%s,%s' % (b.endpoint, SPLIT))
    dt.wait_for(lambda: r.pools().get('etcd:a', {}).get('up') == 2, 10,
                what='pool etcd:a with both members up')
    route, = registered_routes(r)
    assert route['origin'] == 'etcd /dnsrouter/a /dnsrouter/b'
    assert dt.csv_set(r.pools()['etcd:a']['members']) == {'etcd:a', 'etcd:b'}
    # Round robin, as the seed did.
    seen = {answers(r)[1][0] for _ in range(8)}
    assert seen == {'ns-a', 'ns-b'}
    # The first registration leads: when it goes, the other stays.
    etcd.delete('/dnsrouter/a')
    dt.wait_for(lambda: list(r.pools()) == ['etcd:b'], 10, what='only pool etcd:b')
    assert {answers(r)[1][0] for _ in range(4)} == {'ns-b'}


def test_operator_routes_come_first(etcd_factory, router_factory, ns):
    etcd = etcd_factory()
    r = start_router(router_factory, etcd)
    mine, theirs = ns('mine'), ns('theirs')
    r.ok('pool add p')
    r.ok('backend add mine %s pool p' % mine.endpoint)
    r.ok(r"route add '^xa\.split\.test\.$' pool p")
    etcd.put('/dnsrouter/t', '%s,%s' % (theirs.endpoint, SPLIT))
    wait_answer(r, 'theirs', 'xb.split.test.')
    assert answers(r, 'xa.split.test.') == ('NOERROR', ['mine'])
    assert [int(x['position']) for x in r.routes()] == [1, 2]
    # An operator's route added later still goes before the registered one.
    r.ok(r"route add '^xb\.split\.test\.$' pool p")
    assert [int(x['id']) > 0 for x in r.routes()] == [True, True, False]
    assert answers(r, 'xb.split.test.') == ('NOERROR', ['mine'])
    assert answers(r, 'xc.split.test.') == ('NOERROR', ['theirs'])
    # --replace works on the operator's state alone: the export applied
    # again changes nothing, one without routes leaves etcd's route be.
    export = r.ok('export').splitlines()
    res = r.ctl(export, args=['--replace'])
    assert res.rc == 0 and 'no changes' in res.stdout, res.describe()
    res = r.ctl([l for l in export if not l.startswith('route ')], args=['--replace'])
    assert res.rc == 0, res.describe()
    assert [int(x['id']) > 0 for x in r.routes()] == [False]
    assert answers(r, 'xa.split.test.') == ('NOERROR', ['theirs'])


def test_leased_key_expires_and_the_route_goes(etcd_factory, router_factory, ns):
    etcd = etcd_factory()
    r = start_router(router_factory, etcd)
    ns9 = ns('ns9')
    lease = etcd.lease_grant(2)
    etcd.put('/dnsrouter/ns9', '%s,%s' % (ns9.endpoint, SPLIT), lease=lease)
    wait_answer(r, 'ns9')
    # Nobody keeps the lease alive: like a nameserver that died.  etcd
    # deletes the key when the lease runs out (late on a loaded machine:
    # that is etcd's time, not ours); from then on the route has a few
    # seconds to go, the time the delete takes to come down the watch.
    def key_gone():
        return etcd.ctl(['get', '--print-value-only', '--',
                         '/dnsrouter/ns9']).stdout.strip() == ''
    dt.wait_for(key_gone, 15, interval=0.1, what='etcd to expire the lease')
    wait_no_route(r, deadline=ROUTE_AFTER_EXPIRY)


def test_malformed_values_are_counted_and_skipped(etcd_factory, router_factory, ns):
    etcd = etcd_factory()
    r = start_router(router_factory, etcd)
    ns9 = ns('ns9')
    bad = {'/dnsrouter/nocomma': ns9.endpoint,
           '/dnsrouter/badaddr': 'ns1.example:53,^x',
           '/dnsrouter/badregex': '%s,^[x' % ns9.endpoint,
           '/dnsrouter/explodes': '%s,^(a+)+$' % ns9.endpoint,
           '/dnsrouter/': '%s,^x' % ns9.endpoint}
    for k, v in bad.items():
        etcd.put(k, v)
    etcd.put('/dnsrouter/good', '%s,%s' % (ns9.endpoint, SPLIT))
    wait_answer(r, 'ns9')
    dt.wait_for(lambda: r.stat('registrations-malformed') == len(bad), 10,
                what='%d malformed' % len(bad))
    assert r.stat('registrations') == 1
    log = dt.read_text(r.log)
    for k in bad:
        assert len(re.findall(r'ignoring registration %s \(' % re.escape(k), log)) == 1, log
    assert 'missing terminating ]' in log and 'no comma' in log
    # A key fixed is no longer malformed; a good key turned bad loses
    # its route.
    etcd.put('/dnsrouter/nocomma', '%s,^nothing$' % ns9.endpoint)
    dt.wait_for(lambda: r.stat('registrations-malformed') == len(bad) - 1, 10,
                what='one malformed fewer')
    etcd.put('/dnsrouter/good', 'garbage')
    dt.wait_for(lambda: 'etcd:good' not in r.backends(), 10, what='etcd:good gone')
    assert r.stat('registrations-malformed-seen') == len(bad) + 1
    # The daemon never minded.
    assert r.ok('show settings')


# --------------------------------------------------------------------------
# etcd away and back


@needs_dnsperf
def test_etcd_stopped_under_load(etcd_factory, router_factory, ns, workdir):
    etcd = etcd_factory()
    r = start_router(router_factory, etcd)
    ns9 = ns('ns9')
    etcd.put('/dnsrouter/ns9', '%s,%s' % (ns9.endpoint, SPLIT))
    wait_answer(r, 'ns9')
    load = dt.Dnsperf(workdir, r, seconds=6, qps=2000,
                      names=['%s %s' % (n, t) for n in NAMES for t in ('A', 'TXT')])
    time.sleep(1)
    etcd.stop()
    dt.wait_for(lambda: r.fleet()['etcd'][0]['state'] == 'disconnected', 10,
                what='show fleet: disconnected')
    assert r.stat('etcd-connected') == 0
    assert r.fleet()['registrations'][0]['state'] == 'stale'
    assert 'disconnected' in r.settings()['etcd']
    res = load.wait()
    assert res['lost'] == 0 and set(res['rcodes']) == {'NOERROR'}, res
    assert res['completed'] == res['sent'] > 6000, res
    # etcd back: the router reconnects by itself and follows again.
    etcd.start()
    dt.wait_for(lambda: r.stat('etcd-connected') == 1, 15, what='reconnected')
    etcd.delete('/dnsrouter/ns9')
    wait_no_route(r)
    res = r.ctl('set etcd http://x')
    assert res.rc == 2 and 'dnsrouted -e' in res.stdout + res.stderr


def test_router_started_while_etcd_is_down_serves_stored(etcd_factory, router_factory,
                                                        ns):
    etcd = etcd_factory()
    r = start_router(router_factory, etcd)
    ns9 = ns('ns9')
    etcd.put('/dnsrouter/ns9', '%s,%s' % (ns9.endpoint, SPLIT))
    wait_answer(r, 'ns9')
    r.stop()
    etcd.stop()
    r.start()
    wait_answer(r, 'ns9')
    assert r.fleet()['etcd'][0]['state'] == 'disconnected'
    assert registered_routes(r)[0]['origin'] == 'etcd /dnsrouter/ns9'
    # Back: etcd's copy replaces the stored one.
    etcd.start()
    etcd.delete('/dnsrouter/ns9')
    wait_no_route(r, deadline=15)
    # Without -e the stored registrations go.
    etcd.put('/dnsrouter/ns9', '%s,%s' % (ns9.endpoint, SPLIT))
    wait_answer(r, 'ns9')
    r.stop()
    r.extra_args = []
    r.start()
    assert not registered_routes(r)
    assert r.fleet()['etcd'][0]['state'] == 'off'


def test_member_lost_watch_resumes_and_compaction_rereads(etcd_factory, router_factory,
                                                          ns):
    """Three members.  The router knows only m0: while m0 is stopped the
    others take a registration (the router catches up on its watch when m0
    is back).  Then, while m0 is stopped again, changes are made and the
    history compacted: resuming is impossible, the router reads everything
    again and ends with exactly what etcd has."""
    etcd = etcd_factory(3)
    m0, m1, _ = etcd.members
    r = start_router(router_factory, m0.url)
    a, b = ns('ns-a'), ns('ns-b')
    etcd.put('/dnsrouter/a', '%s,%s' % (a.endpoint, SPLIT))
    wait_answer(r, 'ns-a')

    m0.stop()
    dt.wait_for(lambda: r.stat('etcd-connected') == 0, 10, what='disconnected')
    etcd.put('/dnsrouter/b', '%s,^y\\.split\\.test\\.$' % b.endpoint, member=m1)
    m0.start()
    dt.wait_for(lambda: 'etcd:b' in r.backends(), 20, what='etcd:b caught up')
    assert 'etcd:a' in r.backends()
    assert 'compacted' not in dt.read_text(r.log)

    m0.stop()
    dt.wait_for(lambda: r.stat('etcd-connected') == 0, 10, what='disconnected')
    etcd.delete('/dnsrouter/a', member=m1)
    etcd.put('/dnsrouter/c', '%s,^z\\.split\\.test\\.$' % a.endpoint, member=m1)
    etcd.put('/dnsrouter/c', '%s,^zz\\.split\\.test\\.$' % a.endpoint, member=m1)
    etcd.compact(etcd.revision())
    m0.start()
    dt.wait_for(lambda: set(n for n in r.backends() if n.startswith('etcd:')) ==
                {'etcd:b', 'etcd:c'}, 20, what='etcd:b and etcd:c only')
    assert [x['pattern'] for x in registered_routes(r)] == \
        ['^y\\.split\\.test\\.$', '^zz\\.split\\.test\\.$']
    assert 'history compacted' in dt.read_text(r.log)
    assert r.fleet()['registrations'][0]['state'] == 'live'


def test_failover_to_another_member(etcd_factory, router_factory, ns):
    etcd = etcd_factory(3)
    m0, m1, m2 = etcd.members
    r = start_router(router_factory, etcd)
    ns9 = ns('ns9')
    etcd.put('/dnsrouter/ns9', '%s,%s' % (ns9.endpoint, SPLIT))
    wait_answer(r, 'ns9')
    in_use = [e['name'] for e in r.fleet()['endpoint'] if e['state'] == 'in use']
    assert in_use == [m0.url]
    m0.stop()
    dt.wait_for(lambda: r.stat('etcd-failovers') >= 1 and r.stat('etcd-connected') == 1,
                15, what='failed over')
    etcd.delete('/dnsrouter/ns9', member=m2)
    wait_no_route(r)
    eps = {e['name']: e for e in r.fleet()['endpoint']}
    assert eps[m0.url]['state'] == 'failing' and eps[m0.url]['detail']


# --------------------------------------------------------------------------
# The fleet


def test_routers_see_each_other(etcd_factory, router_factory):
    etcd = etcd_factory()
    r1 = start_router(router_factory, etcd, '-E', '/fleet-x')
    r2 = start_router(router_factory, etcd, '-E', '/fleet-x/')

    def routers(r):
        return {x['name']: x for x in r.fleet().get('router', [])
                if not x['state'].startswith('self, not')}
    dt.wait_for(lambda: len(routers(r1)) == 2 and len(routers(r2)) == 2, 15,
                what='both routers seen by both')
    ids = set(routers(r1))
    assert ids == set(routers(r2))
    assert sorted(x['state'] for x in routers(r1).values()) == ['self', 'up']
    keys = etcd.ctl(['get', '--prefix', '--keys-only', '/fleet-x/routers/']).stdout.split()
    assert sorted(k.rsplit('/', 1)[1] for k in keys) == sorted(ids)
    assert any(r1.endpoint in x['detail'] for x in routers(r2).values())
    assert r1.stat('fleet-routers') == 2
    # A router that stops leaves at once (its lease is revoked).
    r2.stop()
    dt.wait_for(lambda: len(routers(r1)) == 1, 5, what='r2 gone from r1\'s view')
    # The id stays across restarts.
    r2.start()
    dt.wait_for(lambda: set(routers(r1)) == ids, 15, what='r2 back with its id')


def test_flags_are_checked(router_factory, alloc):
    r = router_factory(start=False)
    for args, want in ((['-e', 'https://127.0.0.1:2379'], 'only http://'),
                       (['-e', 'http://127.0.0.1:2379', '-E', '/d/', '-R', '/d/x/'],
                        'overlap'),
                       (['-R', '/x/'], 'need etcd endpoints'),
                       (['-e', 'ftp:x'], 'not an etcd URL')):
        p = dt.subprocess.run(r.argv() + args, capture_output=True, text=True, timeout=10)
        assert p.returncode != 0 and want in p.stderr, (args, p.stderr)


# --------------------------------------------------------------------------
# Endpoint names


def name_zone(addr):
    """etcd.test. with m.etcd.test. at addr (None: no such name)."""
    z = ['$ORIGIN etcd.test.', '$TTL 0',
         '@ IN SOA ns hostmaster 1 3600 600 86400 0', '@ IN NS ns',
         'ns IN A 127.0.0.1']
    if addr:
        z.append('m IN A %s' % addr)
    return '\n'.join(z) + '\n'


def serve_name(srv, addr):
    srv.zones['etcd.test.'] = name_zone(addr)
    srv.zone_files('zone')
    srv.restart()


def test_endpoint_name_resolved_at_each_connect(etcd_factory, router_factory,
                                                 nsd_factory, ns, alloc, workdir):
    """-e http://NAME:PORT: the name is looked up at each connect, through
    a name server of the test's own (DNSROUTED_RESOLV_CONF), so a start
    before the name exists is not fatal and a member that moves to another
    address is followed."""
    etcd = etcd_factory()
    m1 = etcd.members[0]
    h1, port = m1.client
    dnsd = nsd_factory('dns', {'etcd.test.': name_zone(None)})
    conf = os.path.join(workdir, 'resolv.conf')
    with open(conf, 'w') as f:
        f.write('nameserver %s:%d\nsearch etcd.test\n' % (dnsd.host, dnsd.port))
    url = 'http://m.etcd.test:%d' % port
    r = router_factory(['-e', url], start=False)
    r.env = dict(os.environ, DNSROUTED_RESOLV_CONF=conf)
    # The name does not resolve yet: the router starts, serves, says why.
    r.start()
    dt.wait_for(lambda: 'cannot resolve m.etcd.test' in dt.read_text(r.log), 10,
                what='the failed lookup logged')
    assert r.stat('etcd-connected') == 0
    etcd_row, = r.fleet()['etcd']
    assert url in str(etcd_row) and 'cannot resolve' in str(etcd_row)

    # The name appears: the router connects (at its next try, 2 s apart
    # at most) and takes registrations.
    serve_name(dnsd, h1)
    dt.wait_for(lambda: r.stat('etcd-connected') == 1, 15, what='connected by name')
    ns9 = ns('ns9')
    etcd.put('/dnsrouter/ns9', '%s,%s' % (ns9.endpoint, SPLIT))
    wait_answer(r, 'ns9')

    # The member moves: a new etcd on another address, same port, and the
    # name follows it.  The router reconnects there (another cluster: it
    # reads everything again) and takes what that one holds.
    h2 = next(h for h in ('127.0.0.%d' % i for i in range(2, 255))
              if h != h1 and dt.AddrAllocator.is_free(h, port))
    etcd.stop()
    dt.wait_for(lambda: r.stat('etcd-connected') == 0, 15, what='etcd lost')
    serve_name(dnsd, h2)
    addrs = iter([(h2, port)])
    e2 = dt.Etcd(os.path.join(workdir, 'moved'),
                 lambda: next(addrs, None) or alloc(), 1)
    try:
        e2.start()
        ns8 = ns('ns8')
        e2.put('/dnsrouter/ns8', '%s,%s' % (ns8.endpoint, SPLIT))
        dt.wait_for(lambda: r.stat('etcd-connected') == 1, 20,
                    what='connected to the moved member')
        wait_answer(r, 'ns8', deadline=15)
        assert 'm.etcd.test resolves to %s now (was %s)' % (h2, h1) in \
            dt.read_text(r.log)
        # Stopped while connected: no lookup is left pending at exit.
        r.stop()
    finally:
        e2.stop()
