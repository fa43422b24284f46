#!/usr/bin/python3
"""tsig_vectors: the signed UPDATEs test_tsig.c checks, made by dnspython (an
implementation independent of ours and of ldns).  Run it to see where the
hex in test_tsig.c came from: one UPDATE of example. (add www 300 A
192.0.2.1, ID 0x1234), signed with key.example. (secret: the octets 0-31)
at 1700000000 with each algorithm.  dnspython compresses the TSIG owner
name and writes hmac-md5's name in capitals, which the parser must take."""
import time

import dns.name
import dns.tsig
import dns.update

T = 1700000000
SECRET = bytes(range(32))
ALGS = ['hmac-md5', 'hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384',
        'hmac-sha512']

time.time = lambda: T
for a in ALGS:
    alg = dns.tsig.HMAC_MD5 if a == 'hmac-md5' else dns.name.from_text(a)
    key = dns.tsig.Key('key.example.', SECRET, alg)
    u = dns.update.UpdateMessage('example.', id=0x1234)
    u.use_tsig({key.name: key}, key.name)
    u.add('www', 300, 'A', '192.0.2.1')
    wire = u.to_wire()
    print(a, wire.hex())
    if a == 'hmac-sha256':
        # A server's answer to it, a second later, with its MAC chained.
        req = dns.message.from_wire(wire, keyring={key.name: key})
        time.time = lambda: T + 1
        print(a + '-answer', dns.message.make_response(req).to_wire().hex())
        time.time = lambda: T
