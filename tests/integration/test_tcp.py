"""TCP clients: many queries per connection, pipelined and answered out of
order as RFC 7766 allows, each matched back to its query by ID; TCP clients
are served over TCP by the backends."""

import socket
import struct
import subprocess
import threading

import dns.query

import dnsroute_test as dt


def pipelined_names():
    return [n for l in 'abcd' for n in dt.names(l, 25)]


def check_answers(msgs, answers):
    assert len(answers) == len(msgs), 'got %d of %d answers' % (len(answers), len(msgs))
    for q in msgs:
        a = answers[q.id]
        name = str(q.question[0].name)
        assert str(a.question[0].name) == name, (name, a)
        assert dt.rcode_text(a) == 'NOERROR', (name, a)
        assert dt.txt_values(a) == [dt.expected_txt(name)], (name, a)


def make_msgs(names, base=0x2000):
    return [dt.make_query(n, 'TXT', qid=base + i) for i, n in enumerate(names)]


def test_100_pipelined_queries_on_one_connection(seed):
    r = seed.router
    before = r.stats()
    msgs = make_msgs(pipelined_names())
    assert len(msgs) == 100
    check_answers(msgs, dt.tcp_pipeline(r.host, r.port, msgs, timeout=15))
    after = r.stats()
    assert after['queries-tcp'] - before['queries-tcp'] == 100


def test_pipelined_frames_split_across_segments(seed):
    r = seed.router
    msgs = make_msgs(pipelined_names()[::5], base=0x3000)
    check_answers(msgs, dt.tcp_pipeline(r.host, r.port, msgs, timeout=15, chunk=7))


def test_sequential_queries_on_one_connection(seed):
    r = seed.router
    s = socket.create_connection((r.host, r.port), timeout=5)
    try:
        for name in ('a1.example.', 'c2.example.', 'b3.example.', 'd4.example.', 'example.'):
            q = dt.make_query(name, 'TXT')
            a = dns.query.tcp(q, r.host, port=r.port, timeout=5, sock=s)
            if name == 'example.':
                assert dt.txt_values(a)[0] in ('ns-ab', 'ns-cd')
            else:
                assert dt.txt_values(a) == [dt.expected_txt(name)], a
    finally:
        s.close()


def test_concurrent_connections(seed):
    r = seed.router
    names = pipelined_names()
    errors = []

    def client(k):
        try:
            msgs = make_msgs(names[k::8], base=0x4000 + 100 * k)
            check_answers(msgs, dt.tcp_pipeline(r.host, r.port, msgs, timeout=15))
        except Exception as e:  # reported below
            errors.append('client %d: %r' % (k, e))
    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors


def test_pipeline_deeper_than_the_in_flight_cap(seed):
    """More queries than one connection may have in flight (256): the
    router stops reading, then resumes from what it already buffered, and
    every query is answered."""
    r = seed.router
    names = pipelined_names() * 6
    msgs = [dt.make_query(n, 'TXT', qid=0x4000 + i) for i, n in enumerate(names)]
    assert len(msgs) == 600
    answers = dt.tcp_pipeline(r.host, r.port, msgs, timeout=30)
    assert len(answers) == 600, 'got %d of 600 answers' % len(answers)
    for q in msgs:
        name = str(q.question[0].name)
        assert dt.txt_values(answers[q.id]) == [dt.expected_txt(name)], name


def test_answers_leave_as_they_come_not_in_the_order_asked(seed, misbehave_factory):
    """RFC 7766 6.2.1.1: the first of 21 queries pipelined on one connection
    goes to a backend that answers after 700 ms, the other 20 to NSD.  The
    20 come back first, on the same connection, and the slow one last: no
    answer waits for the queries before it."""
    r = seed.router
    m = misbehave_factory('delay', delay_ms=700)
    dt.setup_pool(r, [('slow', m.endpoint)], timeout_ms=5000, pool='slow',
                  route=r'^e[^.]*\.example\.$', options='check-transport udp')
    slow = dt.make_query('e1.example.', 'TXT', qid=0x5000)
    fast = make_msgs(pipelined_names()[::5], base=0x5001)
    stream = b''.join(struct.pack('!H', len(w)) + w for w in (q.to_wire() for q in [slow] + fast))
    s = socket.create_connection((r.host, r.port), timeout=10)
    try:
        s.sendall(stream)
        arrived = []
        for _ in range(1 + len(fast)):
            (n,) = struct.unpack('!H', dt.recv_exact(s, 2))
            arrived.append(dns.message.from_wire(dt.recv_exact(s, n)))
    finally:
        s.close()
    assert arrived[-1].id == slow.id, [a.id for a in arrived]
    assert dt.txt_values(arrived[-1]) == ['misbehave'], arrived[-1]
    check_answers(fast, {a.id: a for a in arrived[:-1]})


