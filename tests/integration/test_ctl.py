"""dnsroutectl against the daemon: batches are one transaction, errors are
exact (line numbers, PCRE2's own words), exit codes mean what they say, and
settings and route order survive kill -9."""

import os
import re
import shutil
import subprocess

import pytest

import dnsroute_test as dt

PCRE2_BRACKET = 'missing terminating ] for character class'


def snapshot(r):
    """What a failed command must leave unchanged."""
    return {
        'routes': [(x['id'], x['position'], x['pattern'], x['action'], x['pool'])
                   for x in r.routes()],
        'pools': sorted((k, v['policy'], tuple(sorted(dt.csv_set(v['members']))))
                        for k, v in r.pools().items()),
        'backends': sorted((k, v['address'], tuple(sorted(dt.csv_set(v['pools']))))
                           for k, v in r.backends().items()),
    }


def test_batch_error_at_line_3_applies_nothing(seed):
    r = seed.router
    before = snapshot(r)
    lines = [
        'pool add p1',
        'backend add nb1 %s pool p1 %s' % (seed.ns_ab.endpoint, dt.BACKEND_FAST),
        'pool add p1',                      # duplicate: fails
        r"route add '^x[^.]*\.example\.$' pool p1",
        'pool add p2',
    ]
    res = r.ctl(lines)
    assert res.rc == 1, res.describe()
    assert '%s:3:' % res.path in res.stderr or re.search(r':3: ', res.stderr), res.describe()
    assert ':1:' not in res.stderr and ':2:' not in res.stderr
    assert snapshot(r) == before
    # Still serving as before.
    dt.check_name(r, 'a1.example.')


def test_good_batch_applies_fully(seed):
    r = seed.router
    lines = [
        '# comment lines and blank lines are allowed',
        '',
        'pool add p1',
        'backend add nb1 %s pool p1 %s' % (seed.ns_cd.endpoint, dt.BACKEND_FAST),
        r"route add '^a1\.example\.$' pool p1 at 1 comment 'a1 to the c-d server'",
        'set query-timeout 1200',
        'pool add p2 policy first',
    ]
    res = r.ctl(lines)
    assert res.rc == 0, res.describe()
    assert {'p1', 'p2'} <= set(r.pools())
    assert r.pools()['p2']['policy'] == 'first'
    routes = r.routes()
    assert routes[0]['pattern'] == r'^a1\.example\.$' and routes[0]['pool'] == 'p1'
    assert routes[0]['comment'] == 'a1 to the c-d server'
    assert len(routes) == 4
    assert str(r.settings()['query-timeout']) == '1200'
    r.wait_health('nb1', 'up')
    # a1 now goes to the c-d server, which does not have it.
    a = r.query('a1.example.', 'TXT')
    assert dt.rcode_text(a) == 'NXDOMAIN', a
    dt.check_name(r, 'a2.example.')


def test_stdin_batch_is_one_transaction(seed):
    r = seed.router
    before = snapshot(r)
    res = r.ctl(stdin='pool add s1\nroute add \'^[ab\' pool s1\npool add s2\n')
    assert res.rc == 1, res.describe()
    assert ':2:' in res.stderr, res.describe()
    assert snapshot(r) == before
    res = r.ctl(stdin='pool add s1\npool add s2\n')
    assert res.rc == 0, res.describe()
    assert {'s1', 's2'} <= set(r.pools())


def test_invalid_regex_says_what_pcre2_said(seed):
    r = seed.router
    before = snapshot(r)
    res = r.ctl("route add '^[ab' pool ab")
    assert res.rc == 1, res.describe()
    msg = res.stdout + res.stderr
    assert PCRE2_BRACKET in msg, res.describe()
    assert re.search(r'offset\D{0,3}4\b', msg), res.describe()
    assert snapshot(r) == before

    doc = r.json("route add '^[ab' pool ab")
    assert doc['_rc'] == 1 and doc['ok'] is False, doc
    assert doc['code'] in (8000, 9000), doc
    assert PCRE2_BRACKET in doc['error'] and 'offset' in doc['error'], doc
    assert snapshot(r) == before


def test_invalid_regex_in_a_batch_names_the_line(seed):
    r = seed.router
    before = snapshot(r)
    res = r.ctl(['pool add q1', r"route add '(unclosed' pool q1"])
    assert res.rc == 1, res.describe()
    assert ':2:' in res.stderr and 'offset' in res.stderr, res.describe()
    assert 'missing closing parenthesis' in res.stderr, res.describe()
    assert snapshot(r) == before


def test_errors_and_exit_codes(router):
    r = router
    # Cannot reach the daemon: 2.
    res = r.ctl('show routes', sock=os.path.join(r.dir, 'no-such.sock'))
    assert res.rc == 2, res.describe()
    assert res.stderr.strip(), 'no message for an unreachable daemon'
    # Bad usage of dnsroutectl itself: 2.
    p = subprocess.run([dt.DNSROUTECTL, '--no-such-option'], capture_output=True,
                       text=True, timeout=10)
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    # The daemon refuses the command: 1.
    for cmd in ('pool del no-such-pool', 'route move 999 1'):
        res = r.ctl(cmd)
        assert res.rc == 1, res.describe()
        assert res.stderr.strip() or res.stdout.strip(), res.describe()
    # A command used wrongly is bad usage: 2 (README), with the usage.
    for cmd in ('route add', 'backend add x not-an-address',
                'set no-such-setting 1', 'set retries many', 'frobnicate'):
        res = r.ctl(cmd)
        assert res.rc == 2, res.describe()
        assert res.stderr.strip(), res.describe()
    res = r.ctl('route add')
    assert 'usage: route add REGEX' in res.stderr, res.describe()
    doc = r.json('pool del no-such-pool')
    assert doc['ok'] is False and doc['code'] in (8000, 9000) and doc['error'], doc
    # And a good command still works: 0.
    assert r.ctl('show routes').rc == 0


