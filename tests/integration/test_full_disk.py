"""A full disk fails the change with an error and keeps the previous state
serving; once there is room again, changes go through, and everything that
was acknowledged is there after a restart.  The store lives on a small
tmpfs that the test fills (root only: CI runs as root)."""

import os
import subprocess

import pytest

import dnsroute_test as dt


@pytest.fixture
def small_disk(workdir):
    d = os.path.join(workdir, 'small')
    os.makedirs(d)
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', d],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip('cannot mount a tmpfs here: %s' % r.stderr.strip())
    yield d
    subprocess.run(['umount', '-l', d], capture_output=True)


def fill(path):
    """Write until the filesystem says it is full; returns the file."""
    filler = os.path.join(path, 'filler')
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 512, 1):
            try:
                while True:
                    os.write(fd, b'\0' * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def route_count(router):
    return len(router.rows('show routes'))


def test_full_disk_fails_the_change_and_keeps_serving(router_factory, small_disk):
    router = router_factory(db=os.path.join(small_disk, 'dnsroute.db'))
    router.ok(r"route add '^a\.example\.$' nxdomain")
    assert dt.rcode_text(router.query('a.example.', 'A')) == 'NXDOMAIN'
    filler = fill(small_disk)
    # SQLite may still find room in pages it owns: keep changing until the
    # disk says no (each route is a few hundred bytes of a 3 MB disk).
    failed = None
    for i in range(5000):
        before = route_count(router)
        r = router.ctl(r"route add '^x%d\.example\.$' refuse" % i)
        if r.rc != 0:
            failed = (i, r, before)
            break
    assert failed is not None, 'no change ever failed on a full disk'
    i, r, before = failed
    assert r.rc == 1, r.describe()
    assert 'full' in (r.stdout + r.stderr).lower(), r.describe()
    # Nothing of the failed change, everything before it, still serving.
    assert route_count(router) == before
    assert dt.rcode_text(router.query('x%d.example.' % i, 'A')) == 'SERVFAIL'
    assert dt.rcode_text(router.query('a.example.', 'A')) == 'NXDOMAIN'
    if i > 0:
        assert dt.rcode_text(router.query('x%d.example.' % (i - 1), 'A')) == 'REFUSED'
    # Room again: the same change goes through.
    os.unlink(filler)
    router.ok(r"route add '^x%d\.example\.$' refuse" % i)
    assert dt.rcode_text(router.query('x%d.example.' % i, 'A')) == 'REFUSED'
    # And all that was acknowledged survives a crash.
    n = route_count(router)
    router.kill9()
    router.start()
    assert route_count(router) == n
    assert dt.rcode_text(router.query('x%d.example.' % i, 'A')) == 'REFUSED'
