"""dnsroutectl batches and `-f FILE --replace`: export prints what rebuilds
the state, --replace of that export changes nothing, --replace of another
file makes the state equal to it in one transaction with the fewest
changes (kept routes keep their ids and hit counters), errors name
FILE:LINE and leave everything as it was, and --json output is one JSON
document per command that jq reads."""

import json
import os
import re
import shutil
import subprocess

import pytest

import dnsroute_test as dt

JQ = shutil.which('jq')


def state_lines(b1, b2, b3):
    """A state with something of everything: settings, pools of every
    policy, backends with every option and admin state, routes with qtype,
    comments, quoting, a '#' and two identical routes."""
    return [
        'set default-action refuse',
        'set retries 2',
        'set all-down-try-anyway yes',
        'pool add web policy first',
        'pool add apex',
        'pool add spare policy least-outstanding',
        'pool add heavy policy weighted',
        'backend add ns-a %s pool web pool apex weight 3 transport tcp '
        'check health.example. A IN interval 0.5 timeout 300 fall 4 rise 3 '
        'rcode NOERROR' % b1,
        'backend add ns-b %s pool web pool heavy' % b2,
        'backend add ns-c %s pool apex interval 200ms check-transport udp' % b3,
        'backend drain ns-b',
        'backend disable ns-c',
        r"route add '^[ab][^.]*\.example\.$' pool web comment 'a-b half'",
        r"route add '^example\.$' qtype TXT pool apex",
        r"route add '^gone\.example\.$' nxdomain comment 'it''s gone'",
        r'''route add "^sp ace\\.$" refuse comment "say \"hi\""''',
        r"route add '#hash' drop",
        r"route add '^dup\.example\.$' refuse",
        r"route add '^dup\.example\.$' refuse",
        r"route add '^café\.example\.$' qtype 28 servfail comment 'café ✓'",
        r"route add '^no\.example\.$' qtype AAAA refuse",
    ]


def addrs(alloc, n=3):
    """Backend addresses nobody answers on (health checks just fail)."""
    return [dt.endpoint(*alloc()) for _ in range(n)]


def export_of(r):
    out = r.ok('export')
    return [l for l in out.splitlines() if not l.startswith('#')]


def write(r, name, lines):
    path = os.path.join(r.dir, name)
    with open(path, 'w') as f:
        f.write(''.join(l + '\n' for l in lines))
    return path


def replace(r, path, *extra, json_out=False):
    argv = [dt.DNSROUTECTL, '-s', r.sock] + (['--json'] if json_out else []) \
        + ['-f', path, '--replace'] + list(extra)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    res = dt.CtlResult(p.returncode, p.stdout, p.stderr)
    res.path, res.argv = path, argv
    return res


def audit_count(r):
    return len(r.rows('show audit last 1000000'))


def route_view(r):
    return [(x['id'], x['pattern'], x['qtype'], x['action'], x['pool'],
             x['comment'], x['hits']) for x in r.routes()]


def snapshot(r):
    return {'export': export_of(r), 'routes': route_view(r)}


def test_export_then_replace_of_it_changes_nothing(router_factory, alloc):
    r = router_factory()
    res = r.ctl(state_lines(*addrs(alloc)))
    assert res.rc == 0, res.describe()
    # Hits on a route, to see that they survive.
    for _ in range(3):
        assert dt.rcode_text(r.query('gone.example.')) == 'NXDOMAIN'
    before = snapshot(r)
    gone = [x for x in r.routes() if x['pattern'] == r'^gone\.example\.$'][0]
    assert gone['hits'] == 3, gone
    n_audit = audit_count(r)

    path = write(r, 'exported.cmd', r.ok('export').splitlines())
    res = replace(r, path)
    assert res.rc == 0, res.describe()
    assert 'no changes' in res.stdout, res.describe()
    assert not re.search(r'^[-+~] ', res.stdout, re.M), res.describe()
    assert snapshot(r) == before
    assert audit_count(r) == n_audit, 'a no-op replace sent changes'

    # The export rebuilds the same state on a fresh router...
    r2 = router_factory()
    res = r2.ctl(None, args=['-f', path])
    assert res.rc == 0, res.describe()
    assert export_of(r2) == before['export']
    # ... where a replace with it is a no-op too, and so is the JSON one.
    res = replace(r2, path, json_out=True)
    assert res.rc == 0, res.describe()
    doc = json.loads(res.stdout)
    assert doc['ok'] is True and doc['rows'] == [] and 'no changes' in doc['message'], doc


