"""held: dnsrouted started on sockets held outside it, as under systemd's
socket unit (tests/lib/sockhold.py binds them and passes them with
LISTEN_FDS), so that it can be stopped and restarted while the kernel
queues what arrives for the next one."""

import os
import struct
import sys

import dnsroute_test as dt

sys.path.insert(0, os.path.join(dt.SRCDIR, 'tests', 'lib'))

import sockhold  # noqa: E402


class HeldRouter(dt.Router):
    """A Router whose DNS sockets (and, with control=True, its control
    socket) are held by a SocketHolder and passed at every start; ready
    is READY=1 on NOTIFY_SOCKET, as systemd's Type=notify has it.

    listen_arg: also name the address with -l (the daemon must take the
    passed socket for it, not bind another)."""

    def __init__(self, workdir, host, port, extra_args=(), control=True,
                 listen_arg=True, holder_args=None):
        super().__init__(workdir, host, port, extra_args)
        self.control = control
        self.listen_arg = listen_arg
        self.holder = sockhold.SocketHolder(
            host, port, control=self.sock if control else None,
            notify_dir=workdir, **(holder_args or {}))
        self.timings = []

    def argv(self):
        a = [dt.DNSROUTED, '-f', '-d', self.db]
        if self.listen_arg:
            a += ['-l', self.endpoint]
        if not self.control:
            a += ['-s', self.sock]
        return a + self.extra_args

    def _log(self):
        return open(self.log, 'ab')

    def start(self):
        assert not self.running(), 'dnsrouted already running'
        self.starts += 1
        with open(self.log, 'a') as f:
            f.write('=== test harness: start %d (held sockets): %s\n'
                    % (self.starts, ' '.join(self.argv())))
        with self._log() as log:
            self.proc = self.holder.spawn(self.argv(), stdout=log)
        dt._live[self.proc.pid] = self.proc
        self.holder.wait_ready(self.proc.pid, dt.START_DEADLINE, proc=self.proc)
        return self

    def restart_graceful(self, probe=None):
        """systemctl restart: SIGTERM, wait for the exit, start the next
        one on the same sockets.  Returns the timings (see sockhold)."""
        old = self.proc
        self.starts += 1
        with self._log() as log:
            log.write(('=== test harness: restart %d\n' % self.starts).encode())
            log.flush()
            new, t = sockhold.restart(self.holder, old, self.argv(), stdout=log,
                                      probe=probe, deadline=dt.START_DEADLINE)
        dt._live.pop(old.pid, None)
        dt._live[new.pid] = new
        self.proc = new
        self.timings.append(t)
        return t

    def close(self):
        self.holder.close()


def query_wire(name, rdtype=1, qid=0x4242):
    """A query's bytes, built by hand (fast enough for a load loop)."""
    q = struct.pack('!HHHHHH', qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip('.').split('.'):
        q += bytes([len(label)]) + label.encode()
    return q + b'\0' + struct.pack('!HH', rdtype, 1)
