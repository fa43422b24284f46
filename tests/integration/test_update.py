"""DNS UPDATE through the router (the ddns-mux seed): TSIG-signed updates
fanned out to two real BIND 9 primaries, each with its own key, re-signed
per primary; the client's answer verified by nsupdate and dnspython; the
confirmation rule with a primary stopped; the TSIG errors of RFC 8945 with
neither zone changed; unsigned updates; TCP; a target that truncates;
the keys in the store (never shown, never exported unless asked, the
store file 0600)."""

import os
import socket
import stat
import subprocess
import time
from unittest import mock

import dns.message
import dns.name
import dns.rcode
import dns.tsig
import dns.update
import pytest

import dnsroute_test as dt

# The client's key (nsupdate and dnspython sign with it) and one key per
# primary: the router's towards that server, which the client never sees.
CLIENT = ('ddns-client.', 'hmac-sha256', 'Y2xpZW50LXNlY3JldC1vZi1hdC1sZWFzdC0zMi1vY3RldHM=')
NS1 = ('router-ns1.', 'hmac-sha256', 'bnMxLXNlY3JldC1vZi1hdC1sZWFzdC0zMi1vY3RldHMhIQ==')
# hmac-sha384, which ldns cannot compute: the router does.
NS2 = ('router-ns2.', 'hmac-sha384', 'bnMyLXNlY3JldC10aGF0LWlzLWxvbmdlci1mb3Itc2hhMzg0LW9rYXk=')

ZONE = 'example.'
BACKEND_FAST = dt.BACKEND_FAST


def zone_text(apex_txt):
    return dt.example_zone('ab', apex_txt, 3)


def keyring(key):
    name, alg, secret = key
    return {dns.name.from_text(name): dns.tsig.Key(name, secret, alg)}


