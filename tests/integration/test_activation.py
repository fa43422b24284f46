"""Socket activation: DNS listeners and the control socket passed by a
service manager (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES), told apart by what
they are, shared by the workers, and refused when they make no sense.
systemd-socket-activate (Debian's systemd package) does what a socket unit
does, without a running systemd."""

import os
import shutil
import signal
import socket
import subprocess

import dns.message
import pytest

import dnsroute_test as dt
import held

ACTIVATE = shutil.which('systemd-socket-activate')
needs_activate = pytest.mark.skipif(ACTIVATE is None,
                                    reason='systemd-socket-activate not installed')


@pytest.fixture
def activated(request, workdir, alloc):
    """start(argv_tail, activate_args) -> (Popen, log path): dnsrouted
    under systemd-socket-activate, which execs it (same pid) on the first
    datagram or connection; stopped with SIGTERM at the end."""
    started = []

    def start(activate_args, daemon_args):
        log = os.path.join(workdir, 'activated%d.log' % len(started))
        argv = [ACTIVATE] + activate_args + [dt.DNSROUTED, '-f'] + daemon_args
        p = dt._spawn(argv, log)
        started.append((p, log))
        # A datagram sent before it listens would go nowhere.
        dt.wait_for(lambda: 'Listening on' in dt.read_text(log), dt.START_DEADLINE,
                    what='systemd-socket-activate to listen')
        return p, log
    yield start
    for p, log in started:
        rc = dt._reap(p, signal.SIGTERM, dt.STOP_DEADLINE)
        if rc is None:
            dt._kill_hard(p)
        assert rc == 0, 'exit %s:\n%s' % (rc, dt.read_text(log, 40))
        assert not [l for l in dt.read_text(log).splitlines() if dt.SANITIZER_RE.search(l)]


def ctl(sock, cmd):
    r = subprocess.run([dt.DNSROUTECTL, '-s', sock, '-c', cmd], capture_output=True,
                       text=True, timeout=15)
    assert r.returncode == 0, '%s: %s %s' % (cmd, r.stdout, r.stderr)
    return r.stdout


@needs_activate
def test_socket_activation_udp_tcp_and_control(activated, workdir, alloc, nsd_factory):
    """systemd-socket-activate passes UDP (outer, -d), then TCP and the
    control socket (inner, which passes the outer's on): the query that
    started it all is answered, dig gets the right answers over UDP and
    TCP, and dnsroutectl works through the passed control socket."""
    host, port = alloc()
    ep = dt.endpoint(host, port)
    sock = os.path.join(workdir, 'ctl.sock')
    ns = nsd_factory('ns-ab', {'example.': dt.example_zone('ab', 'ns-ab')})
    p, log = activated(['-d', '-l', ep, '--fdname=dns', ACTIVATE, '-l', ep, '-l', sock,
                        '--fdname=dns:dns:control'],
                       ['-d', os.path.join(workdir, 'db'), '-s', '/nonexistent/not-used'])
    # The first datagram makes systemd-socket-activate start the daemon;
    # it waits in the queue and is answered (no route yet: SERVFAIL).
    first = dt.query(host, port, 'a1.example.', timeout=dt.START_DEADLINE)
    assert dt.rcode_text(first) == 'SERVFAIL'
    dt.wait_for(lambda: os.path.exists(sock), what='the control socket')
    ctl(sock, 'pool add ab')
    ctl(sock, 'backend add ns-ab %s pool ab %s' % (ns.endpoint, dt.BACKEND_FAST))
    ctl(sock, r"route add '^[ab][^.]*\.example\.$' pool ab")
    dt.wait_for(lambda: '\tup\t' in ctl(sock, 'show backends'), what='ns-ab up')
    for tcp in (False, True):
        r = subprocess.run(['dig', '+short', '+tries=1', '+time=3', '+tcp' if tcp else '+notcp',
                            '-p', str(port), '@' + host, 'b7.example.', 'A'],
                           capture_output=True, text=True, timeout=15)
        assert r.stdout.split() == [dt.expected_a('b7.example.')], r
    text = dt.read_text(log)
    assert 'passed as descriptor 3, dns' in text and 'passed as descriptor 4, dns' in text
    assert p.poll() is None
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=dt.STOP_DEADLINE) == 0, dt.read_text(log, 40)
    # Passed: its owner's to remove, so it is left where it was.
    assert os.path.exists(sock)
    assert not os.path.exists('/nonexistent/not-used')


