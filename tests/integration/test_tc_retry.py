"""Truncation (issue 14): a TXT RRset larger than NSD sends over UDP (its
EDNS buffer is 1,232 octets) comes back truncated through the router, as
NSD sent it; with the pool's `tc-retry yes` the router fetches it again over
TCP itself and returns it whole when it fits the client's EDNS size, else
its own truncated answer."""

import dns.flags
import dns.message
import dns.query

import dnsroute_test as dt

# 8 strings of 200 octets: about 1,700 octets of answer.
BIG = ['%s' % (chr(ord('a') + i) * 200) for i in range(8)]


def big_zone():
    text = dt.example_zone('ab', 'ns-big')
    text += 'big IN TXT ' + ' '.join('"%s"' % s for s in BIG) + '\n'
    for i, s in enumerate(BIG):
        text += 'many IN TXT "%d%s"\n' % (i, s)
    return text


def ask(router, name='many.example.', payload=4096, tcp=False):
    q = dns.message.make_query(name, 'TXT', use_edns=payload is not None,
                               payload=payload or 512)
    if tcp:
        return dns.query.tcp(q, router.host, port=router.port, timeout=3)
    return dns.query.udp(q, router.host, port=router.port, timeout=3)


def values(msg):
    return sorted(v for v in dt.txt_values(msg))


def big_pool(router, nsd_factory):
    ns = nsd_factory('ns-big', {'example.': big_zone()})
    dt.setup_pool(router, [('ns-big', ns.endpoint)])
    return ns


def test_truncated_answer_relayed_then_fetched_over_tcp(router, nsd_factory):
    ns = big_pool(router, nsd_factory)
    # Straight from NSD: truncated over UDP even for EDNS 4096.
    direct = dns.query.udp(dns.message.make_query('many.example.', 'TXT',
                                                  use_edns=0, payload=4096),
                           ns.host, port=ns.port, timeout=3)
    assert direct.flags & dns.flags.TC, direct
    whole = ask(router, tcp=True)
    assert len(whole.to_wire()) > 1232 and len(whole.answer[0]) == 8, whole
    # Without tc-retry: the truncation goes to the client.
    s0 = router.stats()
    a = ask(router)
    assert a.flags & dns.flags.TC and not a.answer, a
    assert router.stat('truncated') - s0['truncated'] == 1
    assert router.pools()['p']['tc_retry'] == 'no'

    router.ok('pool set p tc-retry yes')
    assert router.pools()['p']['tc_retry'] == 'yes'
    s1 = router.stats()
    a = ask(router)
    assert not a.flags & dns.flags.TC, a
    assert values(a) == values(whole), a
    assert len(a.to_wire()) > 1232
    s2 = router.stats()
    assert s2['tc-retries'] - s1['tc-retries'] == 1
    assert s2['truncated'] == s1['truncated']
    row = router.rows('show recent 1')[0]
    assert (row['name'], row['outcome'], row['rcode'], row['backend']) == \
        ('many.example.', 'tc-retry', 'NOERROR', 'ns-big'), row
    assert row['transport'] == 'udp' and row['answers'] == 8, row

    # Too big for the client's EDNS size (1232) or without EDNS (512):
    # the router's own truncated answer, the question echoed.
    for payload in (1232, None):
        a = ask(router, payload=payload)
        assert a.flags & dns.flags.TC and not a.answer, a
        assert a.question[0].name.to_text() == 'many.example.', a
    s3 = router.stats()
    assert s3['tc-retries'] - s2['tc-retries'] == 2
    assert s3['truncated'] - s2['truncated'] == 2

    # An answer that fits UDP is untouched; TCP clients never retry.
    dt.check_name(router, 'a1.example.')
    assert values(ask(router, tcp=True)) == values(whole)
    assert router.stat('tc-retries') == s3['tc-retries']

    # What is set is kept: export has it, and it parses back.
    out = router.ctl('export').stdout
    assert 'pool add p policy roundrobin tc-retry yes\n' in out, out


def test_tc_retry_with_the_misbehaving_responder(router, misbehave_factory):
    # It truncates every UDP answer and answers TCP in full.
    trunc = misbehave_factory('truncate')
    dt.setup_pool(router, [('trunc', trunc.endpoint)])
    router.ok('pool set p tc-retry yes')
    a = ask(router, 'x.example.')
    assert not a.flags & dns.flags.TC and dt.txt_values(a) == ['misbehave'], a
    assert router.rows('show recent 1')[0]['outcome'] == 'tc-retry'
