"""zone split and zone check on a zone of 100,000 names: split by three
routes into three slices, an NSD per slice behind the router, every name
answered through the router (dnsperf over all of them: no NXDOMAIN), zone
check query passes; then a route edited to a wrong character class, and
zone check names exactly the names it loses and fails: inside begin in
the shell, in a batch with --dry-run (nothing applied), and after the edit
is committed.  The times go to BUILDDIR/tests/out/zone.txt."""

import json
import os
import re
import shutil
import subprocess
import time

import pytest

import dnsroute_test as dt
import zone_helpers as zh

N = 100000
HANG_BOUND = 10     # a hang, not a timing target
# The tests on the 100,000-name zone, in an ASan build: at load 16 the
# split alone took 107 s, and a test was still reading routes at 240 s.
BIG_TIME_LIMIT = 360
LETTERS = 'abcdefghijklmnopqrstuvwxyz'
# zone check's per-question timeout where every question is answered:
# over TCP a question gets one try, and 500 ms was missed at load 10.
CHECK_TIMEOUT_MS = 10000

ROUTES = [
    r"route add '^[a-h][^.]*\.' pool p1",
    r"route add '^[i-q][^.]*\.' pool p2",
    r"route add '^[r-z][^.]*\.' pool p3",
]
# The same p2 route with a class one letter short: the q names are lost.
WRONG = r"route add '^[i-p][^.]*\.' pool p2 at 2"


def name_of(i):
    return '%s%05d' % (LETTERS[i % 26], i)


def write_zone(path):
    with open(path, 'w') as f:
        f.write('$ORIGIN example.\n$TTL 300\n'
                '@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n'
                '@ IN NS ns1\nns1 IN A 127.0.0.1\n')
        for i in range(N):
            f.write('%s IN A 10.%d.%d.%d\n' % (name_of(i), i >> 16, (i >> 8) & 255, i & 255))
            if i % 10 == 0:
                f.write('%s IN TXT "t%d"\n' % (name_of(i), i))


def record(line):
    dt.record(line, 'zone.txt')


def dnsperf_all(workdir, router):
    """Every name once through the router; returns (sent, {rcode: n}, lost)."""
    data = os.path.join(workdir, 'names.in')
    with open(data, 'w') as f:
        f.write('example. SOA\n')
        for i in range(N):
            f.write('%s.example. A\n' % name_of(i))
    argv = ['dnsperf', '-s', router.host, '-p', str(router.port), '-d', data,
            '-n', '1', '-Q', '20000', '-c', '4', '-t', '5']
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    sent = int(re.search(r'Queries sent:\s+(\d+)', p.stdout).group(1))
    lost = int(re.search(r'Queries lost:\s+(\d+)', p.stdout).group(1))
    m = re.search(r'Response codes:[ \t]*(.*)', p.stdout)
    rcodes = {k: int(v) for k, v in re.findall(r'([A-Z]+) (\d+) \(', m.group(1))}
    qps = re.search(r'Queries per second:\s+([\d.]+)', p.stdout)
    return sent, rcodes, lost, float(qps.group(1)) if qps else 0.0


def lost_names(doc):
    return {r['name'] for r in doc.get('rows', [])
            if r.get('problem') in ('no route', 'no pool')}


def q_names():
    return {'%s.example.' % name_of(i) for i in range(N) if name_of(i)[0] == 'q'}