def nsupdate(router, commands, key=CLIENT, tcp=False, timeout=10):
    """nsupdate through the router; returns (rc, stdout + stderr)."""
    argv = ['nsupdate'] + (['-v'] if tcp else []) + ['-t', '5']
    if key is not None:
        argv += ['-y', '%s:%s:%s' % (key[1], key[0], key[2])]
    text = 'server %s %d\nzone %s\n%s\nsend\n' % (router.host, router.port, ZONE,
                                                  '\n'.join(commands))
    p = subprocess.run(argv, input=text, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def update_msg(adds, key=CLIENT):
    u = dns.update.UpdateMessage(ZONE)
    if key is not None:
        u.use_tsig(keyring(key), dns.name.from_text(key[0]))
    for name, rdtype, value in adds:
        u.add(name, 300, rdtype, value)
    return u


def send_update(router, u, tcp=False, when=None):
    """Send u (signed at when, if given) and parse the answer with its key,
    so dnspython checks the TSIG: returns the answer, or raises what
    dnspython says (dns.tsig.PeerBadKey, PeerBadSignature, PeerBadTime)."""
    if when is not None:
        with mock.patch('time.time', return_value=when):
            wire = u.to_wire()
    else:
        wire = u.to_wire()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
    s.settimeout(10)
    try:
        s.connect((router.host, router.port))
        if tcp:
            s.sendall(len(wire).to_bytes(2, 'big') + wire)
            n = int.from_bytes(dt.recv_exact(s, 2), 'big')
            data = dt.recv_exact(s, n)
        else:
            s.send(wire)
            data = s.recv(65535)
    finally:
        s.close()
    if u.keyring:
        return dns.message.from_wire(data, keyring=u.keyring, request_mac=u.mac)
    return dns.message.from_wire(data)


def setup_keys(router, *keys):
    for name, alg, secret in keys:
        router.ok('key add %s %s %s' % (name, alg, secret))


@pytest.fixture
def primaries(router, named_factory):
    """Two BIND primaries of example., each taking updates signed with its
    own key, behind a fanout pool and an UPDATE route for example."""
    ns1 = named_factory('ns1', {ZONE: zone_text('ns1')}, {NS1[0]: NS1[1:]})
    ns2 = named_factory('ns2', {ZONE: zone_text('ns2')}, {NS2[0]: NS2[1:]})
    setup_keys(router, CLIENT, NS1, NS2)
    router.ok('pool add up policy fanout')
    router.ok('backend add ns1 %s pool up key %s %s' % (ns1.endpoint, NS1[0], BACKEND_FAST))
    router.ok('backend add ns2 %s pool up key %s %s' % (ns2.endpoint, NS2[0], BACKEND_FAST))
    router.ok(r"route add '^example\.$' opcode update pool up")
    router.wait_health('ns1', 'up')
    router.wait_health('ns2', 'up')
    return ns1, ns2


def test_nsupdate_reaches_both_primaries(router, primaries):
    ns1, ns2 = primaries
    s1, s2 = ns1.serial(ZONE), ns2.serial(ZONE)
    rc, out = nsupdate(router, ['update add new1.example. 300 A 192.0.2.11'])
    # nsupdate checks the answer's TSIG with the client's key: a bad one
    # would make it fail.
    assert rc == 0, out
    for ns, s in ((ns1, s1), (ns2, s2)):
        assert ns.lookup('new1.example.') == ['192.0.2.11'], ns.name
        assert ns.serial(ZONE) == s + 1, ns.name
    # Each primary saw its own key.
    assert 'key %s' % NS1[0].rstrip('.') in dt.read_text(ns1.log)
    assert 'key %s' % NS2[0].rstrip('.') in dt.read_text(ns2.log)
    # Over TCP too, and a delete.
    rc, out = nsupdate(router, ['update delete new1.example. A',
                                'update add new2.example. 300 TXT "tcp"'], tcp=True)
    assert rc == 0, out
    for ns in (ns1, ns2):
        assert ns.lookup('new1.example.') == []
        assert ns.lookup('new2.example.', 'TXT') == ['"tcp"']
    st = router.stats()
    assert st['updates'] == 2 and st['update-copies'] == 4, st
    assert st['update-failed'] == 0 and st['update-tsig-errors'] == 0, st


def test_dnspython_verifies_the_answer(router, primaries):
    for tcp in (False, True):
        a = send_update(router, update_msg([('dp%d' % tcp, 'A', '192.0.2.33')]), tcp=tcp)
        assert a.rcode() == dns.rcode.NOERROR and a.had_tsig, a
    for ns in primaries:
        assert ns.lookup('dp1.example.') == ['192.0.2.33']


def test_confirm_all_and_any_with_a_primary_stopped(router, primaries):
    ns1, ns2 = primaries
    ns2.stop()
    s1 = ns1.serial(ZONE)
    rc, out = nsupdate(router, ['update add all1.example. 300 A 192.0.2.21'])
    assert rc != 0 and 'SERVFAIL' in out, out
    # The primary that answered has it: the client is told it did not
    # reach every one.
    assert ns1.lookup('all1.example.') == ['192.0.2.21']
    assert ns1.serial(ZONE) == s1 + 1
    router.ok('pool set up confirm any')
    rc, out = nsupdate(router, ['update add any1.example. 300 A 192.0.2.22'])
    assert rc == 0, out
    assert ns1.lookup('any1.example.') == ['192.0.2.22']
    st = router.stats()
    assert st['update-failed'] == 1, st
    # The trace names the target that failed and why.
    recent = router.rows('show recent')
    failed = [r for r in recent if r['outcome'].startswith('update-target:')
              and r['backend'] == 'ns2']
    assert failed and all(r['outcome'] in ('update-target:refused', 'update-target:timeout')
                          for r in failed), recent
    assert any(r['outcome'] == 'update:1/2-confirmed' and r['rcode'] == 'SERVFAIL'
               for r in recent), recent
    assert 'ns2' in dt.read_text(router.log)


def test_tsig_errors_change_nothing(router, primaries):
    ns1, ns2 = primaries
    serials = [ns.serial(ZONE) for ns in primaries]
    # A key the router does not know.
    with pytest.raises(dns.tsig.PeerBadKey):
        send_update(router, update_msg([('bad1', 'A', '192.0.2.1')],
                                       key=('nosuch.',) + CLIENT[1:]))
    # The right name, another secret.
    with pytest.raises(dns.tsig.PeerBadSignature):
        send_update(router, update_msg([('bad2', 'A', '192.0.2.2')],
                                       key=CLIENT[:2] + ('b3RoZXItc2VjcmV0LW9mLTMyLW9jdGV0cy4uLi4uLi4=',)))
    # Signed an hour ago: signed BADTIME, with the client's time.
    with pytest.raises(dns.tsig.PeerBadTime):
        send_update(router, update_msg([('bad3', 'A', '192.0.2.3')]),
                    when=time.time() - 3600)
    # A primary's key is the router's, not a client's.
    with pytest.raises(dns.tsig.PeerBadKey):
        send_update(router, update_msg([('bad4', 'A', '192.0.2.4')], key=NS1))
    for tcp in (False, True):
        with pytest.raises(dns.tsig.PeerBadSignature):
            send_update(router, update_msg([('bad5', 'A', '192.0.2.5')],
                                           key=CLIENT[:2] + (NS1[2],)), tcp=tcp)
    assert [ns.serial(ZONE) for ns in primaries] == serials
    for ns in primaries:
        for n in ('bad1', 'bad2', 'bad3', 'bad4', 'bad5'):
            assert ns.lookup(n + '.example.') == []
    st = router.stats()
    assert st['update-tsig-errors'] == 6 and st['update-copies'] == 0, st
    outcomes = {r['outcome'] for r in router.rows('show recent')}
    assert {'tsig:BADKEY', 'tsig:BADSIG', 'tsig:BADTIME'} <= outcomes, outcomes


def test_unsigned_refused_unless_tsig_optional(router, primaries):
    ns1, ns2 = primaries
    serials = [ns.serial(ZONE) for ns in primaries]
    rc, out = nsupdate(router, ['update add uns.example. 300 A 192.0.2.9'], key=None)
    assert rc != 0 and 'REFUSED' in out, out
    assert [ns.serial(ZONE) for ns in primaries] == serials
    assert router.stat('update-unsigned') == 1
    # With tsig optional the router signs each copy with the primary's key.
    rid = router.routes()[0]['id']
    router.ok('route del %s' % rid)
    router.ok(r"route add '^example\.$' opcode update pool up tsig optional")
    rc, out = nsupdate(router, ['update add uns.example. 300 A 192.0.2.9'], key=None)
    assert rc == 0, out
    for ns in primaries:
        assert ns.lookup('uns.example.') == ['192.0.2.9']


def test_changed_update_route_takes_the_next_update(router, primaries):
    """A snapshot shares the UPDATE routes' table with the one before while
    their patterns stay the same, and copies the routes whole while no
    route changed: the very next UPDATE still goes where the route and
    pool now say."""
    ns1, ns2 = primaries
    rid = router.routes()[0]['id']
    router.ok('pool add one policy fanout')
    router.ok('backend set ns1 pool up pool one')
    # The route's pool changed, its pattern did not.
    router.ok('route set %s pool one' % rid)
    rc, out = nsupdate(router, ['update add one.example. 300 A 192.0.2.31'])
    assert rc == 0, out
    assert ns1.lookup('one.example.') == ['192.0.2.31']
    assert ns2.lookup('one.example.') == []
    # No route changed, the pool's members did (the routes are copied).
    router.ok('backend set ns2 pool up pool one')
    rc, out = nsupdate(router, ['update add both.example. 300 A 192.0.2.32'])
    assert rc == 0, out
    for ns in primaries:
        assert ns.lookup('both.example.') == ['192.0.2.32']
    # A query route added (the query table is new, the UPDATE table
    # shared), and the UPDATE route's tsig changed: unsigned now taken.
    router.ok('pool add q')
    router.ok(r"route add '^q\.example\.$' pool q at 1")
    rc, out = nsupdate(router, ['update add uns.example. 300 A 192.0.2.33'], key=None)
    assert rc != 0 and 'REFUSED' in out, out
    router.ok('route set %s tsig optional' % rid)
    rc, out = nsupdate(router, ['update add uns.example. 300 A 192.0.2.33'], key=None)
    assert rc == 0, out
    for ns in primaries:
        assert ns.lookup('uns.example.') == ['192.0.2.33']
    # The UPDATE route replaced by one of another pattern in one batch
    # (one snapshot, as many UPDATE routes as before): example. is no
    # longer taken.
    r = router.ctl(['route del %s' % rid,
                    r"route add '^other\.$' opcode update pool up"])
    assert r.rc == 0, r.describe()
    rc, out = nsupdate(router, ['update add gone.example. 300 A 192.0.2.34'])
    assert rc != 0 and 'REFUSED' in out, out
    for ns in primaries:
        assert ns.lookup('gone.example.') == []


def test_queries_and_updates_use_their_own_routes(router, primaries):
    ns1, ns2 = primaries
    # Only an UPDATE route for example.: a query for it meets no route.
    a = router.query('example.', 'SOA')
    assert dt.rcode_text(a) == 'SERVFAIL', a
    # A zone no UPDATE route takes is refused (signed: the TSIG was good).
    u = dns.update.UpdateMessage('other.')
    u.use_tsig(keyring(CLIENT), dns.name.from_text(CLIENT[0]))
    u.add('x', 300, 'A', '192.0.2.1')
    a = send_update(router, u)
    assert a.rcode() == dns.rcode.REFUSED and a.had_tsig, a
    # A query route for other. does not take an UPDATE of other.
    router.ok('pool add q')
    router.ok(r"route add '^other\.$' pool q")
    a = send_update(router, u)
    assert a.rcode() == dns.rcode.REFUSED and a.had_tsig, a
    # Nor does an UPDATE route take a query; route test says where a
    # query would go (no route: the default).
    assert router.route_test('example.', 'SOA')['route'] in (None, '-'), \
        router.route_test('example.', 'SOA')


def test_update_without_update_routes_is_notimp(router):
    a = send_update(router, update_msg([('x', 'A', '192.0.2.1')], key=None))
    assert a.rcode() == dns.rcode.NOTIMP, a


def test_truncated_answer_is_retried_over_tcp(router, misbehave_factory):
    m = misbehave_factory('truncate', record=True)
    router.ok('pool add tc policy fanout')
    router.ok('backend add tc %s pool tc %s' % (m.endpoint, BACKEND_FAST))
    router.ok(r"route add '^example\.$' opcode update pool tc tsig optional")
    router.wait_health('tc', 'up')
    a = send_update(router, update_msg([('t', 'A', '192.0.2.1')], key=None))
    assert a.rcode() == dns.rcode.NOERROR, a
    got = [r for r in m.received() if r[1] == '5']
    assert got == [('udp', '5', 'example.'), ('tcp', '5', 'example.')], got


def test_keys_never_shown(router):
    setup_keys(router, CLIENT)
    out = router.ok('show keys')
    assert CLIENT[0] in out and 'hmac-sha256' in out and CLIENT[2] not in out
    assert CLIENT[2] not in router.ok('export')
    assert CLIENT[2] in router.ok('export secrets')
    mode = stat.S_IMODE(os.stat(router.db).st_mode)
    assert mode == 0o600, oct(mode)
    # Bad keys are refused with the reason.
    for bad, why in (('k. hmac-sha256 notbase64!', 'base64'),
                     ('k. hmac-sha3 AAAA', 'ALGORITHM'),
                     ('k. hmac-sha256 ""', 'SECRET')):
        r = router.ctl('key add ' + bad)
        assert r.rc != 0 and why in (r.stdout + r.stderr), r.describe()


def test_export_and_replace_keep_the_keys(router_factory):
    """An export without secrets replaces back onto the same state (keys
    kept); one with secrets builds the same state on another router."""
    r = router_factory()
    setup_keys(r, CLIENT, NS1)
    r.ok('pool add up policy fanout confirm any')
    r.ok('backend add ns1 127.0.0.1:5301 pool up key %s' % NS1[0])
    r.ok(r"route add '^example\.$' opcode update tsig optional pool up")
    keys = r.rows('show keys')

    def replace(router, text, name):
        path = os.path.join(router.dir, name)
        with open(path, 'w') as f:
            f.write(text)
        res = router.ctl(None, args=['-f', path, '--replace'])
        assert res.rc == 0, res.describe()
        return res.stdout
    out = replace(r, r.ok('export'), 'plain.conf')
    assert 'no changes' in out, out
    assert r.rows('show keys') == keys
    # A changed secret in the input changes the key, reported without it.
    new = 'key add %s %s %s\n' % (CLIENT[0], CLIENT[1], NS2[2])
    out = replace(r, new + r.ok('export'), 'rotate.conf')
    assert 'key set %s %s (secret)' % CLIENT[:2] in out and NS2[2] not in out, out
    full = r.ok('export secrets')
    r2 = router_factory()
    replace(r2, full, 'full.conf')
    assert r2.ok('export secrets').splitlines()[1:] == full.splitlines()[1:]
    assert NS2[2] in full and NS2[2] not in ''.join(
        row['command'] for row in r.rows('show audit last 20'))