def test_abbreviations(router):
    assert router.ctl('sh ro').rc == 0
    assert router.ctl('sh sett').rc == 0


def test_route_move_changes_the_first_match_and_persists(seed):
    r = seed.router
    ids = seed.route_ids()
    ab = ids[r'^[ab][^.]*\.example\.$']
    r.ok(r"route add '^a1\.example\.$' pool cd comment override")
    over = seed.route_ids()[r'^a1\.example\.$']
    assert r.routes()[-1]['id'] == over          # appended at the end
    assert r.route_test('a1.example.')['route'] == ab
    assert dt.txt_values(r.query('a1.example.', 'TXT')) == ['txt-a1']

    r.ok('route move %s 1' % over)
    routes = r.routes()
    assert [x['id'] for x in routes][0] == over
    assert [int(x['position']) for x in routes] == [1, 2, 3, 4]
    t = r.route_test('a1.example.', 'TXT')
    assert t['route'] == over and t['pool'] == 'cd' and t['backend'] == 'ns-cd'
    a = r.query('a1.example.', 'TXT')
    assert dt.rcode_text(a) == 'NXDOMAIN', a      # the c-d server has no a1
    dt.check_name(r, 'a2.example.')               # the rest still to ns-ab

    order = [(x['id'], x['pattern']) for x in r.routes()]
    r.restart()
    seed.wait_up()
    assert [(x['id'], x['pattern']) for x in r.routes()] == order
    assert dt.rcode_text(r.query('a1.example.', 'TXT')) == 'NXDOMAIN'

    r.ok('route move %s 4' % over)
    assert r.route_test('a1.example.')['route'] == ab
    dt.check_name(r, 'a1.example.')

    r.ok('route del %s' % over)
    assert over not in [x['id'] for x in r.routes()]
    r.restart()
    seed.wait_up()
    assert over not in [x['id'] for x in r.routes()]
    dt.check_name(r, 'a1.example.')


def test_settings_persist_after_kill9(seed):
    r = seed.router
    r.ok('set query-timeout 900')
    r.ok('set default-action refuse')
    r.ok('set retries 2')
    assert dt.rcode_text(r.query('zzz.example.')) == 'REFUSED'
    r.restart()
    seed.wait_up()
    s = r.settings()
    assert str(s['query-timeout']) == '900'
    assert s['default-action'] == 'refuse'
    assert str(s['retries']) == '2'
    assert dt.rcode_text(r.query('zzz.example.')) == 'REFUSED'
    r.ok('set default-action nxdomain')
    assert dt.rcode_text(r.query('zzz.example.')) == 'NXDOMAIN'


def test_route_actions(seed):
    r = seed.router
    r.ok(r"route add '^refused\.example\.$' refuse at 1")
    r.ok(r"route add '^gone\.example\.$' nxdomain at 1")
    r.ok(r"route add '^broken\.example\.$' servfail at 1")
    r.ok(r"route add '^silent\.example\.$' drop at 1")
    r.ok(r"route add '^example\.$' qtype MX refuse at 1")
    assert dt.rcode_text(r.query('refused.example.')) == 'REFUSED'
    assert dt.rcode_text(r.query('gone.example.')) == 'NXDOMAIN'
    assert dt.rcode_text(r.query('broken.example.')) == 'SERVFAIL'
    assert r.raw_udp(dt.make_query('silent.example.').to_wire(), timeout=0.5) is None
    assert dt.rcode_text(r.query('example.', 'MX')) == 'REFUSED'
    assert dt.rcode_text(r.query('example.', 'SOA')) == 'NOERROR'
    dt.check_name(r, 'b3.example.')


def test_one_command_loads_no_ldns_or_libedit():
    """dnsroutectl, run once per command by scripts, loads neither ldns
    (with the libssl and libcrypto it brings) nor libedit: loading them was
    most of what one command cost.  Their only users are programs of their
    own: the zone commands' and the interactive shell's."""
    ldd = shutil.which('ldd')
    if ldd is None:
        pytest.skip('ldd not installed')

    def libs(prog):
        p = subprocess.run([ldd, prog], capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p
        return [l.split()[0] for l in p.stdout.splitlines() if l.strip()]
    ctl = libs(dt.DNSROUTECTL)
    assert not [l for l in ctl if l.startswith(('libldns', 'libssl', 'libcrypto', 'libedit'))], ctl
    helpers = os.path.join(dt.BUILDDIR, 'ctl')
    assert [l for l in libs(os.path.join(helpers, 'dnsroutectl-zone'))
            if l.startswith('libldns')]
    assert [l for l in libs(os.path.join(helpers, 'dnsroutectl-shell'))
            if l.startswith('libedit')]
