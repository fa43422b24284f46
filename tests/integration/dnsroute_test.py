"""dnsroute_test: what the integration tests drive and look at.

Real processes on loopback: NSD instances serving generated zones, the
misbehaving responder, and dnsrouted itself, each in a per-test directory
with its own 127.0.0.x address and port.  Everything started here is
recorded by PID and stopped by PID; nothing is ever killed by name.

Waiting is always wait_for(predicate, deadline): poll until true or fail
with what was being waited for.  There are no bare sleeps.
"""

import atexit
import collections
import grp
import json as jsonlib
import os
import pwd
import random
import re
import shutil
import signal
import socket
import stat
import struct
import subprocess
import tempfile
import time

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get('DNSROUTE_SRCDIR') or os.path.dirname(os.path.dirname(HERE))


def _guess_builddir():
    for d in (SRCDIR, os.path.join(SRCDIR, 'build')):
        if os.path.exists(os.path.join(d, 'daemon', 'dnsrouted')):
            return d
    return SRCDIR


BUILDDIR = os.environ.get('DNSROUTE_BUILDDIR') or _guess_builddir()
DNSROUTED = os.path.join(BUILDDIR, 'daemon', 'dnsrouted')
DNSROUTECTL = os.path.join(BUILDDIR, 'ctl', 'dnsroutectl')
# Where that dnsroutectl finds dnsroutectl-zone (not yet installed).
os.environ.setdefault('DNSROUTE_LIBEXECDIR', os.path.join(BUILDDIR, 'ctl'))
MISBEHAVE_SRC = os.path.join(SRCDIR, 'tests', 'responder', 'misbehave.c')
NSD = shutil.which('nsd') or '/usr/sbin/nsd'
ETCD = shutil.which('etcd') or '/usr/bin/etcd'
ETCDCTL = shutil.which('etcdctl') or '/usr/bin/etcdctl'

SETPRIV = shutil.which('setpriv')


def as_user(user, group='nogroup'):
    """The argv prefix that runs a command as user:group (needs root)."""
    return [SETPRIV or 'setpriv', '--reuid=' + user, '--regid=' + group, '--clear-groups']


AS_NOBODY = as_user('nobody')

START_DEADLINE = 10.0
# A start that keeps working is given up to START_LIMIT in all, and up to
# START_CPU seconds of its own CPU (a normal start uses about 0.25 s);
# see Router.wait_ready.
START_LIMIT = 90.0
START_CPU = 10.0
STOP_DEADLINE = 5.0
SANITIZER_RE = re.compile(r'(Address|Leak|Thread|Memory|UndefinedBehavior)Sanitizer'
                          r'|runtime error')


def is_exe(path):
    return bool(path) and os.path.isfile(path) and os.access(path, os.X_OK)


def have_router():
    return is_exe(DNSROUTED) and is_exe(DNSROUTECTL)


def have_nsd():
    return is_exe(NSD)


def have_etcd():
    return is_exe(ETCD) and is_exe(ETCDCTL)


def big_buffers(s, size=16 << 20, send=False):
    """Room for a burst in a test's own UDP socket: size to receive into,
    and with send to send from (the FORCE variants pass rmem_max/wmem_max
    as root).  With the default 208 KiB about 250 answers fit, and a test
    descheduled for a tenth of a second on a loaded machine loses the rest
    to its own buffer.  The default send buffer is what paces a burst to
    the pace the receiver takes it on loopback."""
    opts = [(33, socket.SO_RCVBUF)]                  # SO_RCVBUFFORCE
    if send:
        opts.append((32, socket.SO_SNDBUF))          # SO_SNDBUFFORCE
    for force, plain in opts:
        for opt in (force, plain):
            try:
                s.setsockopt(socket.SOL_SOCKET, opt, size)
                break
            except OSError:
                pass


# --------------------------------------------------------------------------
# Waiting


class WaitTimeout(AssertionError):
    pass


def wait_for(predicate, deadline=10.0, interval=0.05, what=None, ignore=()):
    """Poll predicate() until it returns a true value, which is returned.
    Exceptions listed in ignore count as "not yet".  Fails after deadline
    seconds, saying what was awaited and the last value seen."""
    end = time.monotonic() + deadline
    last = None
    while True:
        try:
            last = predicate()
            if last:
                return last
        except ignore as e:  # noqa: PERF203
            last = e
        if time.monotonic() >= end:
            raise WaitTimeout('timed out after %.1fs waiting for %s (last: %r)'
                              % (deadline, what or getattr(predicate, '__name__', 'it'),
                                 last))
        time.sleep(interval)


# --------------------------------------------------------------------------
# Processes: every one we start is remembered and stopped by PID.

_live = {}


def _spawn(argv, logpath, env=None):
    log = open(logpath, 'ab')
    try:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, env=env,
                             start_new_session=True)
    finally:
        log.close()
    _live[p.pid] = p
    return p


