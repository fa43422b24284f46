"""The audit trail and who may use the control socket: every change is a row
with time, the peer's uid and pid (SO_PEERCRED) and the command; the socket
is mode 0660 with an optional group (-g); a peer that may not use it is
refused with a clear message and exit status 2; and no control client,
however slow or hostile, keeps the daemon from answering queries or other
control clients."""

import datetime
import json
import os
import grp
import stat
import subprocess
import threading
import time

import pytest

import dnsroute_test as dt

as_root = pytest.mark.skipif(os.geteuid() != 0 or dt.SETPRIV is None,
                             reason='needs root and setpriv to run dnsroutectl as nobody')
nobody_ids = dt.nobody_ids
open_path_for_others = dt.open_path_for_others


def ctl_as_nobody(r, cmd):
    argv = dt.AS_NOBODY + [dt.DNSROUTECTL, '-s', r.sock, '-c', cmd]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate(timeout=15)
    res = dt.CtlResult(p.returncode, out, err)
    res.argv = argv
    return res, p.pid


def ctl_pid(r, *args):
    """Run dnsroutectl; returns (CtlResult, its pid)."""
    argv = [dt.DNSROUTECTL, '-s', r.sock] + list(args)
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    out, err = p.communicate(timeout=15)
    res = dt.CtlResult(p.returncode, out, err)
    res.argv = argv
    return res, p.pid


def audit(r, n=1000000):
    return r.rows('show audit last %d' % n)


def parse_time(s):
    return datetime.datetime.strptime(s, '%Y-%m-%dT%H:%M:%S.%fZ').replace(
        tzinfo=datetime.timezone.utc).timestamp()


def test_audit_rows_have_time_uid_pid_and_command(router):
    r = router
    t0 = time.time()
    n0 = len(audit(r))
    res, pid1 = ctl_pid(r, '-c', 'pool add aud1 policy first')
    assert res.rc == 0, res.describe()
    res, pid2 = ctl_pid(r, '-c', 'pool add aud1')          # refused: audited too
    assert res.rc == 1, res.describe()
    batch = os.path.join(r.dir, 'audit.cmd')
    with open(batch, 'w') as f:
        f.write("pool add aud2\nroute add '^aud\\.example\\.$' pool aud2 comment 'who?'\n")
    res, pid3 = ctl_pid(r, '-f', batch)
    assert res.rc == 0, res.describe()
    res, _ = ctl_pid(r, '-c', 'show routes')                # reading is not audited
    assert res.rc == 0
    t1 = time.time()

    rows = audit(r)
    assert len(rows) == n0 + 4, rows
    new = rows[-4:]
    assert [(x['uid'], x['pid'], x['command']) for x in new] == [
        (os.getuid(), pid1, 'pool add aud1 policy first'),
        (os.getuid(), pid2, 'pool add aud1'),
        (os.getuid(), pid3, 'pool add aud2'),
        (os.getuid(), pid3, r"route add '^aud\.example\.$' pool aud2 comment 'who?'"),
    ]
    assert [x['outcome'] for x in new] == ['ok', 'pool "aud1" exists', 'ok', 'ok']
    for x in new:
        assert t0 - 2 <= parse_time(x['time']) <= t1 + 2, x
        assert isinstance(x['uid'], int) and isinstance(x['pid'], int)
    # last N is the newest N, oldest first.
    assert audit(r, 2) == new[-2:]
    # The trail is in the store: it survives kill -9.
    r.restart()
    assert audit(r)[-4:] == new
    # Text output for people.
    out = r.ok('show audit last 1')
    assert "pool aud2 comment 'who?'" in out and str(pid3) in out


@as_root
def test_group_member_may_use_the_socket_and_is_audited_by_uid(router_factory):
    uid, gid = nobody_ids()
    r = router_factory(extra_args=['-g', 'nogroup'])
    st = os.stat(r.sock)
    assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == gid, oct(st.st_mode)
    open_path_for_others(r)
    res, pid = ctl_as_nobody(r, 'pool add by-nobody')
    assert res.rc == 0, res.describe()
    last = audit(r, 1)[0]
    assert (last['uid'], last['pid'], last['command'], last['outcome']) == \
        (uid, pid, 'pool add by-nobody', 'ok'), last
    assert 'by-nobody' in r.pools()


