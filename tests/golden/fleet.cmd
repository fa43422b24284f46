# A fleet needs etcd (dnsrouted -e): without it, fleet join says so and
# the state stays this router's own; fleet leave has nothing to leave.
# (The fleet itself is shown by tests/integration/test_fleet.py.)
show fleet
fleet join
fleet join dry-run
fleet leave
help fleet join
help fleet leave
# Neither is state: not in a replace input, not inside a transaction.
@ {11} replace\nfleet join
@ begin
@ fleet leave
@ abort
show audit last 3