def proc_progress(pid):
    """(CPU seconds used, in disk wait) of process pid, all its threads,
    from /proc; None when it is gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except (OSError, IndexError):
        return None
    return ((int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK'),
            fields[0] == 'D')


def _reap(p, sig, deadline):
    """Send sig to p (one we started) and wait; returns the exit status or
    None when it did not exit in time."""
    if p.poll() is None:
        try:
            os.kill(p.pid, sig)
        except ProcessLookupError:
            pass
    try:
        rc = p.wait(timeout=deadline)
    except subprocess.TimeoutExpired:
        return None
    _live.pop(p.pid, None)
    return rc


def _kill_hard(p):
    """SIGKILL p and the process group it leads (NSD forks helpers)."""
    for target in (lambda: os.killpg(p.pid, signal.SIGKILL),
                   lambda: os.kill(p.pid, signal.SIGKILL)):
        try:
            target()
        except (ProcessLookupError, PermissionError):
            pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    _live.pop(p.pid, None)


@atexit.register
def _kill_leftovers():
    for p in list(_live.values()):
        _kill_hard(p)


def _on_stop_signal(signum, frame):
    """SIGTERM or SIGHUP (timeout(1), run-tests stopped): what we started
    runs in sessions of its own and would outlive us, so it goes first;
    then die of the signal as we would have."""
    _kill_leftovers()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


for _sig in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, _on_stop_signal)


def read_text(path, tail=None):
    try:
        with open(path, 'rb') as f:
            data = f.read().decode('utf-8', 'replace')
    except OSError:
        return ''
    if tail is not None:
        lines = data.splitlines()
        if len(lines) > tail:
            data = '\n'.join(['... (%d lines before)' % (len(lines) - tail)]
                             + lines[-tail:])
    return data


# --------------------------------------------------------------------------
# Addresses: a fresh 127.0.0.x and port for everything, checked free.

class AddrAllocator:
    """Hands out (host, port) pairs on 127.0.0.2-254, a new one each time.
    Ports stay below the kernel's ephemeral range so the router's own
    outgoing sockets never take one.  A pair is handed out only when both
    UDP and TCP can bind it, so leftovers of an earlier run do no harm."""

    PORT_LO, PORT_HI = 10000, 32000

    def __init__(self, seed=None):
        rnd = random.Random(seed if seed is not None else os.getpid() ^ int(time.time()))
        self._host = rnd.randrange(2, 255)
        self._port = rnd.randrange(self.PORT_LO, self.PORT_HI)

    @staticmethod
    def is_free(host, port):
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind((host, port))
            except OSError:
                return False
            finally:
                s.close()
        return True

    @staticmethod
    def is_released(host, port):
        """Has whoever had host:port let go of it?  Unlike is_free, a TCP
        connection lingering in TIME_WAIT does not count."""
        for kind, reuse in ((socket.SOCK_DGRAM, 0), (socket.SOCK_STREAM, 1)):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, reuse)
                s.bind((host, port))
                if kind == socket.SOCK_STREAM:
                    s.listen(1)
            except OSError:
                return False
            finally:
                s.close()
        return True

    def alloc(self, host=None):
        """A free (host, port): host as given (BIND listens only on an
        interface's own address, 127.0.0.1) or the next 127.0.0.x."""
        for _ in range(5000):
            h, port = host or '127.0.0.%d' % self._host, self._port
            self._host = self._host + 1 if self._host < 254 else 2
            self._port = self._port + 1 if self._port < self.PORT_HI else self.PORT_LO
            if self.is_free(h, port):
                return h, port
        raise RuntimeError('no free loopback address/port')


def endpoint(host, port):
    return '[%s]:%d' % (host, port) if ':' in host else '%s:%d' % (host, port)


# --------------------------------------------------------------------------
# Zones

LETTER_NET = {'a': 1, 'b': 2, 'c': 3, 'd': 4}
SOA_SERIAL = 2024010101


def names(letters, count=50):
    """['a1.example.', ..., 'b50.example.'] for letters 'ab'."""
    return ['%s%d.example.' % (l, i) for l in letters for i in range(1, count + 1)]


def expected_a(name):
    label = name.split('.')[0]
    return '10.%d.0.%d' % (LETTER_NET[label[0]], int(label[1:]))


def expected_txt(name):
    return 'txt-' + name.split('.')[0]


def example_zone(letters, apex_txt, count=50):
    """The slice of example. holding names starting with letters, with the
    apex (identical SOA and NS everywhere, apex TXT telling servers apart)."""
    lines = [
        '$ORIGIN example.',
        '$TTL 300',
        '@ IN SOA ns1.example. hostmaster.example. %d 3600 600 86400 300' % SOA_SERIAL,
        '@ IN NS ns1.example.',
        '@ IN TXT "%s"' % apex_txt,
        'ns1 IN A 127.0.0.1',
    ]
    for n in names(letters, count):
        label = n.split('.')[0]
        lines.append('%s IN A %s' % (label, expected_a(n)))
        lines.append('%s IN TXT "%s"' % (label, expected_txt(n)))
    return '\n'.join(lines) + '\n'


# --------------------------------------------------------------------------
# DNS helpers

def split_zone(identity, names):
    """split.test. holding names (each NAME.split.test.), every one with
    an A record and a TXT that says which server answered: identity."""
    lines = ['$ORIGIN split.test.', '$TTL 300',
             '@ IN SOA ns1 hostmaster 1 3600 600 86400 300', '@ IN NS ns1',
             'ns1 IN A 127.0.0.1']
    for i, n in enumerate(names):
        label = n.split('.')[0]
        lines.append('%s IN A 10.9.9.%d' % (label, i + 1))
        lines.append('%s IN TXT "%s"' % (label, identity))
    return '\n'.join(lines) + '\n'


def make_query(name, rdtype='A', rdclass='IN', qid=None):
    q = dns.message.make_query(name, rdtype, rdclass)
    if qid is not None:
        q.id = qid
    return q


def query(host, port, name, rdtype='A', tcp=False, timeout=3.0, rdclass='IN',
          sock=None):
    """One query with dnspython; returns the dns.message.Message.  Raises
    dns.exception.Timeout when nothing (acceptable) came back."""
    q = make_query(name, rdtype, rdclass)
    if tcp:
        return dns.query.tcp(q, host, port=port, timeout=timeout, sock=sock)
    return dns.query.udp(q, host, port=port, timeout=timeout, sock=sock)


def txt_values(msg):
    out = []
    for rrset in msg.answer:
        if rrset.rdtype == dns.rdatatype.TXT:
            for rd in rrset:
                out.append(b''.join(rd.strings).decode('ascii', 'replace'))
    return out


def a_values(msg):
    return sorted(rd.address for rrset in msg.answer
                  if rrset.rdtype == dns.rdatatype.A for rd in rrset)


def rcode_text(msg):
    return dns.rcode.to_text(msg.rcode())


def raw_udp(host, port, data, timeout=1.0):
    """Send bytes as one datagram; return the first datagram back or None."""
    s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET,
                      socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.connect((host, port))
        s.send(data)
        try:
            return s.recv(65535)
        except (socket.timeout, ConnectionRefusedError):
            return None
    finally:
        s.close()


def recv_exact(s, n):
    buf = b''
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError('connection closed after %d of %d bytes' % (len(buf), n))
        buf += chunk
    return buf


def tcp_pipeline(host, port, msgs, timeout=10.0, chunk=None):
    """Write every message (dns.message.Message) framed back to back on one
    TCP connection before reading anything, then read as many answers.
    chunk=N writes the stream N bytes at a time (frames split across
    segments).  Returns {id: answer Message}."""
    stream = b''.join(struct.pack('!H', len(w)) + w for w in (m.to_wire() for m in msgs))
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if chunk:
            for i in range(0, len(stream), chunk):
                s.sendall(stream[i:i + chunk])
        else:
            s.sendall(stream)
        answers = {}
        end = time.monotonic() + timeout
        while len(answers) < len(msgs):
            s.settimeout(max(0.1, end - time.monotonic()))
            (n,) = struct.unpack('!H', recv_exact(s, 2))
            a = dns.message.from_wire(recv_exact(s, n))
            answers[a.id] = a
        return answers
    finally:
        s.close()


# --------------------------------------------------------------------------
# NSD

NSD_CONF = '''server:
    ip-address: {host}@{port}
    port: {port}
    username: ""
    chroot: ""
    pidfile: "{dir}/nsd.pid"
    zonesdir: "{dir}"
    database: ""
    xfrdfile: "{dir}/xfrd.state"
    zonelistfile: "{dir}/zone.list"
    verbosity: 1
    server-count: 1
    tcp-count: 128
    tcp-timeout: 60
    do-ip4: yes
    do-ip6: {ip6}
    hide-identity: no
    identity: "{identity}"
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    refuse-any: no
remote-control:
    control-enable: no
'''


def wait_serving(srv, kind, deadline):
    """Wait until srv (an Nsd or a Named) answers the SOA of its first
    zone; fail at once, with its log, when it exits instead."""
    origin = sorted(srv.zones)[0]

    def answers_soa():
        if not srv.running():
            raise AssertionError('%s %s exited (%s) during start-up:\n%s'
                                 % (kind, srv.name, srv.proc.returncode,
                                    read_text(srv.log, 40)))
        try:
            r = query(srv.host, srv.port, origin, 'SOA', timeout=0.3)
        except (dns.exception.Timeout, OSError):
            return False
        return r.rcode() == dns.rcode.NOERROR and len(r.answer) > 0
    wait_for(answers_soa, deadline, what='%s %s to answer SOA' % (kind, srv.name))


class ZoneServer:
    """What Nsd and Named share: a server of KIND named name on host:port
    serving zones {origin: zone text}, each in a file of its own in dir
    (KIND-name in the test's directory), with KIND.conf and KIND.log
    there; started by PID and ready when it answers SOA.  A subclass
    writes the configuration and says how it runs (argv)."""
    KIND = None

    def __init__(self, workdir, name, host, port, zones):
        self.name = name
        self.host, self.port = host, port
        self.dir = os.path.join(workdir, '%s-%s' % (self.KIND, name))
        self.log = os.path.join(self.dir, self.KIND + '.log')
        self.conf = os.path.join(self.dir, self.KIND + '.conf')
        self.zones = dict(zones)
        self.proc = None
        os.makedirs(self.dir, exist_ok=True)

    def zone_files(self, suffix):
        """Write each zone to zoneN.suffix in dir: [(origin, file name)],
        sorted by origin."""
        files = []
        for i, (origin, text) in enumerate(sorted(self.zones.items())):
            zf = 'zone%d.%s' % (i, suffix)
            with open(os.path.join(self.dir, zf), 'w') as f:
                f.write(text)
            files.append((origin, zf))
        return files

    @property
    def endpoint(self):
        return endpoint(self.host, self.port)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        assert not self.running(), '%s %s already running' % (self.KIND, self.name)
        with open(self.log, 'a') as f:
            f.write('=== test harness: starting %s %s\n' % (self.KIND, self.name))
        self.proc = _spawn(self.argv(), self.log)
        self.wait_ready()
        return self

    def wait_ready(self, deadline=START_DEADLINE):
        wait_serving(self, self.KIND, deadline)

    def restart(self):
        self.stop()
        return self.start()


class Nsd(ZoneServer):
    """One NSD on host:port serving zones {origin: zone text}.  Answers
    id.server. CH TXT with its identity (the router's health check); with
    provide_xfr, zone transfers to anyone on loopback."""
    KIND = 'nsd'

    def __init__(self, workdir, name, host, port, zones, identity=None,
                 provide_xfr=False):
        super().__init__(workdir, name, host, port, zones)
        self.identity = identity or name
        conf = NSD_CONF.format(host=host, port=port, dir=self.dir,
                               identity=self.identity,
                               ip6='yes' if ':' in host else 'no')
        for origin, zf in self.zone_files('zone'):
            conf += 'zone:\n    name: "%s"\n    zonefile: "%s"\n' % (origin, zf)
            if provide_xfr:
                conf += '    provide-xfr: 127.0.0.0/8 NOKEY\n    provide-xfr: ::1 NOKEY\n'

        with open(self.conf, 'w') as f:
            f.write(conf)

    def argv(self):
        return [NSD, '-d', '-c', self.conf]

    def stop(self):
        """SIGTERM and wait (NSD also ends its helpers); SIGKILL the group
        when it does not go."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            _reap(self.proc, signal.SIGTERM, STOP_DEADLINE)
        _kill_hard(self.proc)       # and any helper left in its group
        self.proc = None
        if ':' not in self.host:
            wait_for(lambda: AddrAllocator.is_released(self.host, self.port), STOP_DEADLINE,
                     what='nsd %s to release %s' % (self.name, self.endpoint))


# --------------------------------------------------------------------------
# BIND 9, a primary that takes UPDATEs

NAMED = shutil.which('named') or '/usr/sbin/named'

NAMED_CONF = '''options {{
    directory "{dir}";
    pid-file "{dir}/named.pid";
    session-keyfile "{dir}/session.key";
    listen-on port {port} {{ {host}; }};
    listen-on-v6 {{ none; }};
    recursion no;
    notify no;
    dnssec-validation no;
    server-id "{name}";
}};
controls {{ }};
{keys}
'''


def have_named():
    return is_exe(NAMED)


class Named(ZoneServer):
    """One BIND 9 primary (named -g, foreground) on host:port (named binds
    only addresses an interface has: 127.0.0.1) with its own
    directory: zones {origin: text}, each taking UPDATEs signed with keys
    {name: (algorithm, base64 secret)} (update-policy grant KEY zonesub
    ANY).  Started and stopped by PID."""
    KIND = 'named'

    def __init__(self, workdir, name, host, port, zones, keys):
        super().__init__(workdir, name, host, port, zones)
        self.keys = dict(keys)
        text = ''.join('key "%s" {\n    algorithm %s;\n    secret "%s";\n};\n'
                       % (k, a, sec) for k, (a, sec) in sorted(self.keys.items()))
        grants = ''.join('        grant %s zonesub ANY;\n' % k for k in sorted(self.keys))
        for origin, zf in self.zone_files('db'):
            text += ('zone "%s" {\n    type primary;\n    file "%s";\n'
                     '    update-policy {\n%s    };\n};\n' % (origin, zf, grants))
        with open(self.conf, 'w') as f:
            f.write(NAMED_CONF.format(dir=self.dir, host=host, port=port, name=name,
                                      keys=text))

    def argv(self):
        # -n 1: one worker thread is plenty; -g: foreground, log to stderr.
        return [NAMED, '-g', '-n', '1', '-c', self.conf]

    def stop(self):
        if self.proc is None:
            return
        if _reap(self.proc, signal.SIGTERM, STOP_DEADLINE) is None:
            _kill_hard(self.proc)
        self.proc = None
        wait_for(lambda: AddrAllocator.is_released(self.host, self.port), STOP_DEADLINE,
                 what='named %s to release %s' % (self.name, self.endpoint))

    def serial(self, origin):
        r = query(self.host, self.port, origin, 'SOA')
        return r.answer[0][0].serial

    def lookup(self, name, rdtype='A'):
        """The rdata texts of name's rdtype RRset on this server (sorted)."""
        r = query(self.host, self.port, name, rdtype)
        return sorted(rd.to_text() for rrset in r.answer
                      if rrset.rdtype == dns.rdatatype.from_text(rdtype) for rd in rrset)


# --------------------------------------------------------------------------
# etcd

class EtcdMember:
    """One member of a test's etcd cluster: its own data directory, client
    and peer URLs on loopback, started and stopped by PID."""

    def __init__(self, cluster, name, client, peer):
        self.cluster, self.name = cluster, name
        self.client, self.peer = client, peer
        self.dir = os.path.join(cluster.dir, name)
        self.data = os.path.join(self.dir, 'data')
        self.log = os.path.join(self.dir, 'etcd.log')
        self.proc = None
        self.started_once = False
        os.makedirs(self.dir, exist_ok=True)

    @property
    def url(self):
        return 'http://%s' % endpoint(*self.client)

    @property
    def peer_url(self):
        return 'http://%s' % endpoint(*self.peer)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, wait=True):
        assert not self.running(), 'etcd %s already running' % self.name
        with open(self.log, 'a') as f:
            f.write('=== test harness: starting etcd %s\n' % self.name)
        argv = [ETCD, '--name', self.name, '--data-dir', self.data,
                '--listen-client-urls', self.url, '--advertise-client-urls', self.url,
                '--listen-peer-urls', self.peer_url,
                '--initial-advertise-peer-urls', self.peer_url,
                '--initial-cluster', self.cluster.initial_cluster(),
                '--initial-cluster-token', self.cluster.token,
                '--initial-cluster-state', 'new']
        self.proc = _spawn(argv, self.log)
        self.started_once = True
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, deadline=20.0):
        def ready():
            if not self.running():
                raise AssertionError('etcd %s exited (%s) during start-up:\n%s'
                                     % (self.name, self.proc.returncode,
                                        read_text(self.log, 40)))
            return self.cluster.ctl(['endpoint', 'health'], member=self,
                                    check=False, timeout=2).returncode == 0
        # An etcdctl that has not answered in 2 s is asked again: at load 7
        # one took longer (starting it, not etcd), and that ended the test.
        wait_for(ready, deadline, interval=0.1, what='etcd %s to be healthy' % self.name,
                 ignore=(subprocess.TimeoutExpired,))

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return
        if _reap(self.proc, sig, STOP_DEADLINE) is None:
            _kill_hard(self.proc)
        self.proc = None
        wait_for(lambda: AddrAllocator.is_released(*self.client), STOP_DEADLINE,
                 what='etcd %s to release %s' % (self.name, self.url))


