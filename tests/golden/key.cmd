# TSIG keys, fanout pools and UPDATE routes (DNS UPDATE fan-out): the
# secrets never shown, the rules of what uses what.
key add ddns-client. hmac-sha256 Y2xpZW50LXNlY3JldC1vZi1hdC1sZWFzdC0zMi1vY3RldHM=
key add Router-NS1 hmac-sha384 bnMxLXNlY3JldC10aGF0LWlzLWxvbmdlcg==
key add ns2-key. hmac-md5 bnMyLXNlY3JldA==
key add ddns-client. hmac-sha256 Y2xpZW50
key add bad. hmac-sha3 Y2xpZW50
key add bad. hmac-sha256 not-base64!
key add bad. hmac-sha256
key add bad..name hmac-sha256 Y2xpZW50
key set ns2-key. hmac-sha1 bnMyLW5ldy1zZWNyZXQ=
key set nope. hmac-sha1 bnMyLW5ldy1zZWNyZXQ=
# The audit keeps no secret, of a change made or refused.
show audit last 5
pool add up policy fanout
pool add web
pool add web2 confirm any
backend add ns1 127.0.0.1:5301 pool up key router-ns1.
backend add ns2 127.0.0.1:5302 pool up key ns2-key
backend add ns3 127.0.0.1:5303 pool up key missing.
backend add ns4 127.0.0.1:5304 pool web
show keys
show backends
route add '(^|\.)example\.$' opcode update pool up
route add '(^|\.)example\.$' opcode update tsig optional pool up comment 'unsigned too'
route add '^www\.' pool up
route add '^www\.' opcode update pool web
route add '^x\.' opcode update qtype A pool up
route add '^x\.' tsig optional pool web
route add '^x\.' opcode update refuse
show routes
pool set up confirm any
pool set web confirm any
pool set up policy roundrobin
pool set web policy fanout
show pools
key del router-ns1.
backend set ns1 key -
key del router-ns1.
key del router-ns1.
show keys
export
export secrets
show audit last 6
help key add
