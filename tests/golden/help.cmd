# help in its three forms, from dnsroutectl (without the daemon) and from
# the daemon (@), which say the same.
help
help route
help route add
help backend set
help pool add
help sh ro
help nope
quit
@ help route add
@ help nope