@needs_activate
def test_passed_udp_and_bound_tcp_on_one_address(activated, workdir, alloc):
    """-l names an address whose UDP socket is passed: that one is used and
    TCP is bound beside it; a second daemon on the address is refused, the
    passed socket counting as the address in use."""
    host, port = alloc()
    ep = dt.endpoint(host, port)
    p, log = activated(['-d', '-l', ep],
                       ['-l', ep, '-d', os.path.join(workdir, 'db'),
                        '-s', os.path.join(workdir, 'ctl.sock')])
    assert dt.rcode_text(dt.query(host, port, 'x.example.', timeout=dt.START_DEADLINE)) == 'SERVFAIL'
    assert dt.rcode_text(dt.query(host, port, 'x.example.', tcp=True)) == 'SERVFAIL'
    assert 'passed as descriptor 3, unknown' in dt.read_text(log)
    second = subprocess.run([dt.DNSROUTED, '-f', '-l', ep, '-d', os.path.join(workdir, 'db2'),
                             '-s', os.path.join(workdir, 'ctl2.sock')],
                            capture_output=True, text=True, timeout=dt.STOP_DEADLINE)
    assert second.returncode == 1 and 'already in use' in second.stderr, second
    assert not os.path.exists(os.path.join(workdir, 'db2'))


def passed_refusal(workdir, alloc, socks, extra=(), env=None):
    """Start dnsrouted with socks [(socket, name)] passed; it must refuse:
    returns its output.  Nothing is left in workdir."""
    host, port = alloc()
    before = set(os.listdir(workdir))
    h = held.sockhold.SocketHolder(host, port, udp=False, tcp=False, socks=socks)
    try:
        p = h.spawn([dt.DNSROUTED, '-f', '-d', os.path.join(workdir, 'db'),
                     '-s', os.path.join(workdir, 'ctl.sock')] + list(extra),
                    stdout=subprocess.PIPE, env=env)
        out, _ = p.communicate(timeout=dt.STOP_DEADLINE)
    finally:
        h.close()
    assert p.returncode == 1, out
    assert set(os.listdir(workdir)) == before, 'a refused start left files behind'
    return out.decode()


def test_passed_sockets_of_the_wrong_kind_are_refused(workdir, alloc):
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(('127.0.0.1', 0))
    out = passed_refusal(workdir, alloc, [(udp, 'control')])
    assert 'named control but is not a Unix stream socket' in out
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(('127.0.0.1', 0))          # bound, not listening
    out = passed_refusal(workdir, alloc, [(tcp, 'dns')])
    assert 'does not listen' in out and 'Accept=no' in out
    u1, u2 = socket.socket(socket.AF_UNIX), socket.socket(socket.AF_UNIX)
    u1.bind(os.path.join(workdir, 'u1'))
    u2.bind(os.path.join(workdir, 'u2'))
    u1.listen()
    u2.listen()
    os.unlink(os.path.join(workdir, 'u1'))
    os.unlink(os.path.join(workdir, 'u2'))
    out = passed_refusal(workdir, alloc, [(u1, 'x'), (u2, 'y')])
    assert 'which one is the control socket' in out
    pair = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    out = passed_refusal(workdir, alloc, [(pair[0], 'dns')])
    assert 'neither a DNS socket' in out or 'named dns' in out


def test_sockets_passed_to_another_process_are_left_alone(workdir, alloc):
    """LISTEN_PID names another process: the descriptors are not ours to
    take, so -l binds its own socket, and the address held by the passed
    one counts as in use."""
    host, port = alloc()
    h = held.sockhold.SocketHolder(host, port)
    try:
        env = h.env()
        argv = [dt.DNSROUTED, '-f', '-l', dt.endpoint(host, port), '-d',
                os.path.join(workdir, 'db'), '-s', os.path.join(workdir, 'ctl.sock')]
        # Without the shim that sets LISTEN_PID to the daemon's own pid.
        env['LISTEN_PID'] = str(os.getpid())
        env['LISTEN_FDS'] = '2'
        p = subprocess.run(argv, env=env, capture_output=True, text=True,
                           timeout=dt.STOP_DEADLINE)
    finally:
        h.close()
    assert p.returncode == 1 and 'already in use' in p.stderr, p


def wildcard_endpoint(alloc):
    """A port free on every address, for a 0.0.0.0 listener."""
    for _ in range(50):
        host, port = alloc()
        if dt.AddrAllocator.is_free('0.0.0.0', port):
            return host, port
    pytest.skip('no port free on 0.0.0.0')


def test_passed_wildcard_socket_answers_from_the_address_asked(held_factory, alloc):
    """A passed 0.0.0.0 socket shared by two workers: a query sent to
    127.0.0.x is answered from 127.0.0.x (IP_PKTINFO is turned on for the
    passed socket as for one bound here), whichever worker reads it."""
    host, port = wildcard_endpoint(alloc)
    r = held_factory(['-t', '2'], endpoint=('0.0.0.0', port), listen_arg=False)
    for i in range(20):
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            c.bind(('127.0.0.1', 0))
            c.settimeout(3)
            q = dt.make_query('w%d.example.' % i, 'A')
            c.sendto(q.to_wire(), (host, port))
            data, src = c.recvfrom(65535)
        finally:
            c.close()
        assert src == (host, port), 'answer from %s, query sent to %s' % (src, (host, port))
        assert dns.message.from_wire(data).id == q.id
    assert dt.rcode_text(dt.query(host, port, 'x.example.', tcp=True)) == 'SERVFAIL'
