"""The test harness itself: a run stopped half way (timeout(1) sends
SIGTERM to run-tests' process group; an operator kills run-tests) leaves
no dnsrouted or NSD behind.  The servers run in sessions of their own, so
nothing but the harness can stop them."""

import os
import signal
import subprocess
import time

import pytest

import dnsroute_test as dt

RUN_TESTS = os.path.join(dt.SRCDIR, 'tests', 'run-tests')
STOP_BOUND = 60     # a hang, not a timing target (ASan, a loaded machine)


@pytest.mark.harness_inner
def test_inner_holds_servers(seed, workdir):
    """Started by the test below: holds a router and NSD until stopped."""
    with open(os.path.join(os.environ['DNSROUTE_HARNESS_READY'], 'ready'), 'w') as f:
        f.write(workdir + '\n')
    time.sleep(STOP_BOUND * 2)


def processes_under(path):
    """PIDs of the processes whose command line names something in path."""
    found = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                argv = f.read().decode('utf-8', 'replace')
        except OSError:
            continue
        if path in argv:
            found.append(int(pid))
    return found


@pytest.mark.parametrize('how', ['group', 'run-tests'])
def test_stopped_run_leaves_no_servers(workdir, how):
    if not dt.have_router() or not dt.have_nsd():
        pytest.skip('needs dnsrouted and nsd')
    inner = os.path.join(workdir, 'i')     # short: socket paths live under it
    os.makedirs(inner)
    env = dict(os.environ, TMPDIR=inner, DNSROUTE_HARNESS_INNER='1',
               DNSROUTE_HARNESS_READY=workdir, DNSROUTE_TEST_FILTER='test_inner_holds_servers',
               DNSROUTE_TEST_OUT=os.path.join(workdir, 'out'))
    with open(os.path.join(workdir, 'run.log'), 'wb') as log:
        p = subprocess.Popen([RUN_TESTS, dt.BUILDDIR], stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        ready = os.path.join(workdir, 'ready')
        dt.wait_for(lambda: os.path.exists(ready) or p.poll() is not None, STOP_BOUND,
                    what='the inner run to start its servers')
        assert p.poll() is None, dt.read_text(os.path.join(workdir, 'run.log'))
        servers = processes_under(inner)
        assert len(servers) >= 2, servers      # dnsrouted and NSD
        if how == 'group':
            os.killpg(p.pid, signal.SIGTERM)    # as timeout(1) does
        else:
            os.kill(p.pid, signal.SIGTERM)
        p.wait(timeout=STOP_BOUND)
        dt.wait_for(lambda: not processes_under(inner), STOP_BOUND,
                    what='the servers of the stopped run to go')
    finally:
        # Whatever the outcome, nothing of the inner run outlives the test.
        for pid in processes_under(inner):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


class StoppedAtStart(dt.Router):
    """A router stopped (SIGSTOP) as soon as it is spawned: a start that
    hangs without using CPU."""

    def wait_ready(self, deadline=dt.START_DEADLINE):
        os.kill(self.proc.pid, signal.SIGSTOP)
        try:
            super().wait_ready(3)
        finally:
            os.kill(self.proc.pid, signal.SIGCONT)


def test_a_start_that_hangs_fails_at_its_deadline(workdir, alloc):
    """The start-up wait goes on while the daemon works (a loaded
    machine), not while it hangs: a stopped one fails at the deadline,
    saying so."""
    r = StoppedAtStart(workdir, *alloc())
    t0 = time.monotonic()
    try:
        with pytest.raises(dt.WaitTimeout, match='made no progress for 3 s'):
            r.start()
        assert time.monotonic() - t0 < dt.START_LIMIT
    finally:
        # Stopped before it took SIGTERM: it dies of it, as it would.
        dt._kill_hard(r.proc)
