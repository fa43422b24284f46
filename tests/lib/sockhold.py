#!/usr/bin/python3
"""sockhold: hold a daemon's listening sockets the way systemd does, and
hand them to each daemon it starts, so that the daemon can be restarted
without a moment when nobody holds its address.

What systemd does for a socket unit and its service, in small:
- bind DNS over UDP and TCP on ADDR:PORT, and optionally the control
  socket, once, in this process; they stay open across restarts;
- start each daemon with them as descriptors 3, 4, ... and LISTEN_FDS,
  LISTEN_FDNAMES ("dns", "dns", "control") and LISTEN_PID (the daemon's own
  pid: set by a shell that then execs the daemon, as systemd sets it
  between fork and exec);
- give it a NOTIFY_SOCKET and wait for READY=1 (Type=notify), telling
  daemons apart by the pid the kernel attaches (SO_PASSCRED);
- restart = SIGTERM, wait for the exit, start the next one.

The UDP receive buffer is what carries queries across a restart: while no
daemon reads, the kernel queues them there, and Linux charges a small
datagram some 830 bytes of it.  The default (net.core.rmem_default, 208 KiB)
holds about 250 queries, and SO_RCVBUF cannot pass net.core.rmem_max (208
KiB on a stock kernel).  As root, SO_RCVBUFFORCE passes it, which is what
systemd's ReceiveBuffer= does, so that is used: 32 MiB asked (the kernel
doubles it) holds some 80,000 queries, most of a second at full load.

As a program, for measurements by hand:

    sockhold.py -l 127.0.0.1:5300 [-c CONTROL] [--restarts N] [--every S]
                [--probe NAME] -- dnsrouted -f -d DB ...

starts the daemon, restarts it N times every S seconds and prints, per
restart, when the old one exited, when the new one said READY=1, and (with
--probe) when an A query for NAME sent right after the exit was answered.
"""

import argparse
import fcntl
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

SO_RCVBUFFORCE = getattr(socket, 'SO_RCVBUFFORCE', 33)
RCVBUF = 32 * 1024 * 1024
SHIM = 'LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"'


def _parse_endpoint(s):
    if s.startswith('['):
        host, _, port = s[1:].partition(']:')
        return host, int(port)
    host, _, port = s.rpartition(':')
    return host, int(port)


class SocketHolder:
    """The sockets of one daemon, bound here and kept across its restarts.

    socks: extra (socket, name) pairs to pass after the ones made here, for
    tests that pass something odd."""

    def __init__(self, host, port, control=None, udp=True, tcp=True,
                 notify_dir=None, rcvbuf=RCVBUF, socks=()):
        self.host, self.port = host, port
        fam = socket.AF_INET6 if ':' in host else socket.AF_INET
        self.passed = []        # (socket, name)
        self.udp = self.tcp = self.ctl = None
        if udp:
            self.udp = socket.socket(fam, socket.SOCK_DGRAM)
            if fam == socket.AF_INET6:
                self.udp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            self.rcvbuf_forced = self._big_buffer(self.udp, rcvbuf)
            self.udp.bind((host, port))
            self.passed.append((self.udp, 'dns'))
        if tcp:
            self.tcp = socket.socket(fam, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if fam == socket.AF_INET6:
                self.tcp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            self.tcp.bind((host, port))
            self.tcp.listen(1024)
            self.passed.append((self.tcp, 'dns'))
        if control is not None:
            self.ctl_path = control
            self.ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            old = os.umask(0o117)
            try:
                self.ctl.bind(control)
            finally:
                os.umask(old)
            self.ctl.listen(16)
            self.passed.append((self.ctl, 'control'))
        self.passed.extend(socks)
        self.notify = None
        if notify_dir is not None:
            self.notify_path = os.path.join(notify_dir, 'notify.sock')
            self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.notify.bind(self.notify_path)
            # As systemd's: a daemon that dropped privileges still says
            # READY=1 and STOPPING=1.
            os.chmod(self.notify_path, 0o777)
            self.notify.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)

    @staticmethod
    def _big_buffer(s, size):
        """SO_RCVBUFFORCE when allowed (root), else as much as SO_RCVBUF
        gives.  Returns whether the forced size was taken."""
        try:
            s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
            return True
        except PermissionError:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
            return False

    def env(self, extra=None):
        env = dict(os.environ if extra is None else extra)
        for k in ('LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES', 'NOTIFY_SOCKET'):
            env.pop(k, None)
        env['LISTEN_FDS'] = str(len(self.passed))
        env['LISTEN_FDNAMES'] = ':'.join(name for _, name in self.passed)
        if self.notify is not None:
            env['NOTIFY_SOCKET'] = self.notify_path
        return env

    def spawn(self, argv, stdout=None, env=None):
        """Start argv with the sockets as descriptors 3, 4, ... (a
        subprocess.Popen, in its own session)."""
        fds = [s.fileno() for s, _ in self.passed]

        def place():
            # Out of the way first (close-on-exec copies), then into 3,
            # 4, ...: a source may itself be one of the targets.
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 64) for fd in fds]
            for i, fd in enumerate(high):
                os.dup2(fd, 3 + i, inheritable=True)
        return subprocess.Popen(['/bin/sh', '-c', SHIM] + list(argv),
                                stdin=subprocess.DEVNULL, stdout=stdout,
                                stderr=subprocess.STDOUT if stdout else None,
                                env=self.env(env), close_fds=False,
                                preexec_fn=place, start_new_session=True)

    def wait_ready(self, pid, deadline=10.0, proc=None):
        """Wait for READY=1 from pid on the notify socket; returns the
        time.monotonic() it came.  Messages of other processes (the old
        daemon's STOPPING=1) are skipped."""
        end = time.monotonic() + deadline
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError('no READY=1 from pid %d' % pid)
            if proc is not None and proc.poll() is not None:
                raise RuntimeError('pid %d exited with %s before READY=1'
                                   % (pid, proc.returncode))
            r, _, _ = select.select([self.notify], [], [], min(left, 0.2))
            if not r:
                continue
            msg, anc, _, _ = self.notify.recvmsg(4096, socket.CMSG_SPACE(12))
            sender = None
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    sender = struct.unpack('iii', data[:12])[0]
            if sender == pid and b'READY=1' in msg.split(b'\n'):
                return time.monotonic()

    def drain_udp(self):
        """Read what waits in the UDP queue (no daemon running): the
        datagrams, in order."""
        out = []
        self.udp.setblocking(False)
        try:
            while True:
                out.append(self.udp.recvfrom(65535))
        except BlockingIOError:
            pass
        finally:
            self.udp.setblocking(True)
        return out

    def close(self):
        for s, _ in self.passed:
            s.close()
        if self.ctl is not None:
            try:
                os.unlink(self.ctl_path)
            except FileNotFoundError:
                pass
        if self.notify is not None:
            self.notify.close()
            os.unlink(self.notify_path)