def test_replace_makes_the_state_equal_to_the_file(router_factory, alloc):
    r = router_factory()
    b1, b2, b3 = addrs(alloc)
    b4 = dt.endpoint(*alloc())
    assert r.ctl(state_lines(b1, b2, b3)).rc == 0
    for _ in range(2):
        dt.rcode_text(r.query('zzz.dup.example.'))
        assert dt.rcode_text(r.query('gone.example.')) == 'NXDOMAIN'
    old = {x['pattern']: x for x in r.routes()}

    new = [
        'set default-action nxdomain',                     # changed; retries back to 1
        'set all-down-try-anyway yes',
        'pool add web policy first',
        'pool add apex policy first',                      # policy changed
        'pool add heavy policy weighted',
        'pool add fresh policy roundrobin',                # added; spare goes
        'backend add ns-a %s pool web pool apex weight 5 transport tcp '
        'check health.example. A IN interval 2 timeout 300 fall 4 rise 3 '
        'rcode NOERROR' % b1,                               # weight, interval
        'backend add ns-b %s pool web pool heavy' % b2,     # undrained
        'backend add ns-d %s pool fresh pool apex' % b4,    # added (ns-c goes)
        'backend drain ns-d',
        r"route add '^no\.example\.$' qtype AAAA refuse",   # moved to the top
        r"route add '^new1\.example\.$' pool fresh",        # added
        r"route add '^[ab][^.]*\.example\.$' pool web comment 'a-b half'",
        r"route add '^gone\.example\.$' nxdomain comment 'it''s gone'",
        r"route add '^example\.$' qtype TXT pool apex comment 'apex TXT'",  # comment: replaced
        r"route add '^dup\.example\.$' refuse",             # one of two kept
        r"route add '#hash' drop",
        r"route add '^new2\.example\.$' refuse at 2",       # 'at' is honoured
    ]
    path = write(r, 'new.cmd', new)
    res = replace(r, path)
    assert res.rc == 0, res.describe()
    out = res.stdout
    for want in ('~ set default-action nxdomain', '~ set retries 1',
                 '+ pool add fresh policy roundrobin', '~ pool set apex policy first',
                 '- pool del spare', '~ backend set ns-a weight 5 interval 2000ms',
                 '~ backend undrain ns-b', '- backend del ns-c',
                 # The daemon reports pools in export's order (by name).
                 '+ backend add ns-d %s pool apex pool fresh' % b4, '~ backend drain ns-d',
                 r'+ route add ^new1\.example\.$ pool fresh',
                 r'+ route add ^new2\.example\.$ refuse at 2'):
        assert want in out, 'missing %r in:\n%s' % (want, res.describe())
    # A route whose comment changed is changed in place: same id, same hits.
    assert re.search(r"^~ route set %d comment 'apex TXT' \(\^example\\\.\$ qtype TXT "
                     r"pool apex\)$" % old[r'^example\.$']['id'], out, re.M), out
    assert re.search(r"^- route del \d+ \('\^sp ace", out, re.M), out
    assert re.search(r'^- route del \d+ \(\^dup', out, re.M), out
    assert 'committed' in out and '; committed' in out.splitlines()[-1], out
    # Nothing but the routes that must go was deleted and re-added.
    assert len(re.findall(r'^- route del', out, re.M)) == 3, out
    assert len(re.findall(r'^\+ route add', out, re.M)) == 2, out

    # The state is what the file says: the same as the file applied to an
    # empty router.
    fresh = router_factory()
    assert fresh.ctl(None, args=['-f', path]).rc == 0
    assert export_of(r) == export_of(fresh)
    assert [x['pattern'] for x in r.routes()] == [x['pattern'] for x in fresh.routes()]
    # Kept routes kept their ids and counters.
    now = {x['pattern']: x for x in r.routes()}
    for pat in (r'^gone\.example\.$', r'^[ab][^.]*\.example\.$', '#hash', r'^no\.example\.$'):
        assert now[pat]['id'] == old[pat]['id'], pat
    assert now[r'^gone\.example\.$']['hits'] == 2
    assert now[r'^example\.$']['id'] == old[r'^example\.$']['id']
    assert now[r'^example\.$']['comment'] == 'apex TXT'
    assert r.backends()['ns-b']['admin'] == 'enabled'
    assert r.backends()['ns-d']['admin'] == 'drained'
    assert dt.rcode_text(r.query('new2.example.')) == 'REFUSED'
    assert dt.rcode_text(r.query('nothing.example.')) == 'NXDOMAIN'

    # And again: nothing to do.
    res = replace(r, path)
    assert res.rc == 0 and 'no changes' in res.stdout, res.describe()
    # The empty file empties the state.
    res = replace(r, write(r, 'empty.cmd', ['# nothing']))
    assert res.rc == 0, res.describe()
    assert export_of(r) == [] and r.routes() == [] and r.backends() == {}


