"""The client's address to a backend as a PROXY protocol v2 header (issue
14): `backend set B client-address proxy` puts the header before each UDP
query and at the start of each TCP connection, with the client's address
and port and the address it reached the router on, as dnsdist and PowerDNS
read it.  The misbehaving responder with -P drops what comes without a
header (as they do) and its echo mode says what the header said; a real
dnsdist with setProxyProtocolACL answers with the client address it read.
Health checks carry a LOCAL header, so such a backend stays up."""

import os
import shutil
import socket
import struct

import dns.edns
import dns.message
import dns.query
import dns.rcode
import pytest

import dnsroute_test as dt
from test_client_address import ask, said
from test_update import send_update, update_msg

DNSDIST = shutil.which('dnsdist') or '/usr/sbin/dnsdist'


# dnsdist's Lua answers a check slower than NSD on a loaded machine: a
# check that waits longer, so a slow one does not take it down.
DNSDIST_CHECK = 'interval 0.25 timeout 1500 fall 3 rise 1'


def proxy_backend(router, name, m, pool='p', more='', check=dt.BACKEND_FAST):
    """Backend name at m in pool, with client-address proxy."""
    router.ok('backend add %s %s pool %s client-address proxy %s %s'
              % (name, m.endpoint, pool, more, check))


def noproxy(m):
    return [l for l in m.received() if l[1:] == ('noproxy',)]


def test_proxy_to_an_echoing_backend(router_factory, misbehave_factory, alloc):
    _, port6 = alloc()
    r = router_factory(extra_args=['-l', '[::1]:%d' % port6])
    echo = misbehave_factory('echo', proxy=True, record=True)
    r.ok('set query-timeout 500')
    r.ok('pool add p')
    proxy_backend(r, 'echo', echo)
    r.ok(r"route add '\.example\.$' pool p")
    # The health checks reach it (with a LOCAL header): it comes up.
    r.wait_health('echo')
    assert r.backends()['echo']['client_address'] == 'proxy'
    # TCP checks too: the header opens each check's connection.
    r.ok('backend set echo check-transport tcp')
    dt.wait_for(lambda: any(l[0] == 'tcp' and l[2] == 'id.server.'
                            for l in echo.received()), 5, what='a TCP check taken')
    assert r.backends()['echo']['health'] == 'up' and noproxy(echo) == []
    r.ok('backend set echo check-transport udp')

    for tcp in (False, True):
        t = 'tcp' if tcp else 'udp'
        host, port = alloc()
        a = ask(r.host, r.port, tcp=tcp, source=host, source_port=port)
        assert said(a) == 'proxy %s4 %s %d %s %d' % (t, host, port, r.host, r.port), a
        # IPv6: the client's own port, the router's IPv6 listener.
        _, cport = alloc()
        a = ask('::1', port6, tcp=tcp, source='::1', source_port=cport)
        assert said(a) == 'proxy %s6 ::1 %d ::1 %d' % (t, cport, port6), a

    # Two TCP clients, one after the other and then side by side: each
    # gets a connection of its own, so each is named in its own header.
    (h1, p1), (h2, p2) = alloc(), alloc()
    s1 = socket.create_connection((r.host, r.port), 5, (h1, p1))
    s2 = socket.create_connection((r.host, r.port), 5, (h2, p2))
    try:
        for s, h, p in ((s1, h1, p1), (s2, h2, p2), (s1, h1, p1), (s2, h2, p2)):
            q = dns.message.make_query('x.example.', 'TXT')
            dns.query.send_tcp(s, q)
            a, _ = dns.query.receive_tcp(s, expiration=None)
            assert said(a) == 'proxy tcp4 %s %d %s %d' % (h, p, r.host, r.port), a
    finally:
        s1.close()
        s2.close()
    assert noproxy(echo) == []

    # What export writes rebuilds the same on another router.
    out = r.ok('export')
    assert 'client-address proxy' in out, out
    path = os.path.join(r.dir, 'exported.cmd')
    with open(path, 'w') as f:
        f.write(out)
    r2 = router_factory()
    res = r2.ctl(None, args=['-f', path])
    assert res.rc == 0, res.describe()
    assert r2.backends()['echo']['client_address'] == 'proxy'
    assert r2.ok('export').splitlines()[1:] == out.splitlines()[1:]

    # Off: the backend drops the bare queries, as dnsdist would.
    r.ok('backend set echo client-address off')
    ask(r.host, r.port, rcode='SERVFAIL')
    dt.wait_for(lambda: noproxy(echo), 5, what='a query dropped for want of a header')


