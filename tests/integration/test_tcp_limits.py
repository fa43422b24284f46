"""Client TCP connections are bounded: per client address, in all, and in
time (idle timeout), so a client cannot hold the router's descriptors."""

import socket
import struct
import time

import dnsroute_test as dt


def connect(r):
    s = socket.create_connection((r.host, r.port), timeout=5)
    s.settimeout(5)
    return s


def closed_by_peer(s, deadline):
    """True when the router closes s before the deadline (seconds)."""
    s.settimeout(deadline)
    try:
        return s.recv(1) == b''
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def recv_exact(s, n):
    data = b''
    while len(data) < n:
        chunk = s.recv(n - len(data))
        assert chunk, 'connection closed mid-answer'
        data += chunk
    return data


def tcp_query(s, name):
    """One framed query; returns the answer's bytes."""
    wire = dt.make_query(name, 'A').to_wire()
    s.sendall(struct.pack('!H', len(wire)) + wire)
    return recv_exact(s, struct.unpack('!H', recv_exact(s, 2))[0])


def test_connections_per_client_are_capped(router):
    router.ok('set tcp-max-per-client 2')
    before = router.stat('tcp-rejected')
    a, b = connect(router), connect(router)
    try:
        c = connect(router)
        try:
            # The third is accepted by the kernel and closed at once.
            assert closed_by_peer(c, 3), 'third connection from one client stayed open'
        finally:
            c.close()
        # The first two still work (no route: SERVFAIL, but answered).
        for s in (a, b):
            assert len(tcp_query(s, 'zz.example.')) > 12
    finally:
        a.close()
        b.close()
    dt.wait_for(lambda: router.stat('tcp-rejected') == before + 1, 3,
                what='the refused connection to be counted')
    # Closing them frees the places.
    d = connect(router)
    try:
        assert len(tcp_query(d, 'zz.example.')) > 12
    finally:
        d.close()


def test_idle_connections_are_closed(router):
    router.ok('set tcp-idle-timeout 1')
    before = router.stat('tcp-idle-closed')
    s = connect(router)
    try:
        assert len(tcp_query(s, 'zz.example.')) > 12
        # Closed by the setting (1 s): the default (10 s) would keep it
        # open past this deadline.  How soon after the 1 s the worker's
        # sweep comes is not asserted: a loaded machine delays it.
        assert closed_by_peer(s, 8), 'an idle connection stayed open'
    finally:
        s.close()
    dt.wait_for(lambda: router.stat('tcp-idle-closed') == before + 1, 3,
                what='the idle close to be counted')


def test_at_the_descriptor_limit_udp_and_control_keep_working(router_factory):
    """With few descriptors (prlimit 160), client TCP connections get at
    most half of them; the rest are refused at once, without spinning,
    while UDP and the control socket go on being served."""
    import shutil
    import signal
    import subprocess
    if shutil.which('prlimit') is None:
        import pytest
        pytest.skip('prlimit (util-linux) not installed')
    r = router_factory(start=False)
    p = subprocess.Popen(['prlimit', '--nofile=160:160', '--'] + r.argv(),
                         stdin=subprocess.DEVNULL, stdout=open(r.log, 'ab'),
                         stderr=subprocess.STDOUT, start_new_session=True)
    conns = []
    try:
        dt.wait_for(lambda: r.ctl('show settings').rc == 0, 10,
                    what='dnsrouted under prlimit to start')
        r.ok('set tcp-max-per-client 1000')     # only the descriptors limit
        before = r.stats()
        for _ in range(80):
            conns.append(connect(r))
        # (160 - 64) / 2 = 48 are served; the others are closed at once.
        dt.wait_for(lambda: r.stat('tcp-rejected') - before['tcp-rejected'] >= 80 - 48,
                    5, what='the connections over the budget to be refused')
        assert r.stat('tcp-accepted') - before['tcp-accepted'] == 48
        assert dt.rcode_text(r.query('zz.example.', 'A')) == 'SERVFAIL'
        assert r.ctl('show stats').rc == 0
        # A served connection still answers.
        assert len(tcp_query(conns[0], 'zz.example.')) > 12
        # CPU stays low, measured over a second: not spinning.
        ticks = open('/proc/%d/stat' % p.pid).read().split(')')[1].split()
        t0 = int(ticks[11]) + int(ticks[12])
        time.sleep(1)
        ticks = open('/proc/%d/stat' % p.pid).read().split(')')[1].split()
        assert int(ticks[11]) + int(ticks[12]) - t0 < 50, 'dnsrouted spins'
    finally:
        for s in conns:
            s.close()
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0
