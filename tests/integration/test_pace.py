"""The change budget (issue 16), as an operator sees it: while queries
flow, the main thread's CPU for changes is held to change-cpu-budget (% of
one core), so a change takes longer and the queries keep their latency.

With a load flowing and a tiny budget, a series of drains over one
connection and a --replace finish, and what they made is right (the
export is the file); reads (show settings) answer meanwhile; show stats
says why the changes were slow (pace-waits, pace-waited-ms, pace-cpu-ms).
With the budget off (0), or with no queries, nothing waits.  No timing
bounds: the counters say whether a change waited."""

import random
import subprocess
import time

import dnsroute_test as dt
from test_scale import needs_dnsperf, wild_zone

N = 1000            # routes of a --replace


def routes(first, n):
    """As export writes them."""
    return ['route add ^[a-q][^.]*\\.z%06d\\.bench\\.test\\.$ pool p' % i
            for i in range(first, first + n)]


def configure(r, nsd_factory, budget):
    """A pool of two members of one NSD, N routes and the budget; the
    file a replace makes of it with N other routes (the same budget: a
    replace sets what its file does not say back to the default)."""
    ns = nsd_factory('ns', {'bench.test.': wild_zone('10.16.0.1')})
    head = ['pool add p'] + ['backend add s%d %s pool p' % (k, ns.endpoint)
                             for k in range(2)]
    head.append('set change-cpu-budget %d' % budget)
    tail = [r'route add \.bench\.test\.$ pool p comment catch-all']
    assert r.ctl(head + routes(0, N) + tail).rc == 0
    r.wait_health('s0', 'up')
    r.wait_health('s1', 'up')
    return head + routes(N, N) + tail


def load(workdir, r):
    """A dnsperf load long enough for the slowest run, stopped at the end."""
    rnd = random.Random(16)
    names = ['%s%d.z%06d.bench.test. A' % (rnd.choice('abcdefghijklmnopq'), k,
                                            rnd.randrange(2 * N)) for k in range(5000)]
    return dt.Dnsperf(workdir, r, seconds=300, qps=2000, names=names)


def pace(r):
    return {k: v for k, v in r.stats().items() if k.startswith('pace-')}


def route_lines(r):
    return [l for l in r.ok('export').splitlines() if l.startswith('route ')]


def drains(r, pairs):
    """drain/undrain pairs over one control connection, each answered."""
    c = dt.CtlConn(r.sock)
    try:
        for _ in range(pairs):
            for cmd in ('backend drain s1', 'backend undrain s1'):
                code, text, _ = c.reply(cmd, deadline=60)
                assert code == 0, (cmd, code, text)
    finally:
        c.close()


def replace_reading(r, conf):
    """A --replace to conf, and show settings over another connection
    until it ends: (its exit status, its output's tail, how many show
    settings were answered before it ended)."""
    path = r.dir + '/replace.cmd'
    with open(path, 'w') as f:
        f.write(''.join(l + '\n' for l in conf))
    # Its listing of the changes to a file: a pipe read only at the end
    # would fill and stop it.
    out = open(r.dir + '/replace.out', 'w')
    p = subprocess.Popen([dt.DNSROUTECTL, '-s', r.sock, '-q', '-f', path, '--replace'],
                         stdout=out, stderr=subprocess.STDOUT)
    reader = dt.CtlConn(r.sock)
    answered = 0
    try:
        while p.poll() is None:
            rows = reader.rows('show settings')
            assert any(x.get('setting', x.get('name')) == 'change-cpu-budget' for x in rows), rows
            answered += 1 if p.poll() is None else 0
        p.wait(timeout=10)
    finally:
        reader.close()
        out.close()
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.returncode, dt.read_text(r.dir + '/replace.out', 20), answered