class Etcd:
    """A real etcd cluster of n members on loopback for one test."""

    def __init__(self, workdir, alloc, n=1):
        self.dir = os.path.join(workdir, 'etcd')
        self.token = 'dnsroute-%d-%d' % (os.getpid(), random.randrange(1 << 30))
        self.members = [EtcdMember(self, 'm%d' % i, alloc(), alloc()) for i in range(n)]

    def initial_cluster(self):
        return ','.join('%s=%s' % (m.name, m.peer_url) for m in self.members)

    @property
    def urls(self):
        return ','.join(m.url for m in self.members)

    def start(self):
        for m in self.members:
            m.start(wait=False)
        for m in self.members:
            m.wait_ready()
        return self

    def stop(self):
        for m in self.members:
            m.stop()

    def ctl(self, args, member=None, check=True, timeout=10, stdin=None):
        """etcdctl ARGS against member (default: every running member);
        returns the CompletedProcess."""
        members = [member] if member else [m for m in self.members if m.running()]
        argv = [ETCDCTL, '--endpoints', ','.join(m.url for m in members),
                '--command-timeout', '%ds' % max(1, int(timeout) - 1)] + list(args)
        p = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                           timeout=timeout, env=dict(os.environ, ETCDCTL_API='3'))
        if check:
            assert p.returncode == 0, 'etcdctl %s -> %s\n%s%s' % (
                ' '.join(args), p.returncode, p.stdout, p.stderr)
        return p

    def put(self, key, value, lease=None, member=None):
        args = ['put'] + (['--lease=%x' % lease] if lease else []) + ['--', key, value]
        self.ctl(args, member=member)

    def delete(self, key, member=None):
        self.ctl(['del', '--', key], member=member)

    def lease_grant(self, ttl):
        out = self.ctl(['lease', 'grant', str(ttl)]).stdout
        m = re.search(r'lease ([0-9a-f]+) granted', out)
        assert m, out
        return int(m.group(1), 16)

    def revision(self):
        out = self.ctl(['endpoint', 'status', '-w', 'json']).stdout
        return max(int(e['Status']['header']['revision']) for e in jsonlib.loads(out))

    def compact(self, revision):
        self.ctl(['compact', '--physical', str(revision)])