def stop(proc, deadline=10.0):
    """SIGTERM and wait; returns (exit status, time.monotonic() of the
    exit as seen here)."""
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=deadline)
    return rc, time.monotonic()


def restart(holder, proc, argv, stdout=None, probe=None, deadline=10.0):
    """systemctl restart: SIGTERM the running daemon, wait for its exit,
    start the next one on the same sockets and wait for READY=1.  probe:
    the bytes of a UDP query sent right after the exit; its answer's time
    is the gap a client saw.  Returns (new Popen, timings dict in seconds
    from the SIGTERM)."""
    t0 = time.monotonic()
    rc, t_exit = stop(proc, deadline)
    if rc != 0:
        raise RuntimeError('the old daemon exited with %s' % rc)
    ps = None
    if probe is not None:
        ps = socket.socket(socket.AF_INET6 if ':' in holder.host else socket.AF_INET,
                           socket.SOCK_DGRAM)
        ps.connect((holder.host, holder.port))
        ps.send(probe)
        t_probe = time.monotonic()
    new = holder.spawn(argv, stdout=stdout)
    t_ready = holder.wait_ready(new.pid, deadline, proc=new)
    times = {'exit': t_exit - t0, 'ready': t_ready - t0,
             'no_reader': t_ready - t_exit}
    if ps is not None:
        ps.settimeout(deadline)
        ps.recv(65535)
        times['probe_answered'] = time.monotonic() - t_probe
        ps.close()
    return new, times


def _query_wire(name):
    q = struct.pack('!HHHHHH', 0x5151, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip('.').split('.'):
        q += bytes([len(label)]) + label.encode()
    return q + b'\0' + struct.pack('!HH', 1, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('-l', required=True, help='ADDR:PORT for UDP and TCP')
    ap.add_argument('-c', help='control socket path to hold too')
    ap.add_argument('--restarts', type=int, default=0)
    ap.add_argument('--every', type=float, default=2.0)
    ap.add_argument('--probe', help='a name to ask right after each exit')
    ap.add_argument('argv', nargs=argparse.REMAINDER)
    a = ap.parse_args()
    argv = a.argv[1:] if a.argv[:1] == ['--'] else a.argv
    if not argv:
        ap.error('no daemon command given')
    host, port = _parse_endpoint(a.l)
    rundir = os.path.dirname(os.path.abspath(a.c)) if a.c else os.getcwd()
    h = SocketHolder(host, port, control=a.c, notify_dir=rundir)
    print('holding %s udp+tcp%s; receive buffer %s' % (
        a.l, ' and ' + a.c if a.c else '',
        'forced to %d' % RCVBUF if h.rcvbuf_forced else 'capped by rmem_max'))
    proc = h.spawn(argv)
    h.wait_ready(proc.pid, proc=proc)
    probe = _query_wire(a.probe) if a.probe else None
    try:
        for i in range(a.restarts):
            time.sleep(a.every)
            proc, t = restart(h, proc, argv, probe=probe)
            print('restart %d: old exited %.1f ms after SIGTERM, new ready '
                  '%.1f ms after that%s' % (
                      i + 1, t['exit'] * 1e3, t['no_reader'] * 1e3,
                      ', probe answered %.1f ms after the exit' %
                      (t['probe_answered'] * 1e3) if 'probe_answered' in t else ''))
            sys.stdout.flush()
        if a.restarts == 0:
            proc.wait()
    finally:
        if proc.poll() is None:
            stop(proc)
        h.close()


if __name__ == '__main__':
    main()
