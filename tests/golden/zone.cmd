# route lookup (many names a request) and zone split and zone check, which
# dnsroutectl runs itself (they read files) through route lookup.  The
# backends are disabled: no pool has a usable member.
$ -f zone-setup.in
route lookup a1.example. c1.example. example. EXAMPLE. nope.
route lookup
route lookup a..b
$ -c 'zone split example.zone {TMP}/slices origin example.'
$ -c 'zone split example.zone {TMP}/subtree origin example. assume subtree'
zone check example.zone origin example.
zone check nosuch.zone
zone split example.zone
zone check example.zone rate 0
zone split example.zone x assume everything
@ zone check example.zone
