# What is not a command, and requests that break the protocol.
frobnicate
route add 'open
r
b
showx routes
backend
backend d ns
@ frobnicate
@ {4} export\nabc
@ {0} replace dry-run
@ show pools
@ {x} export
