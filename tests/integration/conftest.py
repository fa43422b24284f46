"""Fixtures for the integration tests: per-test directories and loopback
addresses, NSD, the misbehaving responder and dnsrouted, all started here and
stopped by PID at the end of the test.  When a test fails, the logs of what
it started are attached to the report.

Environment: DNSROUTE_BUILDDIR (where daemon/dnsrouted, ctl/dnsroutectl and
tests/responder/misbehave are), DNSROUTE_SRCDIR, DNSROUTE_KEEP=1 to keep the
scratch directory even when everything passed, DNSROUTE_TEST_TIMEOUT
(seconds per test, default 90).
"""

import os
import shutil
import signal
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dnsroute_test as dt  # noqa: E402

needs_router = pytest.mark.skipif(not dt.have_router(),
                                  reason='dnsrouted/dnsroutectl not built in %s' % dt.BUILDDIR)
needs_nsd = pytest.mark.skipif(not dt.have_nsd(), reason='nsd not installed')


def pytest_configure(config):
    config.addinivalue_line('markers', 'router: needs dnsrouted and dnsroutectl')
    config.addinivalue_line('markers', 'nsd: needs NSD')
    config.addinivalue_line('markers', 'harness_inner: only in the run test_harness starts')
    config.addinivalue_line('markers', 'time_limit(seconds): a longer hang guard than '
                            'DNSROUTE_TEST_TIMEOUT, for a test with heavy set-up')


def pytest_collection_modifyitems(config, items):
    """test_harness's inner test runs only in the run it starts: elsewhere
    it is deselected, not skipped, so that a skip always means something
    is missing."""
    if os.environ.get('DNSROUTE_HARNESS_INNER') == '1':
        return
    inner = [i for i in items if i.get_closest_marker('harness_inner')]
    if inner:
        config.hook.pytest_deselected(items=inner)
        items[:] = [i for i in items if not i.get_closest_marker('harness_inner')]


class _Session:
    root = None
    failed = False
    counter = 0


_S = _Session()


def _session_root():
    if _S.root is None:
        # Short: the control socket path must fit in sun_path.
        _S.root = tempfile.mkdtemp(prefix='dnsroute-it-')
    return _S.root


def pytest_sessionfinish(session, exitstatus):
    dt._kill_leftovers()
    if _S.root is None:
        return
    if _S.failed or exitstatus not in (0, 5) or os.environ.get('DNSROUTE_KEEP'):
        sys.stderr.write('\nintegration scratch kept in %s\n' % _S.root)
    else:
        shutil.rmtree(_S.root, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, 'rep_' + rep.when, rep)
    if rep.failed:
        _S.failed = True
    # A teardown failure of the router already carries its log.
    if rep.failed and rep.when != 'teardown':
        for title, path in getattr(item, '_dnsroute_logs', []):
            text = dt.read_text(path, tail=150)
            if text:
                rep.sections.append((title, text))


def _attach_log(request, title, path):
    logs = getattr(request.node, '_dnsroute_logs', None)
    if logs is None:
        logs = []
        request.node._dnsroute_logs = logs
    logs.append((title, path))


class _Alarm(Exception):
    pass


@pytest.fixture(autouse=True)
def _per_test_timeout(request):
    """No single test may hang the suite.  A test marked time_limit(S)
    gets S seconds when that is longer: a hang guard for tests whose own
    work (100,000 names split and checked, two 10,000-route batches
    applied by a fleet) outgrew 90 s at load 12 to 23, not a timing
    target."""
    limit = int(os.environ.get('DNSROUTE_TEST_TIMEOUT', '90'))
    marker = request.node.get_closest_marker('time_limit')
    if marker is not None:
        limit = max(limit, int(marker.args[0]))

    def on_alarm(signum, frame):
        raise _Alarm('test exceeded %d s (DNSROUTE_TEST_TIMEOUT)' % limit)
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(limit)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope='session')
def allocator():
    return dt.AddrAllocator()


@pytest.fixture
def alloc(allocator):
    """alloc() -> (host, port): a fresh 127.0.0.x address and free port."""
    return allocator.alloc


@pytest.fixture
def workdir(request):
    """A fresh, short directory for this test (kept after a failed run)."""
    _S.counter += 1
    d = os.path.join(_session_root(), 't%03d' % _S.counter)
    os.makedirs(d)
    with open(os.path.join(d, 'TEST'), 'w') as f:
        f.write(request.node.nodeid + '\n')
    return d


def _stop_all(started):
    """Stop each of started (and close what outlives it, where there is
    such); when some did not stop cleanly, fail the test once all are
    stopped, with every reason."""
    errors = []
    for x in started:
        try:
            x.stop()
        except AssertionError as e:
            errors.append(str(e))
        finally:
            if hasattr(x, 'close'):
                x.close()
    if errors:
        pytest.fail('\n'.join(errors), pytrace=False)