def test_replace_dry_run_prints_and_changes_nothing(router_factory, alloc):
    r = router_factory()
    assert r.ctl(state_lines(*addrs(alloc))).rc == 0
    before = snapshot(r)
    n_audit = audit_count(r)
    path = write(r, 'small.cmd', ['pool add web', r"route add '^w\.$' pool web"])
    res = replace(r, path, '--dry-run')
    assert res.rc == 0, res.describe()
    assert r"+ route add ^w\.$ pool web" in res.stdout, res.describe()
    assert '- backend del ns-a' in res.stdout
    assert 'dry run' in res.stdout and 'nothing applied' in res.stdout, res.describe()
    assert snapshot(r) == before
    assert audit_count(r) == n_audit
    # A plain batch dry run too.
    res = r.ctl(['pool add p9', r"route add '^p9\.$' pool p9"], args=['--dry-run'])
    assert res.rc == 0 and 'dry run: 2 commands checked, nothing changed' in res.stdout, \
        res.describe()
    assert snapshot(r) == before


@pytest.mark.parametrize('case', ['local', 'daemon', 'continued', 'route-id'])
def test_replace_error_names_the_line_and_changes_nothing(router_factory, alloc, case):
    r = router_factory()
    assert r.ctl(state_lines(*addrs(alloc))).rc == 0
    before = snapshot(r)
    n_audit = audit_count(r)
    lines = ['# a comment', '', 'pool add web', 'pool add p2']
    if case == 'local':
        lines += ['pool add web']                          # line 5: exists
        line, msg = 5, 'pool "web" exists'
    elif case == 'daemon':
        lines += [r"route add '^ok\.$' pool web", r"route add '^[ab' pool p2"]
        line, msg = 6, 'missing terminating ] for character class'
    elif case == 'continued':
        lines += ['backend add nb 127.0.0.1:5399 \\', '    pool web \\', '    weight 0']
        line, msg = 5, 'bad value "0" for weight'
    else:
        lines += ['route del 1']
        line, msg = 5, 'route ids'
    # A bad value is bad usage (2); a refusal is a failed command (1).
    rc = 2 if case == 'continued' else 1
    path = write(r, 'bad.cmd', lines)
    res = replace(r, path)
    assert res.rc == rc, res.describe()
    assert '%s:%d: ' % (path, line) in res.stderr and msg in res.stderr, res.describe()
    assert snapshot(r) == before
    # The refused replace is audited, with its error and line; nothing else.
    rows = r.rows('show audit last 1000000')
    assert len(rows) == n_audit + 1, rows[n_audit:]
    assert rows[-1]['command'] == 'replace' and msg in rows[-1]['outcome'] \
        and 'line %d' % line in rows[-1]['outcome'], rows[-1]
    # JSON: one document, the error, with where.
    res = replace(r, path, json_out=True)
    assert res.rc == rc
    doc = json.loads(res.stdout)
    assert doc['ok'] is False and doc['where'] == '%s:%d' % (path, line) and msg in doc['error'], doc


def test_replace_without_a_daemon_or_a_file(router):
    path = write(router, 'x.cmd', ['pool add web'])
    res = router.ctl(None, args=['-f', path, '--replace'],
                     sock=os.path.join(router.dir, 'no-such.sock'))
    assert res.rc == 2 and 'cannot connect' in res.stderr, res.describe()
    res = router.ctl('show routes', args=['--replace'])
    assert res.rc == 2 and '--replace needs -f' in res.stderr, res.describe()
    res = router.ctl(None, args=['-f', os.path.join(router.dir, 'missing.cmd'), '--replace'])
    assert res.rc == 2, res.describe()