# --------------------------------------------------------------------------
# The misbehaving responder

_misbehave_bin = None


def misbehave_binary(scratch):
    """BUILDDIR's misbehave, or one compiled from source into scratch."""
    global _misbehave_bin
    if _misbehave_bin:
        return _misbehave_bin
    built = os.path.join(BUILDDIR, 'tests', 'responder', 'misbehave')
    if is_exe(built):
        _misbehave_bin = built
        return built
    cc = shutil.which(os.environ.get('CC', 'cc')) or shutil.which('gcc')
    if cc is None or not os.path.exists(MISBEHAVE_SRC):
        return None
    out = os.path.join(scratch, 'misbehave')
    r = subprocess.run([cc, '-std=c11', '-D_GNU_SOURCE', '-O1', '-o', out, MISBEHAVE_SRC],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None
    _misbehave_bin = out
    return out


class Misbehave:
    def __init__(self, binary, workdir, host, port, mode, delay_ms=None,
                 all_classes=False, record=False, proxy=False):
        self.binary = binary
        self.host, self.port, self.mode = host, port, mode
        self.dir = os.path.join(workdir, 'misbehave-%s-%d' % (mode, port))
        os.makedirs(self.dir, exist_ok=True)
        self.pidfile = os.path.join(self.dir, 'pid')
        self.log = os.path.join(self.dir, 'log')
        self.argv = [binary, '-l', endpoint(host, port), '-m', mode, '-p', self.pidfile]
        if delay_ms is not None:
            self.argv += ['-d', str(int(delay_ms))]
        if all_classes:
            self.argv.append('-a')
        # record: every message taken, "udp|tcp OPCODE NAME" a line.
        self.record = os.path.join(self.dir, 'record') if record else None
        if record:
            self.argv += ['-r', self.record]
        # proxy: a PROXY v2 header is required, as dnsdist and PowerDNS do.
        if proxy:
            self.argv.append('-P')
        self.proc = None

    @property
    def endpoint(self):
        return endpoint(self.host, self.port)

    def start(self):
        self.proc = _spawn(self.argv, self.log)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError('misbehave exited %s: %s'
                                     % (self.proc.returncode, read_text(self.log)))
            return os.path.exists(self.pidfile)
        wait_for(ready, START_DEADLINE, what='misbehave %s pidfile' % self.mode)
        return self

    def received(self):
        """The lines of the record: [(transport, opcode, name)], or
        (transport, 'noproxy') for a message dropped for want of a PROXY
        header."""
        return [tuple(l.split(' ', 2)) for l in read_text(self.record).splitlines()]

    def stop(self):
        if self.proc is None:
            return
        rc = _reap(self.proc, signal.SIGTERM, STOP_DEADLINE)
        if rc is None:
            _kill_hard(self.proc)
        self.proc = None
        assert rc == 0, 'misbehave -m %s ended with %r: %s' % (self.mode, rc, read_text(self.log))


# --------------------------------------------------------------------------
# The router

class CtlResult(collections.namedtuple('CtlResult', 'rc stdout stderr')):
    """(rc, stdout, stderr) of one dnsroutectl run; .path is the batch file
    when one was written, .argv what was run."""
    path = None
    argv = None

    def describe(self):
        return 'dnsroutectl %s -> rc %s\nstdout:\n%s\nstderr:\n%s' % (
            ' '.join(self.argv or ()), self.rc, self.stdout, self.stderr)


class Router:
    """dnsrouted on host:port with its control socket, database and log in
    dir.  start() waits until `show settings` works; stop() insists on a
    clean exit."""

    def __init__(self, workdir, host, port, extra_args=(), db=None):
        self.dir = workdir
        self.host, self.port = host, port
        self.sock = os.path.join(workdir, 'ctl.sock')
        self.db = db or os.path.join(workdir, 'dnsroute.db')
        self.log = os.path.join(workdir, 'dnsrouted.log')
        self.extra_args = list(extra_args)
        self.env = None             # the daemon's environment; None: ours
        self.proc = None
        self.starts = 0
        self._nbatch = 0

    @property
    def endpoint(self):
        return endpoint(self.host, self.port)

    def argv(self):
        return [DNSROUTED, '-f', '-l', self.endpoint, '-s', self.sock, '-d', self.db] \
            + self.extra_args

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        assert not self.running(), 'dnsrouted already running'
        self.starts += 1
        with open(self.log, 'a') as f:
            f.write('=== test harness: start %d: %s\n' % (self.starts, ' '.join(self.argv())))
        self.proc = _spawn(self.argv(), self.log, env=self.env)
        self.wait_ready()
        return self

    def close(self):
        """What outlives the daemon (nothing here; see held.HeldRouter)."""

    def wait_ready(self, deadline=START_DEADLINE):
        """Wait until `show settings` works.  Slow is not hung: at load
        13.7 a start took over 10 s, with the daemon working all along.
        So deadline counts from the daemon's last sign of progress (CPU
        time used, or a disk wait): deadline seconds in which it neither
        answered nor progressed fail the start, as a hang that blocks
        does; START_CPU seconds of its CPU (a spin) or START_LIMIT in all
        fail it too, and exiting fails it at once."""
        t0 = time.monotonic()
        end = t0 + deadline
        seen = proc_progress(self.proc.pid)
        why = None
        while why is None:
            if not self.running():
                raise AssertionError('dnsrouted exited with %s during start-up:\n%s'
                                     % (self.proc.returncode, read_text(self.log, 60)))
            # Each try may take what is left: at load 14 one dnsroutectl
            # took over 2 s, and five 2 s tries all ran out.
            try:
                if self.ctl('show settings', timeout=max(2, end - time.monotonic())).rc == 0:
                    return
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            p = proc_progress(self.proc.pid)
            if p is not None and seen is not None and (p[0] > seen[0] or p[1]):
                end = min(now + deadline, t0 + START_LIMIT)
            seen = p or seen
            if seen is not None and seen[0] > START_CPU:
                why = 'used %.1f s of CPU' % seen[0]
            elif now >= end:
                why = ('made no progress for %.0f s' % deadline if end < t0 + START_LIMIT
                       else 'was still starting after %.0f s' % START_LIMIT)
            else:
                time.sleep(0.05)
        raise WaitTimeout('dnsrouted %s without answering show settings '
                          '(%.1f s since start):\n%s'
                          % (why, time.monotonic() - t0, read_text(self.log, 60)))

    def kill9(self):
        assert self.running(), 'dnsrouted is not running'
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=STOP_DEADLINE)
        _live.pop(self.proc.pid, None)
        with open(self.log, 'a') as f:
            f.write('=== test harness: killed with SIGKILL\n')
        self.proc = None

    def restart(self):
        """kill -9 and start again on the same database."""
        self.kill9()
        return self.start()

    def sanitizer_lines(self):
        return [l for l in read_text(self.log).splitlines() if SANITIZER_RE.search(l)]

    def stop(self, sig=signal.SIGTERM):
        """SIGTERM (sig=None: it was sent already); the daemon must exit 0
        within 5 s with a clean log."""
        if self.proc is None:
            return
        p = self.proc
        self.proc = None
        if sig is None:
            try:
                rc = p.wait(timeout=STOP_DEADLINE)
                _live.pop(p.pid, None)
            except subprocess.TimeoutExpired:
                rc = None
        else:
            rc = _reap(p, sig, STOP_DEADLINE)
        if rc is None:
            _kill_hard(p)
        bad = self.sanitizer_lines()
        problems = []
        if rc is None:
            problems.append('dnsrouted did not exit within %gs of SIGTERM' % STOP_DEADLINE)
        elif rc != 0:
            problems.append('dnsrouted exited with status %s after SIGTERM' % rc)
        if bad:
            problems.append('sanitizer reports in the log:\n  ' + '\n  '.join(bad[:20]))
        if problems:
            raise AssertionError('\n'.join(problems) + '\n--- dnsrouted log (tail):\n'
                                 + read_text(self.log, 80))

    # ---- control

    def ctl(self, cmd=None, json=False, stdin=None, args=(), timeout=15, sock=None):
        """Run dnsroutectl: cmd is one command (-c) or a list of lines
        (written to a file, -f); with neither, commands come from stdin.
        Returns CtlResult (rc, stdout, stderr)."""
        argv = [DNSROUTECTL, '-s', sock or self.sock]
        if json:
            argv.append('--json')
        path = None
        if isinstance(cmd, (list, tuple)):
            self._nbatch += 1
            path = os.path.join(self.dir, 'batch%d.cmd' % self._nbatch)
            with open(path, 'w') as f:
                f.write(''.join(l + '\n' for l in cmd))
            argv += ['-f', path]
        elif cmd is not None:
            argv += ['-c', cmd]
        argv += list(args)
        p = subprocess.run(argv, input=stdin if stdin is not None else '',
                           capture_output=True, text=True, timeout=timeout)
        r = CtlResult(p.returncode, p.stdout, p.stderr)
        r.path, r.argv = path, argv
        return r

    def ok(self, cmd):
        """Run a command that must succeed; returns its stdout."""
        r = self.ctl(cmd)
        assert r.rc == 0, r.describe()
        return r.stdout

    def json(self, cmd):
        """The parsed --json document of cmd (whatever its outcome)."""
        r = self.ctl(cmd, json=True)
        try:
            doc = jsonlib.loads(r.stdout)
        except ValueError as e:
            raise AssertionError('not one JSON document (%s): %s' % (e, r.describe()))
        doc['_rc'] = r.rc
        return doc

    def rows(self, cmd):
        doc = self.json(cmd)
        assert doc.get('ok') is True and doc['_rc'] == 0, 'command failed: %r' % doc
        return doc['rows']

    def backends(self):
        return {r['name']: r for r in self.rows('show backends')}

    def routes(self):
        return sorted(self.rows('show routes'), key=lambda r: int(r['position']))

    def pools(self):
        return {r['name']: r for r in self.rows('show pools')}

    def fleet(self):
        """{kind: [rows]} of show fleet."""
        out = {}
        for r in self.rows('show fleet'):
            out.setdefault(r['kind'], []).append(r)
        return out

    def stats(self):
        return {r['counter']: int(r['value']) for r in self.rows('show stats')}

    def stat(self, name):
        s = self.stats()
        assert name in s, 'no counter %r in show stats: %s' % (name, sorted(s))
        return s[name]

    def settings(self):
        out = {}
        for r in self.rows('show settings'):
            key = r.get('name', r.get('setting'))
            out[key] = r.get('value')
        return out

    def route_test(self, qname, qtype=None):
        rows = self.rows('route test %s%s' % (qname, ' ' + qtype if qtype else ''))
        assert len(rows) == 1, rows
        return rows[0]

    def wait_health(self, name, state='up', deadline=10.0):
        def reached():
            b = self.backends().get(name)
            return b is not None and b['health'] == state
        wait_for(reached, deadline, what='backend %s health %s' % (name, state))

    # ---- DNS

    def query(self, name, rdtype='A', tcp=False, timeout=3.0, rdclass='IN', sock=None):
        return query(self.host, self.port, name, rdtype, tcp=tcp, timeout=timeout,
                     rdclass=rdclass, sock=sock)

    def raw_udp(self, data, timeout=1.0):
        return raw_udp(self.host, self.port, data, timeout)

    def udp_socket(self):
        """A UDP socket to reuse for a series of queries (one client
        address/port, so one worker sees them all)."""
        s = socket.socket(socket.AF_INET6 if ':' in self.host else socket.AF_INET,
                          socket.SOCK_DGRAM)
        s.bind((self.host if ':' in self.host else '127.0.0.1', 0))
        s.setblocking(False)        # as dns.query.udp(sock=) wants it
        return s