@pytest.fixture
def big(router_factory, nsd_factory, workdir):
    if shutil.which('dnsperf') is None:
        pytest.skip('dnsperf not installed')
    r = router_factory()
    zone = os.path.join(workdir, 'big.zone')
    write_zone(zone)
    zh.configure(r, ROUTES)
    t = time.monotonic()
    slices, doc = zh.split(r, zone, os.path.join(workdir, 'slices'))
    record('zone split of %d names (%d records) into 3 slices: %.2f s'
           % (N + 2, N + N // 10 + 3, time.monotonic() - t))
    rows = {row['pool']: row for row in doc['rows']}
    assert sorted(rows) == ['p1', 'p2', 'p3'], doc
    # Each name in one slice, the apex and its name server in all three.
    assert sum(int(row['names']) for row in rows.values()) == N + 2
    assert sum(int(row['records']) for row in rows.values()) == N + N // 10 + 3 + 2 * 3
    zh.serve(r, nsd_factory, slices)
    return r, zone


@pytest.mark.time_limit(BIG_TIME_LIMIT)
def test_100k_names_split_served_and_checked(big, workdir):
    r, zone = big
    sent, rcodes, lost, qps = dnsperf_all(workdir, r)
    record('dnsperf over all %d names through the router: %s, %d lost, %.0f qps'
           % (sent, rcodes, lost, qps))
    assert sent == N + 1
    assert rcodes == {'NOERROR': N + 1} and lost == 0, (rcodes, lost)

    # While the check runs, the control socket serves other clients.
    t = time.monotonic()
    argv = [dt.DNSROUTECTL, '-s', r.sock, '--json', '-c',
            'zone check %s query rate 20000' % zone]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    during, worst = 0, 0.0
    try:
        while True:
            try:
                p.wait(timeout=0.25)
                break
            except subprocess.TimeoutExpired:
                pass
            t1 = time.monotonic()
            assert r.ctl('show stats', timeout=HANG_BOUND).rc == 0
            if p.poll() is None:
                during += 1
                worst = max(worst, time.monotonic() - t1)
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    record('zone check query of %d names at 20,000 qps: %.2f s; meanwhile %d '
           'show stats, the slowest %.3f s' % (N + 2, time.monotonic() - t, during, worst))
    doc = json.loads(out)
    assert p.returncode == 0 and doc['ok'], (out[-3000:], err)
    assert 'every one of %d names' % (N + 2) in doc['message']
    assert during > 0


def check_fails_naming(doc, rc, expected):
    assert rc == 1 and doc['ok'] is False, doc.get('error')
    got = lost_names(doc)
    assert got == expected, 'lost %d names, expected %d; extra %s, missing %s' % (
        len(got), len(expected), sorted(got - expected)[:5], sorted(expected - got)[:5])


@pytest.mark.time_limit(BIG_TIME_LIMIT)
def test_wrong_class_found_before_and_after_commit(big, workdir):
    r, zone = big
    ids = {row['pattern']: row['id'] for row in r.rows('show routes')}
    p2 = ids[r'^[i-q][^.]*\.']
    edit = os.path.join(workdir, 'edit.cmd')
    with open(edit, 'w') as f:
        f.write('route del %s\n%s\n' % (p2, WRONG))
    expected = q_names()
    assert len(expected) == N // 26 + (1 if N % 26 > 16 else 0)

    # The batch, checked against the zone before it is applied.
    res = r.ctl(None, json=True, args=('-f', edit, '--dry-run', '-c',
                                       'zone check %s' % zone), timeout=120)
    docs = [json.loads(l) for l in res.stdout.splitlines() if l.startswith('{')]
    # After it, the abort's own document says nothing was applied.
    assert docs[-1]['command'] == 'abort' and docs[-1]['ok'], docs[-1]
    check_fails_naming(docs[-2], res.rc, expected)
    assert [row['pattern'] for row in r.routes()][1] == r'^[i-q][^.]*\.', 'dry run applied'

    # The same batch with the check in it: refused, nothing applied.
    with open(edit, 'a') as f:
        f.write('zone check %s\n' % zone)
    res = r.ctl(None, json=True, args=('-f', edit), timeout=120)
    assert res.rc == 1, res.describe()
    assert [row['pattern'] for row in r.routes()][1] == r'^[i-q][^.]*\.'

    # Committed: the check names the same names.
    r.ok('route del %s' % p2)
    r.ok(WRONG)
    res = zh.ctl(r, 'zone check %s' % zone, json_out=True)
    check_fails_naming(json.loads(res.stdout), res.rc, expected)
    # And the q names really are lost through the router.
    a = r.query('%s.example.' % name_of(16), 'A')
    assert dt.rcode_text(a) == 'SERVFAIL', a


@pytest.mark.time_limit(BIG_TIME_LIMIT)
def test_wrong_class_found_inside_begin_in_the_shell(big, workdir):
    from test_shell import Tmux, TMUX
    if TMUX is None:
        pytest.skip('tmux not installed')
    r, zone = big
    ids = {row['pattern']: row['id'] for row in r.rows('show routes')}
    tm = Tmux(workdir)
    try:
        tm.shell(r, os.path.join(workdir, 'history'))
        in_txn = tm.prompt[:-1] + ' [txn]>'
        for line in ('begin', 'route del %s' % ids[r'^[i-q][^.]*\.'], WRONG):
            tm.type(line)
            tm.keys('Enter')
            tm.wait_line(in_txn)
        tm.type('zone check %s' % zone)
        tm.keys('Enter')
        lost = len(q_names())
        tm.wait(lambda s: '%d of %d names reach no pool' % (lost, N + 2) in s,
                'zone check to fail on the pending routes', deadline=60)
        tm.type('abort')
        tm.keys('Enter')
        tm.wait(lambda s: 'aborted' in s, 'abort')
    finally:
        tm.close()
    # Outside the transaction the routes are whole again.
    res = zh.ctl(r, 'zone check %s' % zone)
    assert res.rc == 0, res.describe()[-2000:]


def zone_helpers_running(zone):
    """PIDs of the dnsroutectl-zone processes working on zone."""
    pids = []
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                argv = f.read().split(b'\0')
        except OSError:
            continue
        if argv[0].endswith(b'dnsroutectl-zone') and any(zone.encode() in a for a in argv):
            pids.append(int(pid))
    return pids


def test_ctrl_c_stops_a_zone_check_in_the_shell(router, nsd_factory, workdir):
    """The zone commands run in a helper of dnsroutectl's: Ctrl-C in the
    shell stops a zone check query there too, and the shell goes on."""
    from test_shell import Tmux, TMUX
    if TMUX is None:
        pytest.skip('tmux not installed')
    r = router
    zh.configure(r, ROUTES)
    zone = small_zone(workdir, 'slow.zone', n=300)
    slices, _ = zh.split(r, zone, os.path.join(workdir, 'slices'))
    zh.serve(r, nsd_factory, slices)
    tm = Tmux(workdir)
    try:
        tm.shell(r, os.path.join(workdir, 'history'))
        tm.type('zone check %s query rate 1' % zone)      # 300 s of questions
        tm.keys('Enter')
        dt.wait_for(lambda: zone_helpers_running(zone), 30, what='the zone check running')
        tm.keys('C-c')
        tm.wait(lambda s: 'interrupted' in s, 'the zone check to say it was interrupted')
        tm.wait_line(tm.prompt)
        dt.wait_for(lambda: not zone_helpers_running(zone), 10, what='the helper to end')
        tm.type('show settings')
        tm.keys('Enter')
        tm.wait(lambda s: 'default-action' in s, 'the daemon answering the shell again')
    finally:
        tm.close()


# --------------------------------------------------------------------------
# Bad input: a clear error naming the line, nothing written, and the
# connection (and a batch's transaction) still in step.

SMALL = '''$ORIGIN example.
$TTL 300
@ IN SOA ns1 hostmaster 1 3600 600 86400 300
@ IN NS ns1
ns1 IN A 127.0.0.1
'''


def small_zone(workdir, name, extra='', n=3000):
    path = os.path.join(workdir, name)
    with open(path, 'w') as f:
        f.write(SMALL)
        for i in range(n):
            f.write('%s IN A 10.0.%d.%d\n' % (name_of(i), (i >> 8) & 255, i & 255))
        f.write(extra)
    return path


def test_bad_zone_files(router, workdir):
    r = router
    zh.configure(r, ROUTES)
    out = os.path.join(workdir, 'out')
    cases = [
        (small_zone(workdir, 'syntax.zone', 'a1 IN A 300.1.2.3\n'), 'syntax.zone:3006:'),
        (small_zone(workdir, 'include.zone', '$INCLUDE other.zone\n'), '$INCLUDE is not supported'),
        (small_zone(workdir, 'outside.zone', 'www.example.org. IN A 10.1.1.1\n'),
         'www.example.org. is not in the zone example.'),
        (small_zone(workdir, 'second.zone', 'x IN SOA ns1 h 1 2 3 4 5\n'),
         'second.zone:3006: a second SOA'),
        (os.path.join(workdir, 'missing.zone'), 'No such file'),
    ]
    with open(os.path.join(workdir, 'nosoa.zone'), 'w') as f:
        f.write('$ORIGIN example.\nns1 IN A 127.0.0.1\n')
    cases.append((os.path.join(workdir, 'nosoa.zone'), 'must start with its SOA'))
    for path, msg in cases:
        res = r.ctl('zone split %s %s' % (path, out))
        assert res.rc == 1 and msg in res.stderr, (msg, res.describe())
        assert not os.path.exists(out) or os.listdir(out) == [], os.listdir(out)
        res = r.ctl('zone check %s' % path, json=True)
        doc = json.loads(res.stdout)
        assert res.rc == 1 and doc['ok'] is False and msg in doc['error'], res.describe()
    # A command used wrongly is bad usage (2), its word named, the usage shown.
    res = r.ctl('zone split %s' % cases[0][0])
    assert res.rc == 2 and 'usage: zone split ZONEFILE DIR' in res.stderr, res.describe()
    res = r.ctl('zone check %s rate 0' % cases[0][0])
    assert res.rc == 2 and 'bad value "0" for rate' in res.stderr, res.describe()


def test_zone_in_a_batch_keeps_the_transaction(router, workdir):
    """A batch that splits and goes on is one transaction; one whose
    zone file breaks half way (lookups in flight) is refused, names the
    file's line, and leaves no transaction behind."""
    r = router
    for p in zh.POOLS:
        r.ok('pool add %s' % p)
    good = small_zone(workdir, 'good.zone')
    bad = small_zone(workdir, 'bad.zone', 'zzz IN A not-an-address\n')
    res = r.ctl(ROUTES + ['zone split %s %s' % (good, os.path.join(workdir, 'out')),
                          "route add '^zz' refuse"])
    assert res.rc == 0, res.describe()
    assert len(r.routes()) == 4
    res = r.ctl(["route add '^yy' refuse", 'zone split %s %s'
                 % (bad, os.path.join(workdir, 'out2'))])
    assert res.rc == 1 and 'bad.zone:3006:' in res.stderr, res.describe()
    assert len(r.routes()) == 4, 'the batch was applied'
    assert not os.path.exists(os.path.join(workdir, 'out2')) or \
        os.listdir(os.path.join(workdir, 'out2')) == []
    # No transaction was left open: another client may change things.
    r.ok("route add '^ww' refuse")


def test_zone_commands_are_the_ctls(router):
    """Over the socket they are refused: the daemon reads no files."""
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(router.sock)
    f = s.makefile('rwb')
    assert f.readline().startswith(b'0001 ')
    f.write(b'zone split /etc/passwd /tmp\n')
    f.flush()
    line = f.readline().decode()
    s.close()
    assert line.startswith('9000 ') and 'runs in dnsroutectl' in line, line


def test_check_query_names_what_backends_lack(router, nsd_factory, workdir):
    """Each slice served where it should not be, or wrong: zone check query
    names every name a backend does not answer as the zone says, with the
    reason, and fails; served right, it passes (over TCP too)."""
    r = router
    zh.configure(r, ROUTES)
    zone = small_zone(workdir, 'q.zone', n=300)
    slices, doc = zh.split(r, zone, os.path.join(workdir, 'slices'))
    # p1's server has p1's slice with one address changed; p2's has p1's
    # slice (every p2 name NXDOMAIN); p3's serves another zone (REFUSED).
    changed = name_of(26)                       # an a-name, in p1
    wrong = slices['p1'].replace('%s.example.\t300\tIN\tA\t10.0.0.26'
                                 % changed, '%s.example.\t300\tIN\tA\t10.9.9.9' % changed)
    assert wrong != slices['p1']
    n1 = nsd_factory('ns-p1', {'example.': wrong})
    n2 = nsd_factory('ns-p2', {'example.': slices['p1']})
    n3 = nsd_factory('ns-p3', {'other.': slices['p3'].replace('example.', 'other.')})
    for pool, n, extra in (('p1', n1, ''), ('p2', n2, ' transport tcp'), ('p3', n3, '')):
        r.ok('backend add ns-%s %s pool %s %s%s' % (pool, n.endpoint, pool,
                                                 dt.BACKEND_FAST, extra))
    for pool in ('p1', 'p2', 'p3'):
        r.wait_health('ns-' + pool)
    res = zh.ctl(r, 'zone check %s query rate 5000 timeout %d' % (zone, CHECK_TIMEOUT_MS),
                 json_out=True)
    doc = json.loads(res.stdout)
    assert res.rc == 1 and doc['ok'] is False, res.describe()
    got = {}
    for row in doc['rows']:
        if row.get('problem') and row.get('name'):
            got.setdefault(row['problem'], set()).add((row['name'], row['backend']))
    p2 = {('%s.example.' % name_of(i), 'ns-p2') for i in range(300)
          if name_of(i)[0] in 'ijklmnopq'}
    # (ns1., routed to p2, is in p1's slice too: the apex's name server.)
    p3 = {('%s.example.' % name_of(i), 'ns-p3') for i in range(300)
          if name_of(i)[0] in 'rstuvwxyz'}
    assert got.get('wrong-answer') == {('%s.example.' % changed, 'ns-p1')}, got
    assert got.get('nxdomain') == p2, sorted(got.get('nxdomain', ()))[:5]
    assert got.get('refused') == p3, sorted(got.get('refused', ()))[:5]
    assert set(got) == {'wrong-answer', 'nxdomain', 'refused'}, set(got)

    # The right slices: it passes, p2 over TCP.
    for pool, n in (('p1', n1), ('p2', n2), ('p3', n3)):
        n.stop()
    n1 = nsd_factory('ns-p1b', {'example.': slices['p1']})
    n2 = nsd_factory('ns-p2b', {'example.': slices['p2']})
    n3 = nsd_factory('ns-p3b', {'example.': slices['p3']})
    for pool, n in (('p1', n1), ('p2', n2), ('p3', n3)):
        r.ok('backend set ns-%s addr %s' % (pool, n.endpoint))
    for pool in ('p1', 'p2', 'p3'):
        r.wait_health('ns-' + pool)
    res = zh.ctl(r, 'zone check %s query rate 5000 timeout %d' % (zone, CHECK_TIMEOUT_MS))
    assert res.rc == 0, res.describe()