@needs_dnsperf
def test_a_tiny_budget_spreads_changes_under_load_and_they_come_out_right(
        router, nsd_factory, workdir):
    r = router
    conf = configure(r, nsd_factory, 1)
    before = pace(r)
    assert before['pace-on'] == 0 and before['pace-waits'] == 0, before
    q = load(workdir, r)
    try:
        dt.wait_for(lambda: pace(r)['pace-on'] == 1, deadline=30,
                    what='the budget to see the queries flow')
        drains(r, 20)
        mid = pace(r)
        rc, out, answered = replace_reading(r, conf)
        assert rc == 0, (rc, out)
        res = q.stop()
    finally:
        q.kill()
    after = pace(r)
    print('paced: after the drains %s, after the replace %s; %d show settings '
          'answered during the replace; load %s' % (mid, after, answered, res))
    # Both waited for the budget, and said so.
    assert mid['pace-waits'] > 0 and mid['pace-waited-ms'] > 0, mid
    assert after['pace-waits'] > mid['pace-waits'], (mid, after)
    assert after['pace-cpu-ms'] > mid['pace-cpu-ms'], (mid, after)
    # Reads were not held behind the paced replace.
    assert answered > 0
    # What the changes made is right, and no query was lost for them.
    assert route_lines(r) == [l for l in conf if l.startswith('route ')]
    assert r.backends()['s1']['admin'] != 'drained', r.backends()['s1']
    assert res['lost'] == 0 and set(res['rcodes']) == {'NOERROR'}, res


@needs_dnsperf
def test_budget_off_nothing_waits_under_load(router, nsd_factory, workdir):
    r = router
    conf = configure(r, nsd_factory, 0)
    q = load(workdir, r)
    try:
        start = r.stat('queries-udp')
        dt.wait_for(lambda: r.stat('queries-udp') > start + 1000, deadline=30,
                    what='the load to flow')
        drains(r, 10)
        rc, out, _ = replace_reading(r, conf)
        assert rc == 0, (rc, out)
        q.stop()
    finally:
        q.kill()
    after = pace(r)
    assert after == {'pace-on': 0, 'pace-waits': 0, 'pace-waited-ms': 0,
                     'pace-cpu-ms': 0}, after
    assert route_lines(r) == [l for l in conf if l.startswith('route ')]


def test_no_queries_nothing_waits(router, nsd_factory):
    r = router
    conf = configure(r, nsd_factory, 1)
    drains(r, 10)
    rc, out, _ = replace_reading(r, conf)
    assert rc == 0, (rc, out)
    assert r.ctl(routes(2 * N, N)).rc == 0      # a batch
    after = pace(r)
    assert after['pace-on'] == 0 and after['pace-waits'] == 0, after
    assert after['pace-cpu-ms'] == 0, after
    assert route_lines(r) == [l for l in conf if l.startswith('route ')] + routes(2 * N, N)


@needs_dnsperf
def test_a_paced_replace_cut_short_anywhere_leaves_all_or_nothing(
        router, nsd_factory, workdir):
    """While paced, a replace's phases run in slices: a client that leaves at any point of it (cut at fractions
    of the time a whole one took) leaves the routes as they were, or as
    the file says if it had ended first, never a mix; the store takes
    changes again, and no query is lost."""
    r = router
    conf = configure(r, nsd_factory, 5)
    orig = route_lines(r)
    want = [l for l in conf if l.startswith('route ')]
    other = conf[:-len(want)] + orig
    q = load(workdir, r)
    try:
        dt.wait_for(lambda: pace(r)['pace-on'] == 1, deadline=30,
                    what='the budget to see the queries flow')
        t0 = time.monotonic()
        rc, out, _ = replace_reading(r, conf)
        whole = time.monotonic() - t0
        assert rc == 0, (rc, out)
        now, cuts = want, []
        for k in range(1, 7):
            target = other if now == want else conf
            text = ''.join(l + '\n' for l in target).encode()
            rep = dt.Session(r)
            rep.send('replace', text)
            time.sleep(whole * k / 7)        # where to cut, not a wait
            rep.close()
            dt.wait_for(lambda: 'busy' not in
                        r.ctl('route del 999999999').stderr,
                        deadline=60, what='the store free again')
            got = route_lines(r)
            ends = [l for l in target if l.startswith('route ')]
            assert got in (now, ends), (k, len(got))
            cuts.append('ended' if got == ends and got != now else 'cut')
            now = got
        res = q.stop()
    finally:
        q.kill()
    print('a whole replace took %.1f s; cuts: %s; %s' % (whole, cuts, pace(r)))
    assert 'cut' in cuts, cuts
    assert res['lost'] == 0 and set(res['rcodes']) == {'NOERROR'}, res