# --------------------------------------------------------------------------
# Load

def udp_drops(pid):
    """Datagrams the kernel dropped at process pid's UDP sockets (their
    receive buffers were full), from the drops column of /proc/net/udp
    and udp6; 0 once the process is gone.  At the router's listening
    socket: queries it read too late; at dnsperf's: answers it read too
    late.  Counted so that a test can tell such drops, which a busy
    machine makes, from what the router lost."""
    inodes = set()
    try:
        for fd in os.listdir('/proc/%d/fd' % pid):
            try:
                link = os.readlink('/proc/%d/fd/%s' % (pid, fd))
            except OSError:
                continue
            if link.startswith('socket:['):
                inodes.add(link[8:-1])
    except OSError:
        return 0
    drops = 0
    for table in ('/proc/net/udp', '/proc/net/udp6'):
        with open(table) as f:
            for line in f.readlines()[1:]:
                col = line.split()
                if col[9] in inodes:
                    drops += int(col[12])
    return drops


# dnsperf's socket buffers (-b, KiB).  Without -b a socket holds
# rmem_default (208 KiB): 256 answers of 100 bytes, and at load 20 and
# more dnsperf, not getting a CPU in time, left thousands unread
# (udp_drops).  The kernel caps -b at net.core.rmem_max: 4 MiB here
# holds 10,000; 208 KiB (the kernel's default) still twice as many.
DNSPERF_BUF_KB = 4096