def jq(doc_text, *args):
    p = subprocess.run([JQ] + list(args), input=doc_text, capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 0, 'jq %s failed (%s): %s\ninput:\n%s' % (
        ' '.join(args), p.returncode, p.stderr, doc_text[:2000])
    return p.stdout


@pytest.mark.skipif(JQ is None, reason='jq not installed')
def test_json_is_one_document_per_command_for_jq(router_factory, alloc):
    r = router_factory()
    b1, b2, b3 = addrs(alloc)
    # One command: one document.
    res = r.ctl('show settings', json=True)
    assert res.rc == 0
    assert jq(res.stdout, '-r', '.rows[] | select(.setting=="retries") | .value').strip() == '1'
    # A batch: one document per command, then the commit's.
    comment = 'tab\tand "quotes"'
    batch = ['pool add web', 'backend add ns-a %s pool web weight 2' % b1,
             "route add '^a\\.$' pool web comment '%s'" % comment]
    res = r.ctl(batch, json=True)
    assert res.rc == 0, res.describe()
    docs = jq(res.stdout, '-c', '.').splitlines()
    assert len(docs) == len(batch) + 1, res.stdout
    assert jq(res.stdout, '-s', '-c', '[.[].ok] | all').strip() == 'true'
    assert json.loads(docs[-1])['command'] == 'commit'
    batch = ['show backends', 'route test a.', 'export', 'show pools']
    res = r.ctl(batch, json=True)
    assert res.rc == 0, res.describe()
    docs = [json.loads(d) for d in jq(res.stdout, '-c', '.').splitlines()]
    # A batch that only reads opens no transaction: nothing to commit.
    assert [d['command'] for d in docs] == batch, docs
    assert docs[0]['rows'][0]['name'] == 'ns-a' and docs[0]['rows'][0]['weight'] == 2
    assert docs[1]['rows'][0]['pool'] == 'web' and docs[1]['rows'][0]['route'] == 1
    assert "route add ^a\\.$ pool web comment '%s'" % comment in docs[2]['text'], docs[2]
    assert docs[3]['rows'] == [{'name': 'web', 'policy': 'roundrobin', 'confirm': None,
                                'good': 'answer', 'tc_retry': 'no', 'members': 'ns-a',
                                'up': 0, 'origin': None}], docs[3]
    # Numeric columns are numbers; the route's comment survives exactly.
    routes = json.loads(r.ctl('show routes', json=True).stdout)['rows']
    assert routes[0]['id'] == 1 and routes[0]['comment'] == 'tab\tand "quotes"'
    # A failure is a document too, and the exit status says it.
    res = r.ctl(['pool add p2', 'pool add web'], json=True)
    assert res.rc == 1
    doc = json.loads(jq(res.stdout, '-c', 'select(.ok == false)'))
    assert doc['where'].endswith(':2') and 'exists' in doc['error'], doc
    # --replace: one document with a row per change.
    path = write(r, 'rep.cmd', ['pool add web', 'backend add ns-b %s pool web' % b2,
                                r"route add '^b\.$' refuse"])
    res = replace(r, path, json_out=True)
    assert res.rc == 0, res.describe()
    ops = jq(res.stdout, '-r', '.rows[] | .op + " " + .command').splitlines()
    assert '- backend del ns-a' in ops and '+ backend add ns-b %s pool web' % b2 in ops, ops
    assert any(o.startswith('- route del 1') for o in ops), ops
    assert jq(res.stdout, '-r', '.message').startswith('4 changes: 2 added, 2 removed'), \
        res.stdout


def test_batch_comments_blank_lines_and_continuations(router_factory, alloc):
    r = router_factory()
    b1 = dt.endpoint(*alloc())
    lines = [
        '# a batch file',
        '',
        '   # an indented comment',
        'pool add web \\',
        '    policy first',
        'backend add ns-a %s \\' % b1,
        '\tpool web \\',
        '\tweight 4',
        '',
        r"route add '^a\.$' \ ",       # a blank after the backslash: no continuation
    ]
    res = r.ctl(lines)
    assert res.rc == 2, res.describe()          # bad usage: the word "\"
    assert re.search(r':10: ', res.stderr), res.describe()
    assert r.pools() == {}
    lines[-1] = r"route add '^a\.$'" + ' \\'
    lines.append('    pool web comment \\')
    lines.append('    "continued # not a comment"')
    res = r.ctl(lines)
    assert res.rc == 0, res.describe()
    assert r.pools()['web']['policy'] == 'first'
    assert r.backends()['ns-a']['weight'] == 4
    assert [(x['pattern'], x['comment']) for x in r.routes()] == \
        [(r'^a\.$', 'continued # not a comment')]
    # An error inside a continued command names its first line.
    res = r.ctl(['pool add p2', 'backend add nb 127.0.0.1:5399 \\', '  weight 0'])
    assert res.rc == 2 and re.search(r':2: bad value "0" for weight', res.stderr), res.describe()
    assert 'p2' not in r.pools()


def big_state(n):
    """A state of n routes, as a replace's data."""
    lines = ['pool add p'] + [
        "route add '^r%05d\\.big\\.test\\.$' pool p comment 'route %d'" % (i, i)
        for i in range(n)]
    return ''.join(l + '\n' for l in lines).encode()


def small_state(r):
    r.ok('pool add p')
    r.ok(r"route add '^old\.test\.$' refuse")
    return export_of(r)


def session_text(sess, line):
    """Run line on a raw session: its reply's lines before the final one,
    and the final one."""
    sess.send(line)
    lines = []
    while True:
        head, nl, rest = sess.buf.partition(b'\n')
        while nl:
            sess.buf = rest
            text = head.decode()
            if len(text) >= 5 and text[4] == ' ':
                return lines, text
            lines.append(text)
            head, nl, rest = sess.buf.partition(b'\n')
        chunk = sess.s.recv(1 << 20)
        assert chunk, 'closed before the final line'
        sess.buf += chunk


def test_a_big_replace_leaves_the_control_socket_answering(router_factory):
    """A replace of 20,000 routes runs in slices: meanwhile another
    client's show stats and show routes answer (the old table, until the
    commit), export and show audit show the committed store (none of the
    replace's changes so far), its changes are refused busy, and the
    replace's result is whole."""
    r = router_factory()
    small_state(r)
    audit_before = r.rows('show audit last 1000000')
    rep, look = dt.Session(r), dt.Session(r)
    try:
        rep.send('replace', big_state(20000))
        busy = dt.wait_store_held(r)
        assert 'holds a transaction' in busy, busy
        assert look.run('show stats').startswith('0000')
        assert look.count('show routes') == 1
        during = not rep.has_final()
        # Through the whole replace (its scratch, then its changes
        # applied to the store), until its final line: the state before
        # it, or (committed just now) all of it, never a part.
        old_seen = 0
        while not rep.has_final():
            text, final = session_text(look, 'export')
            assert final.startswith('0000'), final
            routes = [l for l in text if 'route add' in l]
            if any('r00000' in l for l in routes):
                assert len(routes) == 20000, len(routes)
                break
            assert len(routes) == 1 and 'route add ^old' in routes[0], \
                routes
            old_seen += 1
            text, final = session_text(look, 'show audit last 1000000')
            assert final.startswith('0000'), final
            assert len(text) >= len(audit_before), text
            # None of its rows, or (committed since the export) all.
            mine = sum('(replace)' in l for l in text)
            assert mine == 0 or mine >= 20000, (mine, text[-5:])
            if mine:
                break
        assert old_seen > 0
        final = rep.final()
    finally:
        rep.close()
        look.close()
    assert final == '0000 20001 changes: 20000 added, 1 removed, 0 changed; ' \
        'committed', final
    assert during, 'the replace was over before another client was answered'
    assert len(r.routes()) == 20000
    assert r.route_test('r12345.big.test.')['pool'] == 'p'
    # The store is free again.
    r.ok(r"route add '^new\.test\.$' refuse")


def test_reads_beside_another_clients_begin_see_the_committed_store(
        router_factory):
    """Inside its begin a client's export shows its own changes; another
    client's export, show settings and show audit show the store as
    committed until that commit, then the change."""
    r = router_factory()
    small_state(r)
    mine, other = dt.Session(r), dt.Session(r)
    try:
        assert mine.run('begin').startswith('0000')
        assert mine.run(r"route add '^mine\.test\.$' refuse").startswith(
            '0000')
        assert mine.run('set default-action refuse').startswith('0000')
        text, final = session_text(mine, 'export')
        assert final.startswith('0000'), final
        assert any('mine' in l for l in text), text
        text, final = session_text(other, 'export')
        assert final.startswith('0000'), final
        assert any('route add ^old' in l for l in text), text
        assert not any('mine' in l for l in text), text
        assert not any('default-action' in l for l in text), text
        text, final = session_text(other, 'show settings')
        assert final.startswith('0000'), final
        audit = other.count('show audit last 1000000')
        assert mine.run('commit').startswith('0000')
        text, final = session_text(other, 'export')
        assert any('mine' in l for l in text), text
        assert any('default-action' in l for l in text), text
        assert other.count('show audit last 1000000') > audit
    finally:
        mine.close()
        other.close()


def test_a_replace_cut_short_changes_nothing(router_factory):
    """The client leaves in the middle of a replace: nothing of it stays,
    the store takes changes again at once, and the audit says why.  The
    daemon stopped (SIGTERM) in the middle of one exits cleanly, and
    starts again with the state it had."""
    r = router_factory()
    before = small_state(r)
    rep = dt.Session(r)
    rep.send('replace', big_state(20000))
    dt.wait_store_held(r)
    rep.close()
    dt.wait_for(lambda: 'busy' not in r.ctl('route del 999999999').stderr,
                deadline=10, what='the store free again')
    assert export_of(r) == before
    rows = r.rows('show audit last 20')
    assert any(x['command'] == 'replace' and 'the client left' in x['outcome']
               for x in rows), rows

    rep = dt.Session(r)
    rep.send('replace', big_state(20000))
    dt.wait_store_held(r)
    r.stop()
    rep.close()
    r.start()
    assert export_of(r) == before


def test_a_mixed_replace_puts_every_route_in_place_and_audits_each_change(
        router_factory):
    """Routes removed, added alone and in blocks, a long block moved, a
    twin, comments changed: after the replace the routes are at positions
    1..N in the file's order, as the file applied to an empty router puts
    them; the routes that stay keep their ids; each change reported is one
    audit row with the same command."""
    r = router_factory()
    old_lines = [r"route add '^r%d\.t\.$' refuse comment c%d" % (i, i)
                 for i in range(60)]
    assert r.ctl(None, args=['-f', write(r, 'old.cmd', old_lines)]).rc == 0
    old = {x['pattern']: x['id'] for x in r.routes()}

    kept = [l for i, l in enumerate(old_lines) if i not in (3, 33, 50)]
    kept[5] = kept[5].replace('comment c', 'comment changed-c')
    new_lines = (kept[25:40] + [r"route add '^n%d\.t\.$' nxdomain" % i
                                for i in range(10)]
                 + kept[40:] + [kept[2]] + kept[:25]
                 + [r"route add '^n99\.t\.$' drop"])
    path = write(r, 'new.cmd', new_lines)
    n_audit = audit_count(r)
    res = replace(r, path, json_out=True)
    assert res.rc == 0, res.describe()
    changes = json.loads(res.stdout)['rows']
    assert changes, res.describe()
    assert any(c['op'] == '~' and ' move ' in c['command'] for c in changes), changes

    routes = r.routes()
    assert [int(x['position']) for x in routes] == list(range(1, len(new_lines) + 1))
    fresh = router_factory()
    assert fresh.ctl(None, args=['-f', path]).rc == 0
    assert [(x['pattern'], x['comment']) for x in routes] == \
        [(x['pattern'], x['comment']) for x in fresh.routes()]
    assert export_of(r) == export_of(fresh)
    ids = [x['id'] for x in routes]
    assert len(set(ids)) == len(ids)
    for x in routes:
        if x['pattern'] in old and x['pattern'] != r'^r2\.t\.$':
            assert x['id'] == old[x['pattern']], x

    audit = r.rows('show audit last 1000000')[n_audit:]
    assert [a['command'] for a in audit] == [c['command'] for c in changes], \
        (audit, changes)
    assert all(a['outcome'] == 'ok (replace)' for a in audit), audit
    # More rows than one audit statement takes (16): all the client's,
    # in the order made.
    assert len(audit) > 16, audit
    assert len({(a['uid'], a['pid']) for a in audit}) == 1, audit
    assert int(audit[0]['uid']) == os.getuid(), audit
    assert [a['time'] for a in audit] == sorted(a['time'] for a in audit), \
        audit