def test_proxy_over_backend_tcp(router, misbehave_factory, alloc):
    # transport tcp: UDP clients' queries go over TCP, a connection per
    # client address and port, each opened with that client's header (the
    # transport in it is the client's: UDP).
    echo = misbehave_factory('echo', proxy=True, record=True)
    router.ok('pool add p')
    proxy_backend(router, 'echo', echo, more='transport tcp')
    router.ok(r"route add '\.example\.$' pool p")
    router.wait_health('echo')
    clients = [alloc() for _ in range(6)]
    for _ in range(2):
        for host, port in clients:
            a = ask(router.host, router.port, source=host, source_port=port)
            assert said(a) == 'proxy udp4 %s %d %s %d' % (
                host, port, router.host, router.port), a
    assert noproxy(echo) == []
    # Six clients on four connections a worker: the idle ones were closed
    # and opened again for the next client, nothing failed.
    assert router.stat('proxy-tcp-busy') == 0
    assert router.stat('servfail') == 0


def test_proxy_tcp_connections_busy(router, misbehave_factory, alloc):
    # Four connections a worker to a backend, each one client's while it
    # has a query out: a fifth client at that moment finds none (counted),
    # and with no other member gets SERVFAIL at once.
    slow = misbehave_factory('echo', proxy=True, delay_ms=1500)
    router.ok('set query-timeout 4000')
    router.ok('pool add p')
    proxy_backend(router, 'slow', slow, more='transport tcp')
    router.ok(r"route add '\.example\.$' pool p")
    router.wait_health('slow')
    clients = [alloc() for _ in range(4)]
    socks = []
    try:
        for host, port in clients:
            s = socket.create_connection((router.host, router.port), timeout=5,
                                         source_address=(host, port))
            dns.query.send_tcp(s, dns.message.make_query('x.example.', 'TXT'))
            socks.append(s)
        dt.wait_for(lambda: router.stat('outstanding') == 4, 5,
                    what='four queries out')
        a = ask(router.host, router.port, tcp=True, rcode='SERVFAIL')
        assert router.stat('proxy-tcp-busy') == 1
        for s, (host, port) in zip(socks, clients):
            a, _ = dns.query.receive_tcp(s, expiration=None)
            assert said(a) == 'proxy tcp4 %s %d %s %d' % (
                host, port, router.host, router.port), a
    finally:
        for s in socks:
            s.close()


def test_proxy_in_a_race_and_tc_retry(router, misbehave_factory, alloc):
    e1 = misbehave_factory('echo', proxy=True, record=True)
    e2 = misbehave_factory('echo', proxy=True, record=True, delay_ms=100)
    router.ok('pool add p policy race')
    for name, m in (('e1', e1), ('e2', e2)):
        proxy_backend(router, name, m)
    router.ok(r"route add '\.example\.$' pool p")
    router.wait_health('e1')
    router.wait_health('e2')
    host, port = alloc()
    for tcp in (False, True):
        a = ask(router.host, router.port, tcp=tcp, source=host, source_port=port)
        assert said(a) == 'proxy %s4 %s %d %s %d' % (
            'tcp' if tcp else 'udp', host, port, router.host, router.port), a
    # The slower leg got its header too (its answer came and was discarded).
    dt.wait_for(lambda: len([l for l in e2.received() if l[2] == 'x.example.']) == 2,
                5, what='both queries at the slower member')
    assert router.backends()['e1']['race_wins'] == 2
    assert noproxy(e1) == [] and noproxy(e2) == []

    # tc-retry: the truncated UDP answer is fetched again over TCP, on a
    # connection opened with the client's header.
    tr = misbehave_factory('truncate', proxy=True, record=True)
    router.ok('pool add t tc-retry yes')
    proxy_backend(router, 'tr', tr, pool='t')
    router.ok(r"route add '^y\.test\.$' pool t")
    router.wait_health('tr')
    before = router.stat('tc-retries')
    q = dns.message.make_query('y.test.', 'TXT', use_edns=0, payload=4096)
    a = dns.query.udp(q, router.host, port=router.port, timeout=3)
    assert dt.rcode_text(a) == 'NOERROR' and not a.flags & 0x0200, a
    assert dt.txt_values(a) == ['misbehave'], a
    assert router.stat('tc-retries') == before + 1
    assert noproxy(tr) == []


