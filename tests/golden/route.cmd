# route add, set, del, move, test; show routes.
pool add web
route add ^a\.example\.$ pool web comment 'a and only a'
route add '\.example\.$' qtype MX refuse
route add ^b nxdomain at 1
route add "^c d" servfail comment "say \"hi\""
route add '#hash' drop
route add ^d\.$ pool nope
route add ^e
route add ^e left
route add ^e refuse drop
route add ^e pool
route add ^e qtype AXFR refuse
route add ^e qtype WHAT refuse
route add ^e refuse at 9
route add ^e refuse at 0
route add '^[ab' refuse
route add ^(a refuse
route add '^(a+)+$' refuse
show routes
route set 1 comment 'changed in place'
route set 1 qtype A refuse
route set 1 qtype - pool web
route set 2
route set 99 comment x
route set 1 pool nope
route move 5 1
route move 5 9
route move 99 1
route move 5
route del 4
route del 4
route del x
show routes
route test a.example.
route test a.example. MX
route test x.example. MX
route test nowhere.
route test b.
route test a..b
route test
route lookup a.example. b. nowhere.
route lookup
route lookup a..b
