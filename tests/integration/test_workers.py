"""Several worker threads (-t 2): each has its own sockets and its own copy
of the routing decision cache, so a route change must reach every one of
them before the command returns, and answers must stay right whichever
worker the kernel hands a client to."""

import pytest

import dnsroute_test as dt


@pytest.fixture(params=[1, 2], ids=['t1', 't2'])
def seed_workers(request, router_factory, nsd_factory):
    r = router_factory(extra_args=['-t', str(request.param)])
    ns_ab = nsd_factory('ns-ab', {'example.': dt.example_zone('ab', 'ns-ab')})
    ns_cd = nsd_factory('ns-cd', {'example.': dt.example_zone('cd', 'ns-cd')})
    return dt.Seed(r, ns_ab, ns_cd).configure()


def test_answers_right_from_every_worker(seed_workers):
    r = seed_workers.router
    # A fresh source port per query spreads clients over the workers.
    for name in dt.names('a', 10) + dt.names('c', 10):
        dt.check_name(r, name)
        dt.check_name(r, name, tcp=True)


def test_route_change_is_seen_by_the_next_query(seed_workers):
    """Every client, whatever worker it lands on and whatever that worker
    has cached, sees a route change as soon as the command returned."""
    r = seed_workers.router
    # Warm every worker's decision cache with the old answer.
    for _ in range(20):
        assert dt.rcode_text(r.query('a1.example.', 'TXT')) == 'NOERROR'
    r.ok(r"route add '^a1\.example\.$' refuse at 1")
    for _ in range(20):
        assert dt.rcode_text(r.query('a1.example.', 'TXT')) == 'REFUSED'
    ids = seed_workers.route_ids()
    r.ok('route del %d' % ids[r'^a1\.example\.$'])
    for _ in range(20):
        a = r.query('a1.example.', 'TXT')
        assert dt.txt_values(a) == [dt.expected_txt('a1.example.')], a
