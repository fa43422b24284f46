"""Control clients are bounded in time and per uid, and the operator always
gets in (issue 12): a request line not finished within a few seconds is cut
off, an idle client outside a transaction after control-idle-timeout; one
uid holds at most half the slots; root and the daemon's own uid get
reserved slots beyond the cap, and when even those are taken, the longest
idle client makes room for them."""

import os
import socket
import subprocess
import sys
import time

import pytest

import dnsroute_test as dt

MAX_PER_UID = 32
LINE_SECONDS = 3

as_root = pytest.mark.skipif(os.geteuid() != 0 or dt.SETPRIV is None,
                             reason='needs root and setpriv to connect as nobody')

# Opens N control connections, each silent or with half a request line,
# says how many were let in, says when the daemon has closed all of them,
# and holds the rest until its standard input closes.
HOLDER = r'''
import select, socket, sys
path, n, how = sys.argv[1], int(sys.argv[2]), sys.argv[3]
held, refused, said = [], {}, {}
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    g = b''
    while not g.endswith(b'\n'):
        c = s.recv(4096)
        if not c:
            break
        g += c
    if g.startswith(b'0001 '):
        if how == 'partial':
            s.sendall(b'show rou')
        held.append(s)
    else:
        k = g.decode().strip()
        refused[k] = refused.get(k, 0) + 1
        s.close()
print('held %d refused %r' % (len(held), refused), flush=True)
live = {s: b'' for s in held}
while live:
    r, _, _ = select.select(list(live) + [sys.stdin], [], [], 60)
    if not r or sys.stdin in r:
        sys.exit(0)
    for s in r:
        try:
            data = s.recv(4096)
        except OSError:
            data = b''
        if data:
            live[s] += data
            continue
        k = live.pop(s).decode().strip() or '(nothing)'
        said[k] = said.get(k, 0) + 1
print('all closed %r' % (said,), flush=True)
sys.stdin.read()
'''


class Holder:
    def __init__(self, r, n, how, user=None):
        argv = [sys.executable, '-c', HOLDER, r.sock, str(n), how]
        if user is not None:
            argv = dt.as_user(user) + argv
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        line = self.p.stdout.readline()
        assert line.startswith('held '), line
        held, _, refused = line[5:].partition(' refused ')
        self.held, self.refused = int(held), eval(refused)      # noqa: S307

    def wait_all_closed(self):
        line = self.p.stdout.readline()
        assert line.startswith('all closed '), line
        return eval(line[len('all closed '):])                  # noqa: S307

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


def operator_served_within_5s(r, what):
    """Root's dnsroutectl works (waited for, 5 s at most)."""
    _, took = dt.timed(dt.wait_for, lambda: r.ctl('show routes', timeout=5).rc == 0, 5,
                       what="root's dnsroutectl -c 'show routes' to work")
    print("%s: dnsroutectl -c 'show routes' worked after %.2f s" % (what, took))


@as_root
@pytest.mark.parametrize('how', ['idle', 'partial'])
def test_200_silent_clients_of_another_uid(router_factory, how):
    uid, _ = dt.nobody_ids()
    r = router_factory(extra_args=['-g', 'nogroup'])
    dt.open_path_for_others(r)
    h = Holder(r, 200, how, user='nobody')
    try:
        msg = '8000 too many control clients for uid %d (%d)' % (uid, MAX_PER_UID)
        assert (h.held, h.refused) == (MAX_PER_UID, {msg: 200 - MAX_PER_UID}), \
            (h.held, h.refused)
        operator_served_within_5s(r, '200 %s clients of nobody' % how)
        assert dt.rcode_text(r.query('x.example.', timeout=2)) == 'SERVFAIL'
        if how == 'idle':
            # nobody itself is told why, with exit status 2.
            p = subprocess.run(dt.AS_NOBODY + [dt.DNSROUTECTL, '-s', r.sock, '-c',
                                               'show settings'],
                               capture_output=True, text=True, timeout=15)
            assert p.returncode == 2 and 'too many control clients for uid' in p.stderr, \
                (p.returncode, p.stdout, p.stderr)
        else:
            said = h.wait_all_closed()
            assert said == {'9000 request line not completed within %d s' % LINE_SECONDS:
                            MAX_PER_UID}, said
    finally:
        h.close()
    operator_served_within_5s(r, 'after they left')


