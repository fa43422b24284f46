"""The interactive shell, typed into through tmux (send-keys) and read off
the screen (capture-pane): tab completion of a backend name (asked of the
daemon), history kept across shells, `help route`, and Ctrl-C out of a
running trace back to the prompt."""

import os
import re
import shlex
import shutil
import subprocess

import pytest

import dnsroute_test as dt

TMUX = shutil.which('tmux')
pytestmark = pytest.mark.skipif(TMUX is None, reason='tmux not installed')


class Tmux:
    """A private tmux server (its own socket, no configuration file) whose
    sessions each run one dnsroutectl shell; stopped with kill-server."""

    def __init__(self, d):
        self.dir = d
        self.sock = os.path.join(d, 'tmux.sock')
        self.n = 0
        self.cur = None

    def tmux(self, *args):
        return subprocess.run([TMUX, '-f', '/dev/null', '-S', self.sock] + list(args),
                              capture_output=True, text=True, timeout=10)

    def shell(self, router, history):
        """A new session running the shell on router; waits for the prompt."""
        self.n += 1
        self.cur = 's%d' % self.n
        env = {'ASAN_OPTIONS': 'detect_leaks=0',     # libedit's own leak
               'DNSROUTECTL_HISTORY': history, 'HOME': self.dir}
        # Without DNSROUTE_LIBEXECDIR, as README's shell in a build tree
        # is run: dnsroutectl finds dnsroutectl-shell beside itself.
        argv = ['env', '-u', 'DNSROUTE_LIBEXECDIR'] \
            + ['%s=%s' % kv for kv in sorted(env.items())] \
            + [dt.DNSROUTECTL, '-s', router.sock]
        r = self.tmux('new-session', '-d', '-s', self.cur, '-x', '200', '-y', '50',
                      ' '.join(shlex.quote(a) for a in argv))
        assert r.returncode == 0, r.stderr
        self.prompt = 'dnsroute %s>' % router.sock
        self.wait(lambda s: self.last_line(s) == self.prompt, 'the prompt')
        return self

    def type(self, text):
        assert self.tmux('send-keys', '-t', self.cur, '-l', text).returncode == 0

    def keys(self, *keys):
        assert self.tmux('send-keys', '-t', self.cur, *keys).returncode == 0

    def screen(self):
        r = self.tmux('capture-pane', '-p', '-t', self.cur)
        return r.stdout if r.returncode == 0 else ''

    @staticmethod
    def last_line(screen):
        lines = [l.rstrip() for l in screen.splitlines() if l.strip()]
        return lines[-1] if lines else ''

    def alive(self):
        return self.tmux('has-session', '-t', self.cur).returncode == 0

    def wait(self, pred, what, deadline=10):
        try:
            return dt.wait_for(lambda: pred(self.screen()), deadline, what=what)
        except dt.WaitTimeout as e:
            raise AssertionError('%s\n--- screen:\n%s' % (e, self.screen()))

    def wait_line(self, text, what=None):
        """Until the last line of the screen is text."""
        return self.wait(lambda s: self.last_line(s) == text, what or repr(text))

    def close(self):
        self.tmux('kill-server')


@pytest.fixture
def tmux(workdir):
    t = Tmux(workdir)
    yield t
    t.close()


def history_path(r):
    return os.path.join(r.dir, 'history')