@as_root
@pytest.mark.parametrize('how', ['no-group', 'other-group', 'daemon-check'])
def test_peer_without_permission_is_refused(router_factory, how):
    uid, _ = nobody_ids()
    extra = ['-g', 'daemon'] if how == 'other-group' else []
    r = router_factory(extra_args=extra)
    open_path_for_others(r)
    st = os.stat(r.sock)
    assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_uid == 0
    assert st.st_gid == (grp.getgrnam('daemon').gr_gid if extra else 0)
    if how == 'daemon-check':
        # The file system would let anyone in; the daemon's own check of
        # the peer's credentials must not.
        os.chmod(r.sock, 0o666)
    before = (r.pools(), len(audit(r)))
    res, _ = ctl_as_nobody(r, 'pool add intruder')
    assert res.rc == 2, res.describe()
    assert 'permission denied' in res.stderr.lower(), res.describe()
    if how == 'daemon-check':
        assert 'uid %d may not use this control socket' % uid in res.stderr, res.describe()
    else:
        assert 'cannot connect to %s' % r.sock in res.stderr, res.describe()
    assert len(res.stderr.strip().splitlines()) == 1, res.describe()
    assert (r.pools(), len(audit(r))) == before
    # JSON says it too, as one document.
    argv = dt.AS_NOBODY + [dt.DNSROUTECTL, '--json', '-s', r.sock, '-c', 'show routes']
    p = subprocess.run(argv, capture_output=True, text=True, timeout=15)
    doc = json.loads(p.stdout)
    assert p.returncode == 2 and doc['ok'] is False and doc['code'] is None
    assert 'permission denied' in doc['error'].lower(), doc


def rss_kb(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


connect = dt.ctl_connect


def still_served(r, what):
    """DNS answered and another control client served, each quickly.  The
    client is a connection of the test's own, timed from its connect to
    its last answer: a dnsroutectl's start is not the daemon's doing and
    takes seconds of its own on a loaded machine."""
    t = time.monotonic()
    ans = r.query('nothing.example.', timeout=2)
    assert dt.rcode_text(ans) == 'SERVFAIL', (what, ans)
    s = dt.Session(r)
    try:
        assert s.run('show settings').startswith('0000 '), what
        assert s.count('route test r00042.bench.') == 1, what
    finally:
        s.close()
    took = time.monotonic() - t
    assert took < 5, '%s: took %.1f s' % (what, took)
    assert r.route_test('r00042.bench.')['pattern'] == r'^r00042\.bench\.$', what


def test_hostile_control_clients_block_neither_queries_nor_others(router):
    r = router
    path = os.path.join(r.dir, 'big.cmd')
    with open(path, 'w') as f:
        for i in range(10000):
            f.write("route add '^r%05d\\.bench\\.$' refuse comment 'a longer comment %d'\n"
                    % (i, i))
    assert r.ctl(None, args=['-q', '-f', path], timeout=60).rc == 0
    # The routes are compiled in the background after the commit: what
    # that takes is not the hostile clients' doing.
    dt.wait_for(lambda: 'compiled in the background' in dt.read_text(r.log), 30,
                what='the background compilation of the routes')
    still_served(r, 'before')
    rss0 = rss_kb(r.proc.pid)

    # 1. An endless request line: cut off once it passes the limit.
    endless = connect(r)
    outcome = {}

    def flood():
        chunk = b'x' * 65536
        sent = 0
        try:
            while sent < 512 * 1024 * 1024:
                endless.sendall(chunk)
                sent += len(chunk)
            outcome['result'] = 'never cut off'
        except OSError as e:
            outcome['result'] = 'cut off'
        outcome['sent'] = sent
    th = threading.Thread(target=flood, daemon=True)
    th.start()

    # 2. A client that asks for big exports and never reads them.
    greedy = connect(r)
    greedy.setblocking(False)
    asked = 0
    try:
        for _ in range(200):
            greedy.send(b'export\n')
            asked += 1
    except BlockingIOError:
        pass

    # 3. Half a request, then silence; 4. idle clients.
    half = connect(r)
    half.sendall(b'show rou')
    idle = [connect(r) for _ in range(20)]

    still_served(r, 'with hostile clients connected')
    th.join(20)
    assert outcome.get('result') == 'cut off', outcome
    assert outcome['sent'] < 64 * 1024 * 1024, outcome
    still_served(r, 'after the flood')
    # The reader that never reads holds about one export, not 200.
    grown = rss_kb(r.proc.pid) - rss0
    print('dnsrouted grew by %d kB with a client that reads nothing' % grown)
    assert grown < 48 * 1024, 'dnsrouted grew by %d kB for a client that reads nothing' % grown
    # Changes still go through, audited, while the hostile ones sit there.
    assert r.ctl('pool add meanwhile').rc == 0
    assert audit(r, 1)[0]['command'] == 'pool add meanwhile'

    for s in [endless, greedy, half] + idle:
        s.close()
    still_served(r, 'after they left')