@pytest.mark.parametrize('how', ['idle', 'partial'])
def test_200_silent_clients_of_root(router, how):
    """Root against root: the flood takes the normal and reserved slots,
    then each new root client makes room by closing the longest idle one,
    so the operator's dnsroutectl still gets in."""
    r = router
    h = Holder(r, 200, how)
    try:
        assert h.refused == {}, h.refused
        operator_served_within_5s(r, '200 %s clients of root' % how)
        if how == 'partial':
            said = h.wait_all_closed()
            assert set(said) <= {'9000 request line not completed within %d s' % LINE_SECONDS,
                                 '8000 closed to make room for a privileged client'}, said
    finally:
        h.close()
    operator_served_within_5s(r, 'after they left')


@as_root
def test_two_uids_fill_the_slots_and_root_still_gets_in(router_factory):
    """nobody and daemon (both in the socket's group) take 32 slots each:
    all 64 are taken, a third user is refused, root is not."""
    r = router_factory(extra_args=['-g', 'nogroup'])
    dt.open_path_for_others(r)
    held = [Holder(r, 40, 'idle', user=u) for u in ('nobody', 'daemon')]
    try:
        assert [h.held for h in held] == [MAX_PER_UID, MAX_PER_UID], \
            [(h.held, h.refused) for h in held]
        p = subprocess.run(dt.as_user('bin') + [dt.DNSROUTECTL, '-s', r.sock, '-c',
                                                'show settings'],
                           capture_output=True, text=True, timeout=15)
        assert p.returncode == 2 and 'too many control clients (64)' in p.stderr, \
            (p.returncode, p.stdout, p.stderr)
        operator_served_within_5s(r, '64 idle clients of two users')
    finally:
        for h in held:
            h.close()


def read_final(s):
    """Reply lines up to the final one; returns the final line."""
    buf = b''
    while True:
        line, nl, rest = buf.partition(b'\n')
        while nl:
            if len(line) >= 5 and line[4:5] == b' ':
                return line.decode(), rest
            buf = rest
            line, nl, rest = buf.partition(b'\n')
        chunk = s.recv(65536)
        assert chunk, 'closed before the final line; got %r' % buf
        buf += chunk


def closed_within(s, deadline):
    """The daemon closes s within deadline seconds; what it said before
    (from this call on) is returned."""
    said = []

    def gone():
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        said.append(chunk)
        return chunk == b''
    s.settimeout(0.2)
    dt.wait_for(gone, deadline, interval=0, what='the daemon to close the client')
    return b''.join(said).decode('utf-8', 'replace')


def test_idle_client_is_cut_but_not_in_a_transaction_or_a_trace(router):
    r = router
    r.ok('set control-idle-timeout 2')
    t_idle = time.monotonic()   # the idle client's clock starts after this
    idle = dt.ctl_connect(r)
    txn = dt.ctl_connect(r)
    txn.sendall(b'begin\n')
    assert read_final(txn)[0].startswith('0000 '), 'begin failed'
    tr = dt.ctl_connect(r)
    tr.settimeout(15)
    tr.sendall(b'trace seconds 6\n')
    # Cut for being idle 2 s (the setting, not the default 300 s), and not
    # before.  How long after the 2 s the sweep comes is not asserted: with
    # a transaction open the main thread runs at nice +10 (prio.c), and a
    # loaded machine then delays it by seconds.
    said = closed_within(idle, 10)
    took = time.monotonic() - t_idle
    assert 'idle for 2 s; closing' in said, said
    assert took >= 2, took
    # The trace streams for its 6 s: not idle, so not cut.
    final, _ = read_final(tr)
    assert final.startswith('0000 trace ended'), final
    # The transaction outlived the idle timeout three times over.
    txn.settimeout(5)
    txn.sendall(b'pool add made-in-a-long-transaction\n')
    assert read_final(txn)[0].startswith('0000 ')
    txn.sendall(b'commit\n')
    assert read_final(txn)[0].startswith('0000 ')
    assert 'made-in-a-long-transaction' in r.pools()
    # Once the trace is over, its connection is idle like any other.
    said = closed_within(tr, 10)
    assert 'idle for 2 s; closing' in said, said
    for s in (idle, txn, tr):
        s.close()
    for bad in ('0', 'x', '100000000'):
        assert r.ctl('set control-idle-timeout %s' % bad).rc == 2, bad  # a bad value: a usage error


def test_half_a_line_is_cut_after_a_few_seconds(router):
    r = router
    s = dt.ctl_connect(r)
    s.sendall(b'show rou')
    (_, took) = dt.timed(closed_within, s, LINE_SECONDS + 3)
    assert took >= LINE_SECONDS - 1, took
    s.close()