def test_proxy_with_the_largest_queries(router, misbehave_factory):
    # The largest UDP query the router takes (4,096 octets) goes on over
    # UDP with its header in one datagram; a TCP client's query of 60,000
    # goes on over TCP, the header before it on the connection.
    echo = misbehave_factory('echo', proxy=True, record=True)
    router.ok('pool add p')
    proxy_backend(router, 'echo', echo)
    router.ok(r"route add '\.example\.$' pool p")
    router.wait_health('echo')

    def big_query(total):
        # By hand: dnspython renders no message over 65,535 less its
        # reserve.  The question, then an OPT record with one option
        # padding the message to total octets.
        q = dns.message.make_query('x.example.', 'TXT').to_wire()
        pad = total - len(q) - 11 - 4
        opt = (b'\x00\x00\x29\x10\x00\x00\x00\x00\x00' + struct.pack('!H', pad + 4)
               + struct.pack('!HH', 65001, pad) + b'x' * pad)
        return q[:10] + b'\x00\x01' + q[12:] + opt

    def udp(wire):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.settimeout(3)
            u.sendto(wire, (router.host, router.port))
            return dns.message.from_wire(u.recv(65535))

    def tcp(wire):
        with socket.create_connection((router.host, router.port), timeout=3) as t:
            t.sendall(struct.pack('!H', len(wire)) + wire)
            a, _ = dns.query.receive_tcp(t, expiration=None)
            return a

    for size in (512, 4096):
        assert said(udp(big_query(size))).startswith('proxy udp4 127.')
    assert said(tcp(big_query(60000))).startswith('proxy tcp4 127.')
    assert noproxy(echo) == []
    assert router.stat('malformed') == 0


def test_proxy_with_an_update(router, misbehave_factory):
    # An UPDATE's copies carry the header too, over UDP and again over TCP
    # when truncated (TSIG, when there is one, signs the message only).
    m = misbehave_factory('truncate', proxy=True, record=True)
    router.ok('pool add tc policy fanout')
    proxy_backend(router, 'tc', m, pool='tc')
    router.ok(r"route add '^example\.$' opcode update pool tc tsig optional")
    router.wait_health('tc')
    a = send_update(router, update_msg([('t', 'A', '192.0.2.1')], key=None))
    assert a.rcode() == dns.rcode.NOERROR, a
    got = [r for r in m.received() if r[1] in ('5', 'noproxy')]
    assert got == [('udp', '5', 'example.'), ('tcp', '5', 'example.')], got


# ---- a real dnsdist as the backend ----