class Dnsperf:
    """One dnsperf run against the router, bounded by -l (then at most -t
    for the last answers); its output is parsed when it ends, or when
    stop() ends it early: a load that must outlast work of unknown length
    (changes under ASan on a busy machine) runs long and is stopped."""

    def __init__(self, workdir, router, seconds, qps, names, outstanding=1000, timeout=4):
        self.seconds, self.timeout = seconds, timeout
        n = len([f for f in os.listdir(workdir) if f.startswith('dnsperf')])
        self.data = os.path.join(workdir, 'dnsperf%d.in' % n)
        self.out = os.path.join(workdir, 'dnsperf%d.out' % n)
        with open(self.data, 'w') as f:
            f.write(''.join(l + '\n' for l in names))
        self.argv = ['dnsperf', '-s', router.host, '-p', str(router.port), '-d', self.data,
                     '-l', str(seconds), '-Q', str(qps), '-q', str(outstanding),
                     '-t', str(timeout), '-c', '4', '-b', str(DNSPERF_BUF_KB)]
        self.proc = _spawn(self.argv, self.out)
        self.started = time.monotonic()
        self.result = None
        self.drops = 0          # answers dropped at its sockets (stop())

    def running(self):
        return self.proc.poll() is None

    def stop(self):
        """End the load now and parse as wait() does, 'interrupted' being the
        queries in flight at the end.  It first waits dnsperf's -t, so that
        a query the router dropped before stop() counts as lost, not as
        interrupted."""
        time.sleep(self.timeout + 0.5)
        self.drops = udp_drops(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.wait()

    def wait(self):
        """Wait for the end (bounded) and parse: {'sent', 'completed', 'lost',
        'interrupted', 'rcodes': {RCODE: n}}."""
        if self.result is not None:
            return self.result
        try:
            rc = self.proc.wait(timeout=self.seconds + self.timeout + 15)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError('dnsperf did not end in time:\n' + read_text(self.out, 40))
        _live.pop(self.proc.pid, None)
        text = read_text(self.out)
        assert rc == 0, 'dnsperf exited %s:\n%s' % (rc, read_text(self.out, 40))
        res = {}
        for key in ('sent', 'completed', 'lost'):
            m = re.search(r'Queries %s:\s+(\d+)' % key, text)
            assert m, 'no "Queries %s" in dnsperf output:\n%s' % (key, text[-2000:])
            res[key] = int(m.group(1))
        m = re.search(r'Queries interrupted:\s+(\d+)', text)
        res['interrupted'] = int(m.group(1)) if m else 0
        m = re.search(r'Response codes:[ \t]*(.*)', text)
        res['rcodes'] = {k: int(v) for k, v in re.findall(r'([A-Z]+) (\d+) \(', m.group(1))} \
            if m else {}
        self.result = res
        return res

    def kill(self):
        if self.proc.poll() is None:
            _kill_hard(self.proc)


# --------------------------------------------------------------------------
# Setups shared by several test files

BACKEND_FAST = 'interval 0.25 timeout 200 fall 2 rise 1'

SEED_ROUTES = [
    r"route add '^[ab][^.]*\.example\.$' pool ab",
    r"route add '^[cd][^.]*\.example\.$' pool cd",
    r"route add '^example\.$' pool apex",
]


def scrape(url):
    p = subprocess.run(['curl', '-sS', '--max-time', '5', '-o', '-', '-w',
                        '\n%{http_code}', url], capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 0, p.stderr
    body, _, status = p.stdout.rpartition('\n')
    return int(status), body


def samples(text):
    """{'name{labels}': value} of a Prometheus text page."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith('#'):
            key, _, value = line.rpartition(' ')
            out[key] = float(value)
    return out


def setup_pool(router, members, timeout_ms=None, retries=None, policy=None,
               pool='p', route=r'\.example\.$', options=''):
    """Pool pool (p) with the given (name, endpoint) members (each with
    the backend options given, beside quick health checks), every
    *.example. name (or what route matches) routed to it, and every
    member up."""
    if timeout_ms is not None:
        router.ok('set query-timeout %d' % timeout_ms)
    if retries is not None:
        router.ok('set retries %d' % retries)
    router.ok('pool add %s' % pool + (' policy %s' % policy if policy else ''))
    for name, ep in members:
        router.ok(('backend add %s %s pool %s %s %s' % (name, ep, pool, BACKEND_FAST,
                                                       options)).rstrip())
    router.ok("route add '%s' pool %s" % (route, pool))
    for name, _ in members:
        router.wait_health(name, 'up')


def hears_nothing(s, seconds):
    """Nothing more arrives on the UDP socket s within seconds."""
    s.settimeout(seconds)
    try:
        extra = s.recv(65535)
    except socket.timeout:
        return
    raise AssertionError('unexpected datagram: %r' % extra)


class Seed:
    """The seed article: ns-ab serves a*/b* and the apex, ns-cd c*/d* and the
    apex; routes send each half to its server and the apex to both."""

    def __init__(self, router, ns_ab, ns_cd):
        self.router, self.ns_ab, self.ns_cd = router, ns_ab, ns_cd

    def configure(self):
        r = self.router
        for cmd in ['pool add ab', 'pool add cd', 'pool add apex',
                    'backend add ns-ab %s pool ab pool apex %s' % (self.ns_ab.endpoint, BACKEND_FAST),
                    'backend add ns-cd %s pool cd pool apex %s' % (self.ns_cd.endpoint, BACKEND_FAST)] \
                + SEED_ROUTES:
            r.ok(cmd)
        self.wait_up()
        return self

    def wait_up(self):
        self.router.wait_health('ns-ab', 'up')
        self.router.wait_health('ns-cd', 'up')

    def route_ids(self):
        """{pattern: id} of the current routes."""
        return {r['pattern']: r['id'] for r in self.router.rows('show routes')}


def check_name(router, name, tcp=False, sock=None):
    """Assert that name's A and TXT come back right through the router."""
    r = router.query(name, 'TXT', tcp=tcp, sock=sock)
    assert rcode_text(r) == 'NOERROR' and txt_values(r) == [expected_txt(name)], \
        '%s TXT over %s: %s' % (name, 'TCP' if tcp else 'UDP', r)
    r = router.query(name, 'A', tcp=tcp, sock=sock)
    assert rcode_text(r) == 'NOERROR' and a_values(r) == [expected_a(name)], \
        '%s A over %s: %s' % (name, 'TCP' if tcp else 'UDP', r)


def apex_answers(router, n, servers):
    """Ask the apex TXT (example.) n times from one client socket, each
    answered by one of servers (its TXT is the server's name): the
    servers that answered, in order."""
    seen = []
    s = router.udp_socket()
    try:
        for _ in range(n):
            a = router.query('example.', 'TXT', sock=s)
            assert rcode_text(a) == 'NOERROR', a
            vals = txt_values(a)
            assert len(vals) == 1 and vals[0] in servers, a
            seen.append(vals[0])
    finally:
        s.close()
    return seen


def spoof_count(stats):
    """Answers dropped because they did not belong to the query sent (wrong
    ID, question or QR bit): `spoofed`, plus `unexpected` where the daemon
    counts answers to IDs it is not waiting for separately."""
    return sum(v for k, v in stats.items()
               if k in ('spoofed', 'unexpected') or 'mismatch' in k)


def counter_diff(before, after):
    """The counters that moved, for assertion messages."""
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def csv_set(s):
    """'a, b,c' -> {'a', 'b', 'c'}."""
    return {x.strip() for x in (s or '').split(',') if x.strip()}


def record(line, name):
    """Print a figure and keep it in BUILDDIR/tests/out/NAME, dated."""
    print(line)
    out = os.path.join(BUILDDIR, 'tests', 'out')
    if os.path.isdir(out):
        with open(os.path.join(out, name), 'a') as f:
            f.write('%s %s\n' % (time.strftime('%Y-%m-%dT%H:%M:%S'), line))


def nobody_ids():
    return pwd.getpwnam('nobody').pw_uid, grp.getgrnam('nogroup').gr_gid


def open_path_for_others(r):
    """The scratch root is mode 0700; let others through it (not read it)
    so that only the socket's own mode and the daemon decide."""
    d = os.path.dirname(os.path.abspath(r.sock))
    while d != '/':
        mode = os.stat(d).st_mode
        if not mode & stat.S_IXOTH:
            os.chmod(d, stat.S_IMODE(mode) | stat.S_IXOTH | stat.S_IXGRP)
        d = os.path.dirname(d)


def ctl_connect(r):
    """A raw control connection to router r, past its greeting."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(r.sock)
    greeting = b''
    while not greeting.endswith(b'\n'):
        chunk = s.recv(4096)
        assert chunk, 'no greeting'
        greeting += chunk
    assert greeting.startswith(b'0001 '), greeting
    return s


# A control-socket client speaking the line protocol (README: "The control
# protocol"), for what dnsroutectl hides (when a trace starts, a client that
# stops reading) and for a series of commands without a process each: on a
# loaded machine starting dnsroutectl can take longer than what is timed.

def unescape(field):
    """A protocol field as text; None for the null field."""
    if field == '\\N':
        return None
    out, i = [], 0
    while i < len(field):
        c = field[i]
        if c != '\\' or i + 1 >= len(field):
            out.append(c)
            i += 1
            continue
        n = field[i + 1]
        if n in '\\tnr':
            out.append({'\\': '\\', 't': '\t', 'n': '\n', 'r': '\r'}[n])
            i += 2
        elif field[i + 1:i + 4].isdigit() and len(field[i + 1:i + 4]) == 3:
            out.append(chr(int(field[i + 1:i + 4])))
            i += 4
        else:
            out.append(c)
            i += 1
    return ''.join(out)


class CtlConn:
    """One control connection, past its greeting."""

    def __init__(self, path, rcvbuf=None):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.connect(path)
        self.buf = b''
        code, more, text = self.line()
        assert code == 1 and not more, text

    def close(self):
        self.s.close()

    def send(self, cmd):
        self.s.sendall(cmd.encode() + b'\n')

    def line(self, deadline=10.0):
        """(code, more, text) of the next reply line."""
        end = time.monotonic() + deadline
        while b'\n' not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise WaitTimeout('no reply line within %.1fs (have %r)'
                                     % (deadline, self.buf[:200]))
            self.s.settimeout(left)
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError('control connection closed')
            self.buf += chunk
        raw, self.buf = self.buf.split(b'\n', 1)
        raw = raw.decode('utf-8', 'replace')
        m = re.match(r'^(\d{4})([- ])(.*)$', raw)
        assert m, 'not a protocol line: %r' % raw
        return int(m.group(1)), m.group(2) == '-', m.group(3)

    def reply(self, cmd, deadline=10.0):
        """Send cmd; return (final code, final text, [(code, text), ...])."""
        self.send(cmd)
        lines = []
        while True:
            code, more, text = self.line(deadline)
            if not more:
                return code, text, lines
            lines.append((code, text))

    def rows(self, cmd, deadline=10.0):
        """The rows of cmd, which must succeed, as dicts by column name
        (without the numeric mark `#`; numeric fields as int)."""
        code, text, lines = self.reply(cmd, deadline)
        assert code == 0, 'command %r failed: %d %s' % (cmd, code, text)
        cols, out = None, []
        for c, t in lines:
            if c == 1000:
                cols = t.split('\t')
            elif c == 1001:
                assert cols is not None, 'a row before the column names: %r' % t
                out.append({k.rstrip('#'): int(v) if k.endswith('#') and v is not None and
                            v.lstrip('-').isdigit() else v
                            for k, v in zip(cols, map(unescape, t.split('\t')))})
        return out


class Session:
    """A raw control connection: one line in, its final line out."""

    def __init__(self, router):
        self.s = ctl_connect(router)
        self.s.settimeout(60)
        self.buf = b''

    def send(self, line, data=None):
        """line, with data as the request's data ("{N} line") if given."""
        if data is not None:
            line = '{%d} %s' % (len(data), line)
        self.s.sendall(line.encode() + b'\n' + (data or b''))

    def final(self):
        while True:
            line, nl, rest = self.buf.partition(b'\n')
            while nl:
                self.buf = rest
                if len(line) >= 5 and line[4:5] == b' ':
                    return line.decode()
                line, nl, rest = self.buf.partition(b'\n')
            chunk = self.s.recv(65536)
            assert chunk, 'closed before the final line'
            self.buf += chunk

    def has_final(self):
        """Has the final line arrived (without waiting for it)?"""
        self.s.setblocking(False)
        try:
            while True:
                chunk = self.s.recv(1 << 20)
                if not chunk:
                    break
                self.buf += chunk
        except BlockingIOError:
            pass
        finally:
            self.s.settimeout(60)
        return any(len(l) >= 5 and l[4:5] == b' ' for l in self.buf.split(b'\n'))

    def run(self, line):
        self.send(line)
        return self.final()

    def count(self, line):
        """How many rows line answers (it must succeed)."""
        self.send(line)
        rows = 0
        while True:
            head, nl, rest = self.buf.partition(b'\n')
            while nl:
                self.buf = rest
                if head.startswith(b'1001'):
                    rows += 1
                elif len(head) >= 5 and head[4:5] == b' ':
                    assert head.startswith(b'0000'), head
                    return rows
                head, nl, rest = self.buf.partition(b'\n')
            chunk = self.s.recv(1 << 20)
            assert chunk, 'closed before the final line'
            self.buf += chunk

    def close(self):
        self.s.close()


def wait_store_held(router, deadline=30.0):
    """Wait until a change is refused busy on router (a replace or a
    fleet's apply holds the store).  The change asked for deletes a route
    no store has: refused either way, it never holds the store itself.
    Returns the busy line."""
    s = Session(router)
    busy = []

    def held():
        line = s.run('route del 999999999')
        assert line.startswith('8'), line
        if 'busy' in line:
            busy.append(line)
        return bool(busy)
    try:
        wait_for(held, deadline=deadline, interval=0.01,
                 what='a change refused busy')
    finally:
        s.close()
    return busy[0]


def timed(fn, *a, **kw):
    """(result, seconds) of fn(*a, **kw)."""
    t = time.monotonic()
    res = fn(*a, **kw)
    return res, time.monotonic() - t


def let_others_reach(path):
    """chmod 0755 path and the scratch directories above it (0700 from
    mkdtemp), so that a daemon running as another user (-u) reaches what
    it needs inside."""
    d = path
    while d.startswith(tempfile.gettempdir() + '/') and os.stat(d).st_uid == os.geteuid():
        os.chmod(d, 0o755)
        d = os.path.dirname(d)