def test_shell_completes_a_backend_name(router, tmux, alloc):
    r = router
    r.ok('pool add pool-one')           # backend add no longer makes pools
    r.ok('backend add ns-alpha %s pool pool-one' % dt.endpoint(*alloc()))
    r.ok('backend add web-1 %s pool pool-one' % dt.endpoint(*alloc()))
    t = tmux.shell(r, history_path(r))
    # A command word, then the backend: one Tab each.
    t.type('backend dr')
    t.keys('Tab')
    t.wait_line(t.prompt + ' backend drain', 'completion of "drain"')
    t.type('ns-a')
    t.keys('Tab')
    t.wait_line(t.prompt + ' backend drain ns-alpha', 'completion of the backend name')
    t.keys('Enter')
    t.wait(lambda s: 'backend ns-alpha drained' in s, 'the drain to be done')
    t.wait_line(t.prompt)
    assert r.backends()['ns-alpha']['admin'] == 'drained'
    # Several candidates are listed; the one typed so far stays.
    t.type('backend undrain ')
    t.keys('Tab')
    t.wait(lambda s: any('ns-alpha' in l and 'web-1' in l for l in s.splitlines()),
           'both names listed')
    t.wait_line(t.prompt + ' backend undrain', 'the line kept after the list')
    t.keys('C-u')
    # A name added meanwhile is offered (names are kept two seconds).
    r.ok('pool add zeta-pool')
    t.type('pool del zeta')
    dt.wait_for(lambda: (t.keys('Tab'), t.last_line(t.screen()) ==
                         t.prompt + ' pool del zeta-pool')[1], 6,
                what='the new pool name to complete')


def test_shell_history_survives_a_restart_of_the_shell(router, tmux):
    r = router
    r.ok('pool add hist-pool')
    hist = history_path(r)
    t = tmux.shell(r, hist)
    t.type('show pools')
    t.keys('Enter')
    t.wait(lambda s: 'hist-pool' in s, 'show pools output')
    t.wait_line(t.prompt)
    t.keys('C-d')                       # leave without adding to history
    dt.wait_for(lambda: not t.alive(), 10, what='the shell to leave on Ctrl-D')
    with open(hist) as f:
        # libedit's format: vis(3) octal escapes ("show\\040pools").
        saved = [re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), l)
                 for l in f.read().splitlines()]
    assert 'show pools' in saved, saved

    t = tmux.shell(r, hist)
    assert 'show pools' not in t.screen()
    t.keys('Up')
    t.wait_line(t.prompt + ' show pools', 'history recall after the restart')
    t.keys('Enter')
    t.wait(lambda s: 'hist-pool' in s, 'the recalled command to run')


def test_shell_help_route(router, tmux):
    r = router
    t = tmux.shell(r, history_path(r))
    t.type('help route')
    t.keys('Enter')
    want = ['route add REGEX [qtype TYPE] [opcode query|update] [tsig required|optional]',
            '(pool POOL | refuse | nxdomain | servfail | drop) [at POSITION]',
            'route del ID', 'route move ID POSITION', 'route test QNAME [QTYPE]',
            'add a route: names matching REGEX']
    t.wait(lambda s: all(w in s for w in want), 'help route')
    t.wait_line(t.prompt)
    t.type('help route add')
    t.keys('Enter')
    t.wait(lambda s: "example: route add '^[ab][^.]*\\.example\\.$' pool ab" in s,
           'help route add with its example')
    t.wait_line(t.prompt)


def trace_streams(r):
    """Is `trace` there and does it end by itself when told to?"""
    res = r.ctl('trace seconds 1', timeout=10)
    return res.rc == 0, res


def test_shell_ctrl_c_stops_a_trace(router, tmux):
    r = router
    ok, res = trace_streams(r)
    if not ok:
        pytest.skip('trace is not available yet: %s' % res.describe())
    t = tmux.shell(r, history_path(r))
    t.type('trace')
    t.keys('Enter')

    def traced():
        dt.rcode_text(r.query('traced-%d.example.' % (len(t.screen()) % 1000), timeout=1))
        return 'traced-' in t.screen() and '.example.' in t.screen()
    dt.wait_for(traced, 10, what='a trace line on the screen')
    assert t.last_line(t.screen()) != t.prompt        # still tracing
    t.keys('C-c')
    t.wait_line(t.prompt, 'the prompt after Ctrl-C')
    assert t.alive()
    # The shell goes on, on a fresh connection.
    t.type('help quit')
    t.keys('Enter')
    t.wait(lambda s: 'usage: quit' in s, 'a command after Ctrl-C')
    t.type('show settings')
    t.keys('Enter')
    t.wait(lambda s: 'default-action' in s, 'the daemon answering the shell again')
    t.wait_line(t.prompt)
    # Queries keep being answered with the trace gone.
    assert dt.rcode_text(r.query('after.example.')) == 'SERVFAIL'