class Dnsdist:
    """dnsdist in the foreground (--supervised), on host:port, reading a
    PROXY header from loopback clients and answering every query with a
    TXT of the client address and local address it read."""

    def __init__(self, workdir, host, port, backend=None):
        self.host, self.port = host, port
        self.dir = os.path.join(workdir, 'dnsdist-%d' % port)
        os.makedirs(self.dir)
        self.log = os.path.join(self.dir, 'log')
        conf = os.path.join(self.dir, 'dnsdist.conf')
        lines = [
            "setSecurityPollSuffix('')",
            "setLocal('%s')" % dt.endpoint(host, port),
            "setACL({'127.0.0.0/8', '::1/128'})",
            "setProxyProtocolACL({'127.0.0.0/8', '::1/128'})",
        ]
        if backend is not None:
            # Zone transfers go on to NSD; the rest is answered here.
            lines += [
                "newServer({address='%s', healthCheckMode='up'})" % backend,
                "addAction(OrRule({QTypeRule(DNSQType.AXFR), QTypeRule(DNSQType.IXFR)}),"
                " PoolAction(''))",
            ]
        lines += [
            "addAction(AllRule(), LuaAction(function(dq)",
            "  local s = 'dnsdist ' .. dq.remoteaddr:toStringWithPort() .. ' ' ..",
            "      dq.localaddr:toStringWithPort()",
            "  dq:spoof({ string.char(#s) .. s })",
            "  return DNSAction.Spoof, ''",
            "end))",
        ]
        with open(conf, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        self.argv = [DNSDIST, '--supervised', '--disable-syslog', '-C', conf]
        self.proc = None

    @property
    def endpoint(self):
        return dt.endpoint(self.host, self.port)

    def start(self):
        self.proc = dt._spawn(self.argv, self.log)

        def answers():
            if self.proc.poll() is not None:
                raise AssertionError('dnsdist exited %s: %s'
                                     % (self.proc.returncode, dt.read_text(self.log)))
            # A LOCAL header: dnsdist takes the connection's own address.
            hdr = b'\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00'
            q = dns.message.make_query('ready.example.', 'TXT')
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(0.2)
                s.sendto(hdr + q.to_wire(), (self.host, self.port))
                try:
                    return len(s.recv(4096)) > 0
                except socket.timeout:
                    return False
        dt.wait_for(answers, dt.START_DEADLINE, what='dnsdist answering')
        return self

    def stop(self):
        if self.proc is None:
            return
        if dt._reap(self.proc, 15, dt.STOP_DEADLINE) is None:
            dt._kill_hard(self.proc)
        self.proc = None


@pytest.fixture
def dnsdist_factory(workdir, alloc):
    if not os.access(DNSDIST, os.X_OK):
        pytest.skip('dnsdist not installed')
    started = []

    def start(backend=None):
        host, port = alloc()
        d = Dnsdist(workdir, host, port, backend)
        started.append(d)
        return d.start()
    yield start
    for d in started:
        d.stop()


def test_dnsdist_reads_the_header(router_factory, dnsdist_factory, alloc):
    _, port6 = alloc()
    r = router_factory(extra_args=['-l', '[::1]:%d' % port6])
    dd = dnsdist_factory()
    r.ok('pool add p')
    proxy_backend(r, 'dd', dd, check=DNSDIST_CHECK)
    r.ok(r"route add '\.example\.$' pool p")
    # dnsdist drops what comes from its proxy ACL without a header: the
    # checks' LOCAL header keeps it up.
    r.wait_health('dd')
    for tcp in (False, True):
        host, port = alloc()
        a = ask(r.host, r.port, tcp=tcp, source=host, source_port=port)
        assert said(a) == 'dnsdist %s:%d %s:%d' % (host, port, r.host, r.port), a
        _, cport = alloc()
        a = ask('::1', port6, tcp=tcp, source='::1', source_port=cport)
        assert said(a) == 'dnsdist [::1]:%d [::1]:%d' % (cport, port6), a
    # Over the backend's TCP for UDP clients, too.
    r.ok('backend set dd transport tcp')
    host, port = alloc()
    a = ask(r.host, r.port, source=host, source_port=port)
    assert said(a) == 'dnsdist %s:%d %s:%d' % (host, port, r.host, r.port), a
    # Without the header dnsdist drops the query: the router times out.
    r.ok('set query-timeout 300')
    r.ok('backend set dd transport udp client-address off')
    ask(r.host, r.port, rcode='SERVFAIL')


def test_zone_transfer_through_dnsdist(router, dnsdist_factory, nsd_factory):
    # The transfer's connection of its own is opened with the client's
    # header: dnsdist takes it and passes the AXFR on to NSD.
    lines = ['$ORIGIN small.', '$TTL 300',
             '@ IN SOA ns1.small. hostmaster.small. 7 3600 600 86400 300',
             '@ IN NS ns1.small.', 'ns1 IN A 127.0.0.1']
    lines += ['h%d IN A 10.0.0.%d' % (i, i) for i in range(100)]
    ns = nsd_factory('ns-small', {'small.': '\n'.join(lines) + '\n'},
                     provide_xfr=True)
    dd = dnsdist_factory(backend=ns.endpoint)
    router.ok('pool add p')
    proxy_backend(router, 'dd', dd, check=DNSDIST_CHECK)
    router.ok(r"route add '^small\.$' qtype AXFR pool p")
    router.wait_health('dd')
    msgs = list(dns.query.xfr(router.host, 'small.', port=router.port, timeout=5))
    names = {str(rr.name) for m in msgs for rr in m.answer}
    assert len(names) == 102, names
    assert router.stat('xfr') == 1 and router.stat('xfr-aborted') == 0
