"""What the zone split/check tests share: three pools and their routes,
splitting a zone with dnsroutectl, an NSD per slice behind the router,
signing with ldns-signzone and validating with delv."""

import json
import os
import re
import shutil
import subprocess

import dnsroute_test as dt

POOLS = ('p1', 'p2', 'p3')

# The first label's first character picks the pool; the apex goes to p1.
ROUTES = [
    r"route add '^example\.$' pool p1",
    r"route add '^[a-h][^.]*\.' pool p1",
    r"route add '^[i-q][^.]*\.' pool p2",
    r"route add '^([r-z]|\*)[^.]*\.' pool p3",
]

LDNS_SIGNZONE = shutil.which('ldns-signzone')
LDNS_KEYGEN = shutil.which('ldns-keygen')
DELV = shutil.which('delv')


def configure(router, routes=ROUTES):
    for p in POOLS:
        router.ok('pool add %s' % p)
    for r in routes:
        router.ok(r)


def ctl(router, cmd, json_out=False, args=(), timeout=120):
    return router.ctl(cmd, json=json_out, args=args, timeout=timeout)


def split(router, zonefile, outdir, extra=''):
    """zone split; returns {pool: slice text} and the --json document."""
    r = ctl(router, 'zone split %s %s %s' % (zonefile, outdir, extra), json_out=True)
    doc = json.loads(r.stdout)
    assert r.rc == 0 and doc['ok'], r.describe()
    slices = {}
    for row in doc['rows']:
        if row.get('file'):
            with open(row['file']) as f:
                slices[row['pool']] = f.read()
    return slices, doc


def serve(router, nsd_factory, slices, origin='example.'):
    """An NSD per slice, added to its pool; waits until all are up."""
    servers = {}
    for pool, text in sorted(slices.items()):
        n = nsd_factory('ns-' + pool, {origin: text})
        router.ok('backend add ns-%s %s pool %s %s'
                  % (pool, n.endpoint, pool, dt.BACKEND_FAST))
        servers[pool] = n
    for pool in slices:
        router.wait_health('ns-' + pool, 'up')
    return servers


def sign(workdir, zonefile, nsec3):
    """Sign zonefile with fresh keys; returns (signed file, trust anchor file
    for delv)."""
    d = os.path.join(workdir, 'keys')
    os.makedirs(d, exist_ok=True)

    def keygen(*extra):
        p = subprocess.run([LDNS_KEYGEN, '-a', 'ECDSAP256SHA256'] + list(extra)
                           + ['example.'], cwd=d, capture_output=True, text=True, check=True)
        return os.path.join(d, p.stdout.strip())
    ksk = keygen('-k')
    zsk = keygen()
    argv = [LDNS_SIGNZONE]
    if nsec3:
        argv += ['-n', '-s', 'c0ffee', '-t', '1']
    argv += ['-f', zonefile + '.signed', zonefile, ksk, zsk]
    subprocess.run(argv, check=True, capture_output=True, text=True)
    with open(ksk + '.key') as f:
        key = f.read().split(';')[0].split()
    # example. IN DNSKEY 257 3 13 BASE64
    flags, proto, alg, b64 = key[3], key[4], key[5], ''.join(key[6:])
    anchors = os.path.join(d, 'anchors.conf')
    with open(anchors, 'w') as f:
        f.write('trust-anchors {\n  example. static-key %s %s %s "%s";\n};\n'
                % (flags, proto, alg, b64))
    return zonefile + '.signed', anchors


class Delv:
    """delv through the router, validating from the zone's own key."""

    def __init__(self, router, anchors):
        self.router, self.anchors = router, anchors

    def ask(self, name, rdtype):
        argv = [DELV, '@' + self.router.host, '-p', str(self.router.port),
                '-a', self.anchors, '+root=example.', name, rdtype]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return p.stdout + p.stderr

    def validates(self, name, rdtype, kind):
        """kind: 'answer', 'nxdomain' or 'nodata'.  Returns the output."""
        out = self.ask(name, rdtype)
        if kind == 'answer':
            ok = '; fully validated' in out and re.search(
                r'^%s\s+\d+\s+IN\s+%s\s' % (re.escape(name), rdtype), out, re.M)
        elif kind == 'nxdomain':
            ok = 'negative response, fully validated' in out and 'NXDOMAIN' in out.upper()
        else:
            ok = 'negative response, fully validated' in out and 'NXRRSET' in out.upper()
        assert ok, '%s %s: expected a validated %s through the router:\n%s' % (
            name, rdtype, kind, out)
        return out