def established_to(host, port):
    """TCP connections in state established towards host:port (ss)."""
    out = subprocess.run(['ss', '-Htn', 'state', 'established', 'dst', '%s:%d' % (host, port)],
                         capture_output=True, text=True, check=True).stdout
    return len([l for l in out.splitlines() if l.strip()])


def test_deep_pipeline_spreads_over_a_few_backend_connections(router, misbehave_factory):
    """A server answers one connection's queries one after the other, so 64
    queries that one client pipelines must not all queue on one connection
    to the backend: the router opens another when each open one has 16 in
    flight, up to 4, and every answer still goes to its own query."""
    m = misbehave_factory('delay', delay_ms=1000)
    # UDP health checks: the only TCP connections to it are the router's.
    dt.setup_pool(router, [('slow', m.endpoint)], timeout_ms=5000,
                  options='check-transport udp')
    msgs = [dt.make_query('q%d.a.example.' % i, 'TXT', qid=0x100 + i) for i in range(64)]
    result = {}
    th = threading.Thread(target=lambda: result.update(
        answers=dt.tcp_pipeline(router.host, router.port, msgs, timeout=15)))
    th.start()
    seen = []
    try:
        dt.wait_for(lambda: seen.append(established_to(m.host, m.port)) or seen[-1] == 4, 5.0,
                    what='4 connections to the backend')
    finally:
        th.join(20)
    assert max(seen) == 4, seen
    answers = result.get('answers', {})
    assert len(answers) == 64, 'got %d of 64 answers' % len(answers)
    for q in msgs:
        a = answers[q.id]
        assert a.question == q.question and dt.txt_values(a) == ['misbehave'], (q.id, a)


def send_queue(src_host, src_port, dst_host, dst_port):
    """Bytes the kernel holds unsent or unacknowledged on the connection
    from src to dst (ss's Send-Q), or None when there is none."""
    out = subprocess.run(['ss', '-Htn', 'state', 'established', 'src', '%s:%d' % (src_host, src_port),
                          'dst', '%s:%d' % (dst_host, dst_port)],
                         capture_output=True, text=True, check=True).stdout.split()
    return int(out[1]) if len(out) >= 2 else None


def test_client_that_reads_late_gets_every_answer_then_more(seed):
    """2,000 pipelined queries from a client that reads nothing until the
    router's writes to it back up: the answers wait in the router's socket
    (past what the kernel takes, in the router itself: tests/unit/
    test_tconn.c), all of them arrive once the client reads, and the
    connection then answers the next query at once."""
    r = seed.router
    names = pipelined_names()
    msgs = [dt.make_query(names[i % len(names)], 'TXT', qid=0x4000 + i) for i in range(2000)]
    stream = b''.join(struct.pack('!H', len(w)) + w for w in (m.to_wire() for m in msgs))
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(15)
        s.connect((r.host, r.port))
        s.sendall(stream)
        me = s.getsockname()
        # Back-pressure: the kernel holds answers it cannot deliver.
        dt.wait_for(lambda: (send_queue(r.host, r.port, me[0], me[1]) or 0) > 0, 10.0,
                    what="answers backed up towards the client")
        answers = {}
        while len(answers) < len(msgs):
            (n,) = struct.unpack('!H', dt.recv_exact(s, 2))
            a = dns.message.from_wire(dt.recv_exact(s, n))
            assert a.id not in answers, a.id
            answers[a.id] = a
        check_answers(msgs, answers)
        q = dt.make_query('b7.example.', 'TXT', qid=0x7777)
        w = q.to_wire()
        s.settimeout(3)
        s.sendall(struct.pack('!H', len(w)) + w)
        (n,) = struct.unpack('!H', dt.recv_exact(s, 2))
        a = dns.message.from_wire(dt.recv_exact(s, n))
        assert a.id == 0x7777 and dt.txt_values(a) == ['txt-b7'], a
    finally:
        s.close()