def _zone_servers(request, workdir, alloc, cls, host=None):
    """What nsd_factory and named_factory yield: start(name, zones, *args,
    **kw) -> a running cls(workdir, name, host, port, zones, *args, **kw)
    on a fresh address (on host when given), stopped at the end."""
    started = []

    def start(name, zones, *args, **kw):
        h, port = alloc(host)
        srv = cls(workdir, name, h, port, zones, *args, **kw)
        _attach_log(request, '%s %s log' % (cls.KIND, name), srv.log)
        started.append(srv)
        return srv.start()
    yield start
    _stop_all(started)


@pytest.fixture
def nsd_factory(request, workdir, alloc):
    """start_nsd(name, zones={origin: text}, identity=name,
    provide_xfr=False) -> running Nsd."""
    if not dt.have_nsd():
        pytest.skip('nsd not installed')
    yield from _zone_servers(request, workdir, alloc, dt.Nsd)


@pytest.fixture
def named_factory(request, workdir, alloc):
    """start_named(name, zones={origin: text}, keys={name: (algorithm,
    secret)}) -> a running dt.Named taking UPDATEs signed with keys."""
    if not dt.have_named():
        pytest.skip('named (bind9) not installed')
    yield from _zone_servers(request, workdir, alloc, dt.Named, host='127.0.0.1')


@pytest.fixture
def etcd_factory(request, workdir, alloc):
    """start_etcd(members=1) -> a running dt.Etcd on loopback, each member
    with its data in the test's directory; stopped by PID at the end."""
    if not dt.have_etcd():
        pytest.skip('etcd (etcd-server, etcd-client) not installed')
    started = []

    def start_etcd(members=1):
        e = dt.Etcd(workdir, alloc, members)
        for m in e.members:
            _attach_log(request, 'etcd %s log' % m.name, m.log)
        started.append(e)
        return e.start()
    yield start_etcd
    for e in started:
        e.stop()


@pytest.fixture
def misbehave_factory(request, workdir, alloc):
    """start_misbehave(mode, delay_ms=None, all_classes=False, record=False,
    proxy=False) -> Misbehave."""
    binary = dt.misbehave_binary(_session_root())
    if binary is None:
        pytest.skip('misbehave responder neither built nor buildable')
    started = []

    def start_misbehave(mode, delay_ms=None, all_classes=False, record=False,
                        proxy=False):
        host, port = alloc()
        m = dt.Misbehave(binary, workdir, host, port, mode, delay_ms, all_classes,
                         record, proxy)
        _attach_log(request, 'misbehave %s log' % mode, m.log)
        started.append(m)
        return m.start()
    yield start_misbehave
    _stop_all(started)


def _routers(request, workdir, alloc, prefix, make):
    """What router_factory and held_factory yield: start(extra_args=(),
    start=True, endpoint=None, **options of make) -> a router made by
    make(dir, host, port, extra_args, **options) in its own subdirectory.
    At teardown each must exit 0 on SIGTERM with no sanitizer reports."""
    if not dt.have_router():
        pytest.skip('dnsrouted/dnsroutectl not built in %s' % dt.BUILDDIR)
    started = []

    def start_router(extra_args=(), start=True, endpoint=None, **kw):
        host, port = endpoint or alloc()
        d = os.path.join(workdir, '%s%d' % (prefix, len(started)))
        os.makedirs(d)
        r = make(d, host, port, extra_args, **kw)
        _attach_log(request, 'dnsrouted log (%s)' % d, r.log)
        started.append(r)
        return r.start() if start else r
    yield start_router
    _stop_all(started)


@pytest.fixture
def router_factory(request, workdir, alloc):
    """start_router(extra_args=(), db=None, start=True) -> running Router
    (own subdirectory; db: another router's database)."""
    yield from _routers(request, workdir, alloc, 'r', dt.Router)


@pytest.fixture
def held_factory(request, workdir, alloc):
    """start_held(extra_args=(), start=True, endpoint=None, **HeldRouter
    options) -> HeldRouter: dnsrouted on sockets held by the test and
    passed with LISTEN_FDS (as systemd's socket unit does), so it can be
    stopped and restarted under load; the sockets are closed at the end."""
    import held
    yield from _routers(request, workdir, alloc, 'h', held.HeldRouter)


@pytest.fixture
def router(router_factory):
    return router_factory()


@pytest.fixture
def seed(router_factory, nsd_factory):
    """The seed article's setup, configured and with both backends up."""
    r = router_factory()
    ns_ab = nsd_factory('ns-ab', {'example.': dt.example_zone('ab', 'ns-ab')})
    ns_cd = nsd_factory('ns-cd', {'example.': dt.example_zone('cd', 'ns-cd')})
    return dt.Seed(r, ns_ab, ns_cd).configure()
