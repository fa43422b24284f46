"""A signed zone split by the routes into three slices, an NSD per slice
behind the router: denials (NXDOMAIN, NODATA) and wildcard answers for
names routed to each slice validate with delv from the zone's own key,
for NSEC and NSEC3."""

import os

import pytest

import zone_helpers as zh

pytestmark = pytest.mark.skipif(not (zh.LDNS_SIGNZONE and zh.LDNS_KEYGEN and zh.DELV),
                                reason='needs ldns-signzone, ldns-keygen and delv')

# Names by the slice they are routed to (first character: a-h p1, i-q p2,
# r-z and * p3).  b. is in p1 and y.b. below it in p3; k. is an empty
# non-terminal routed to p2 with its only name below (z.k.) in p3; the
# wildcard *.w. (p3) answers for names below w. routed anywhere; sub. is a
# delegation without DS.
ZONE = '''$ORIGIN example.
$TTL 300
@ IN SOA ns1 hostmaster 1 3600 600 86400 300
@ IN NS ns1
@ IN MX 10 mail
ns1 IN A 127.0.0.1
mail IN A 10.0.0.9
a1 IN A 10.0.0.1
a1 IN TXT "a1"
j1 IN A 10.0.0.2
s1 IN A 10.0.0.3
b IN A 10.0.0.4
y.b IN A 10.0.0.5
z.k IN A 10.0.0.6
*.w IN TXT "wild"
sub IN NS ns.sub
ns.sub IN A 10.1.1.1
'''

# (name, type, what the answer must be) by slice.
CASES = {
    'p1': [('a1.example.', 'TXT', 'answer'), ('a1.example.', 'MX', 'nodata'),
           ('a-nx.example.', 'A', 'nxdomain'), ('b.example.', 'TXT', 'nodata'),
           ('c.y.b.example.', 'A', 'nxdomain'), ('foo.w.example.', 'TXT', 'answer'),
           ('example.', 'TXT', 'nodata')],
    'p2': [('j1.example.', 'A', 'answer'), ('j1.example.', 'TXT', 'nodata'),
           ('i-nx.example.', 'A', 'nxdomain'), ('k.example.', 'A', 'nodata'),
           ('j.a1.example.', 'A', 'nxdomain'), ('iz.w.example.', 'TXT', 'answer'),
           ('m.b.example.', 'A', 'nxdomain')],
    'p3': [('s1.example.', 'A', 'answer'), ('s1.example.', 'MX', 'nodata'),
           ('r-nx.example.', 'A', 'nxdomain'), ('y.b.example.', 'TXT', 'nodata'),
           ('x.a1.example.', 'A', 'nxdomain'), ('z.b.example.', 'A', 'nxdomain'),
           ('rz.w.example.', 'TXT', 'answer'), ('sub.example.', 'DS', 'nodata'),
           ('z.k.example.', 'A', 'answer'), ('x.z.k.example.', 'A', 'nxdomain')],
}


# Routes on the label below the zone, whatever is left of it: a name the
# zone does not hold goes where its closest existing ancestor goes, which
# is what `assume subtree` assumes.
SUBTREE_ROUTES = [
    r"route add '^example\.$' pool p1",
    r"route add '(^|\.)[a-h][^.]*\.example\.$' pool p1",
    r"route add '(^|\.)[i-q][^.]*\.example\.$' pool p2",
    r"route add '(^|\.)[r-z][^.]*\.example\.$' pool p3",
]

SUBTREE_CASES = {
    'p1': [('a1.example.', 'TXT', 'answer'), ('a1.example.', 'MX', 'nodata'),
           ('a-nx.example.', 'A', 'nxdomain'), ('x.a1.example.', 'A', 'nxdomain'),
           ('b.example.', 'TXT', 'nodata'), ('c.y.b.example.', 'A', 'nxdomain'),
           ('y.b.example.', 'A', 'answer')],
    'p2': [('j1.example.', 'A', 'answer'), ('j1.example.', 'TXT', 'nodata'),
           ('i-nx.example.', 'A', 'nxdomain'), ('k.example.', 'A', 'nodata'),
           ('x.z.k.example.', 'A', 'nxdomain'), ('z.k.example.', 'A', 'answer')],
    'p3': [('s1.example.', 'A', 'answer'), ('s1.example.', 'MX', 'nodata'),
           ('r-nx.example.', 'A', 'nxdomain'), ('x.s1.example.', 'A', 'nxdomain'),
           ('foo.w.example.', 'TXT', 'answer'), ('sub.example.', 'DS', 'nodata')],
}


def run_case(router_factory, nsd_factory, workdir, nsec3, extra='',
             routes=zh.ROUTES, cases=CASES, broken=()):
    r = router_factory()
    zone = os.path.join(workdir, 'example.zone')
    with open(zone, 'w') as f:
        f.write(ZONE)
    signed, anchors = zh.sign(workdir, zone, nsec3)
    zh.configure(r, routes)
    slices, doc = zh.split(r, signed, os.path.join(workdir, 'slices'), extra)
    assert sorted(slices) == list(zh.POOLS), doc
    zh.serve(r, nsd_factory, slices)
    delv = zh.Delv(r, anchors)
    for pool, cs in sorted(cases.items()):
        for name, rdtype, kind in cs:
            assert r.route_test(name)['pool'] == pool, (name, pool)
            delv.validates(name, rdtype, kind)
    for name, rdtype in broken:
        out = delv.ask(name, rdtype)
        assert 'resolution failed' in out and 'fully validated' not in out, out
    res = zh.ctl(r, 'zone check %s query' % signed)
    assert res.rc == 0, res.describe()
    with open(signed) as f:
        total = sum(1 for l in f if l.strip() and not l.startswith(';'))
    return {p: int(row['records']) for p, row in
            ((row['pool'], row) for row in doc['rows'])}, total


def test_nsec_slices_validate(router_factory, nsd_factory, workdir):
    run_case(router_factory, nsd_factory, workdir, nsec3=False)


def test_nsec3_slices_validate(router_factory, nsd_factory, workdir):
    records, total = run_case(router_factory, nsd_factory, workdir, nsec3=True)
    # Every name exists in every slice: here, with one RRset a name but
    # for the apex and a1, nearly the whole zone in each.
    assert all(n >= total - 4 for n in records.values()), (records, total)


def test_nsec3_subtree_slices_validate(router_factory, nsd_factory, workdir):
    records, total = run_case(router_factory, nsd_factory, workdir, nsec3=True,
                              extra='assume subtree', routes=SUBTREE_ROUTES,
                              cases=SUBTREE_CASES)
    assert all(n < total for n in records.values()), (records, total)


def test_nsec_subtree_slices_validate(router_factory, nsd_factory, workdir):
    run_case(router_factory, nsd_factory, workdir, nsec3=False,
             extra='assume subtree', routes=SUBTREE_ROUTES, cases=SUBTREE_CASES)


def test_nsec3_subtree_without_subtree_routes_fails(router_factory, nsd_factory,
                                                   workdir):
    """assume subtree with routes on the first label is wrong, and shows:
    x.a1. goes to p3 (x), whose slice then lacks a1., so its denial does
    not validate (without the assumption it does, above)."""
    run_case(router_factory, nsd_factory, workdir, nsec3=True,
             extra='assume subtree', cases={},
             broken=[('x.a1.example.', 'A'), ('c.y.b.example.', 'A')])
