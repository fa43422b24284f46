"""make install, as a package build does it (DESTDIR): what lands where,
that the units name the installed daemon and pass systemd-analyze verify,
and that make uninstall takes it all away again."""

import os
import shutil
import subprocess

import pytest

import dnsroute_test as dt

MAKE = shutil.which('make')
ANALYZE = shutil.which('systemd-analyze')
MAKEFILE = os.path.join(dt.BUILDDIR, 'Makefile')


def own_make_env():
    # A make of our own, not a part of the one running the suite: under
    # `make -j2 check` the jobserver flags would make it print directories.
    return {k: v for k, v in os.environ.items()
            if k not in ('MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES')}


def make(*args):
    return subprocess.run([MAKE, '-s', '--no-print-directory', '-C', dt.BUILDDIR] + list(args),
                          capture_output=True, text=True, timeout=300, env=own_make_env())


def configured(*names):
    """The values the build's Makefile gives these variables."""
    rule = 'print-dirs:\n\t@printf "%%s\\n" %s\n' % ' '.join('"$(%s)"' % n for n in names)
    p = subprocess.run([MAKE, '-s', '--no-print-directory', '-C', dt.BUILDDIR, '-f', 'Makefile',
                        '-f', '-', 'print-dirs'], input=rule, capture_output=True, text=True,
                       timeout=60, env=own_make_env())
    assert p.returncode == 0, p
    return dict(zip(names, p.stdout.split('\n')))


def files_under(root):
    out = set()
    for d, _, fs in os.walk(root):
        for f in fs:
            out.add(os.path.relpath(os.path.join(d, f), root))
    return out


@pytest.mark.skipif(MAKE is None or not os.path.exists(MAKEFILE),
                    reason='needs make and a configured build tree')
def test_make_install_destdir(workdir):
    v = configured('sbindir', 'bindir', 'pkglibexecdir', 'mandir', 'datadir',
                   'systemdsystemunitdir')
    dest = os.path.join(workdir, 'dest')
    p = make('install', 'DESTDIR=' + dest)
    assert p.returncode == 0, p
    want = {v['sbindir'] + '/dnsrouted', v['bindir'] + '/dnsroutectl',
            v['pkglibexecdir'] + '/dnsroutectl-shell', v['pkglibexecdir'] + '/dnsroutectl-zone',
            v['mandir'] + '/man8/dnsrouted.8', v['mandir'] + '/man8/dnsroutectl.8',
            v['datadir'] + '/dnsroute/sql/schema.sql'}
    units = v['systemdsystemunitdir']
    if units != 'no':
        want |= {units + '/dnsrouted.service', units + '/dnsrouted.socket'}
    assert files_under(dest) == {w.lstrip('/') for w in want}

    def at(path):
        return dest + path
    for prog in ('sbindir', 'bindir'):
        assert os.access(at(v[prog] + ('/dnsrouted' if prog == 'sbindir' else '/dnsroutectl')),
                         os.X_OK)
    r = subprocess.run([at(v['sbindir'] + '/dnsrouted'), '-V'], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith('dnsrouted ')
    # dnsroutectl's helpers (it looks for them there).
    for helper in ('dnsroutectl-shell', 'dnsroutectl-zone'):
        assert os.access(at(v['pkglibexecdir'] + '/' + helper), os.X_OK)
    for page in ('daemon/dnsrouted.8', 'ctl/dnsroutectl.8'):
        with open(os.path.join(dt.SRCDIR, page), 'rb') as a, \
                open(at(v['mandir'] + '/man8/' + os.path.basename(page)), 'rb') as b:
            assert a.read() == b.read()

    if units != 'no':
        with open(at(units + '/dnsrouted.service')) as f:
            service = f.read()
        assert 'ExecStart=%s/dnsrouted ' % v['sbindir'] in service
        assert '@' not in service.replace('$MAINPID', '')
        if ANALYZE is not None:
            # Verified as installed, but for ExecStart, which must name
            # a program that exists: the copy under DESTDIR.
            check = os.path.join(workdir, 'units')
            os.makedirs(check)
            with open(os.path.join(check, 'dnsrouted.service'), 'w') as f:
                f.write(service.replace('ExecStart=' + v['sbindir'],
                                        'ExecStart=' + at(v['sbindir'])))
            shutil.copy(at(units + '/dnsrouted.socket'), check)
            r = subprocess.run([ANALYZE, 'verify', '--man=no',
                                os.path.join(check, 'dnsrouted.socket'),
                                os.path.join(check, 'dnsrouted.service')],
                               capture_output=True, text=True, timeout=120, cwd=check)
            assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r

    p = make('uninstall', 'DESTDIR=' + dest)
    assert p.returncode == 0, p
    assert files_under(dest) == set()
