#!/usr/bin/python3
"""report.py: the numbers of the dnsroute benchmark (standard library only).

    report.py p99 FILE        99th percentile (µs) of the per-query latencies that
                              `dnsperf -v` printed to FILE ('> RCODE NAME TYPE SECONDS')
    report.py table RAWDIR    the results table, from RAWDIR/meta, RAWDIR/runs.tsv
                              and the dnsperf outputs beside them
    report.py config RAWDIR   the configuration figures (RAWDIR/config.tsv)
    report.py targets RAWDIR  the targets of issue 6 against this run
    report.py window FILE T0 T1 QPS
                              a paced dnsperf -v -S 1 load (QPS) during which a change
                              ran from T0 to T1 (epoch seconds): "answered N failed N
                              p99_before US p99_during US"
    report.py latencies FILE  seconds, one a line ("failed: ..." lines are counted):
                              "n N p50_ms X p99_ms X max_ms X"
    report.py scale RAWDIR    the scale figures of issue 16 (RAWDIR/scale.tsv), with
                              their targets

runs.tsv, one line a dnsperf run, tab-separated:
    scenario proto routes threads target load file cpu_ticks rss_kb p99_us [user_ticks sys_ticks]
(target: nsd | floor | dnsrouted | dnsdist; load: max | 10k; cpu_ticks of the
relay process, or for nsd of its main process and its forked children; rss_kb
of the relay process, '-' for nsd; p99_us '-' when not measured).

floor is the least a userspace relay can do (UDP: tests/bench/floor_relay,
poll and recvmmsg/sendmmsg; TCP: tests/bench/floor_tcp, a byte pipe); it runs in the scenarios with one
thread only.  The table gives the relays' (dnsrouted's, dnsdist's) qps and
CPU per query as ratios to it, and the targets its figure beside the
router's, so a miss can be read against what any relay costs on the same
machine in the same run.
"""
import collections
import math
import os
import re
import sys


def p99(path):
    lat = []
    with open(path, errors="replace") as f:
        for line in f:
            if not line.startswith("> "):
                continue
            parts = line.split()
            if len(parts) < 5 or parts[1] == "T":
                continue
            try:
                lat.append(float(parts[-1]))
            except ValueError:
                pass
    if not lat:
        return "-"
    lat.sort()
    k = max(0, math.ceil(0.99 * len(lat)) - 1)   # nearest rank
    return "%.0f" % (lat[k] * 1e6)


def parse_dnsperf(path):
    r = {"completed": 0, "lost": None, "qps": None, "avg": None}
    try:
        text = open(path, errors="replace").read()
    except OSError:
        return r
    m = re.search(r"Queries completed:\s+(\d+)", text)
    if m:
        r["completed"] = int(m.group(1))
    m = re.search(r"Queries lost:\s+(\d+)", text)
    if m:
        r["lost"] = int(m.group(1))
    # Over TCP: connections dnsperf opened again (it opens -c at the start).
    m = re.search(r"Reconnections:\s+(\d+)", text)
    r["reconn"] = int(m.group(1)) if m else None
    m = re.search(r"Command line:.* -c (\d+)", text)
    r["clients"] = int(m.group(1)) if m else None
    m = re.search(r"Queries per second:\s+([\d.]+)", text)
    if m:
        r["qps"] = float(m.group(1))
    # The first "Average Latency" is the queries'; over TCP a second one is
    # the connections'.
    m = re.search(r"Average Latency \(s\):\s+([\d.]+)", text)
    if m:
        r["avg"] = float(m.group(1)) * 1e6
    return r


def read_kv(path):
    d = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                if "\t" in line:
                    k, v = line.split("\t", 1)
                    d[k] = v
    return d


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return "%.2f" % (a / b)


def fmt(x, spec):
    return "-" if x is None else spec % x


def load_rows(raw):
    meta = read_kv(os.path.join(raw, "meta"))
    clk = float(meta.get("clk_tck", "100"))
    rows = []
    with open(os.path.join(raw, "runs.tsv")) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 10:
                continue
            scen, proto, routes, threads, target, load, path, ticks, rss, p99us = p[:10]
            d = parse_dnsperf(os.path.join(raw, path))
            t = num(ticks)
            d["cpu"] = (t * 1e6 / clk / d["completed"]) if (t is not None and d["completed"]) else None
            us = [num(x) for x in p[10:12]] if len(p) >= 12 else [None, None]
            d["usr"], d["sys"] = [(x * 1e6 / clk / d["completed"]) if (x is not None and d["completed"]) else None
                                  for x in us]
            d["rss"] = num(rss) / 1024 if num(rss) is not None else None
            d["p99"] = num(p99us)
            d.update(scen=scen, target=target, load=load, proto=proto,
                     routes=int(routes), threads=int(threads), ticks=t)
            rows.append(d)
    # Rounds of the same target, scenario and load become one row.
    groups = {}
    for r in rows:
        groups.setdefault((r["scen"], r["load"], r["target"]), []).append(r)
    rows = [merge(g) for g in groups.values()]
    by = {(r["scen"], r["load"], r["target"]): r for r in rows}
    return rows, by


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2


def merge(g):
    """One row for the rounds g of a target: medians of qps and latency
    (a round that a neighbour on the machine disturbed does not drag them),
    the sum of lost, and CPU per query over all rounds together."""
    if len(g) == 1:
        return dict(g[0], round_cpu=[g[0]["cpu"]], rounds=g)
    d = dict(g[0])
    d["round_cpu"] = [r["cpu"] for r in g]
    d["rounds"] = g
    d["qps"] = median(r["qps"] for r in g)
    d["avg"] = median(r["avg"] for r in g)
    d["p99"] = median(r["p99"] for r in g)
    lost = [r["lost"] for r in g if r["lost"] is not None]
    d["lost"] = sum(lost) if lost else None
    d["completed"] = sum(r["completed"] for r in g)
    ticks = [r["ticks"] for r in g]
    if d["completed"] and all(t is not None for t in ticks):
        d["cpu"] = sum(r["cpu"] * r["completed"] for r in g if r["completed"]) / d["completed"]
    else:
        d["cpu"] = None
    d["rss"] = g[-1]["rss"]
    return d


def table(raw):
    rows, by = load_rows(raw)
    # A ratio group with nothing to divide by (no dnsdist, no UDP -t 1
    # scenario) would be a block of '-': it is left out.
    has = {r["target"] for r in rows}

    cols = [("scenario", 16, "<"), ("target", 9, "<"), ("load", 4, "<"),
            ("qps", 7, ">"), ("avg_us", 7, ">"), ("p99_us", 7, ">"), ("lost", 6, ">"),
            ("cpu_us/q", 8, ">"), ("rss_MiB", 7, ">")]
    if "floor" in has:
        cols += [("|", 1, "<"), ("qps/fl", 6, ">"), ("cpu/fl", 6, ">")]
    if "dnsdist" in has:
        cols += [("|", 1, "<"), ("qps/dd", 6, ">"), ("avg/dd", 6, ">"), ("p99/dd", 6, ">"),
                 ("cpu/dd", 6, ">"), ("rss/dd", 6, ">")]
    # avg/nsd is left out: +avg_us says the same in the unit of the target.
    cols += [("|", 1, "<"), ("qps/nsd", 7, ">"), ("p99/nsd", 7, ">"), ("+avg_us", 7, ">")]

    def line(vals):
        return " ".join(("%" + ("-" if a == "<" else "") + str(w) + "s") % v
                        for (n, w, a), v in zip(cols, vals)).rstrip()

    out = [line([c[0] for c in cols]), line(["-" * c[1] for c in cols])]
    last_scen = None
    for r in rows:
        if last_scen is not None and r["scen"] != last_scen:
            out.append("")
        last_scen = r["scen"]
        fl = by.get((r["scen"], r["load"], "floor"))
        dd = by.get((r["scen"], r["load"], "dnsdist"))
        ns = by.get((r["scen"], r["load"], "nsd"))
        vals = [r["scen"], r["target"], r["load"],
                fmt(r["qps"], "%.0f"), fmt(r["avg"], "%.0f"), fmt(r["p99"], "%.0f"),
                fmt(r["lost"], "%d"), fmt(r["cpu"], "%.2f"), fmt(r["rss"], "%.1f")]
        if "floor" in has:
            vals.append("|")
            if r["target"] in ("dnsrouted", "dnsdist") and fl:
                vals += [ratio(r["qps"], fl["qps"]), ratio(r["cpu"], fl["cpu"])]
            else:
                vals += ["-"] * 2
        if "dnsdist" in has:
            vals.append("|")
            if r["target"] == "dnsrouted" and dd:
                vals += [ratio(r["qps"], dd["qps"]), ratio(r["avg"], dd["avg"]), ratio(r["p99"], dd["p99"]),
                         ratio(r["cpu"], dd["cpu"]), ratio(r["rss"], dd["rss"])]
            else:
                vals += ["-"] * 5
        vals.append("|")
        if r["target"] != "nsd" and ns:
            vals += [ratio(r["qps"], ns["qps"]), ratio(r["p99"], ns["p99"]),
                     "-" if r["avg"] is None or ns["avg"] is None else "%+.0f" % (r["avg"] - ns["avg"])]
        else:
            vals += ["-"] * 3
        out.append(line(vals))
    return "\n".join(out)


def config(raw):
    c = read_kv(os.path.join(raw, "config.tsv"))
    if not c:
        return ""
    out = []
    routes = sorted({int(k.split(".")[1]) for k in c if k.startswith("apply.")})
    if routes:
        out.append("%-8s %14s %16s %16s %13s %12s" % ("routes", "batch_apply_s", "dnsrouted_rss_MiB",
                                                        "dnsrouted_ready_s", "dnsdist_rss_MiB", "dnsdist_ready_s"))
        for n in routes:
            def g(k, spec, div=1.0):
                v = num(c.get("%s.%d" % (k, n)))
                return "-" if v is None else spec % (v / div)
            out.append("%-8d %14s %16s %16s %13s %12s" % (
                n, g("apply", "%.3f"), g("rss_idle", "%.1f", 1024), g("ready", "%.2f"),
                g("dd_rss_idle", "%.1f", 1024), g("dd_ready", "%.2f")))
        out.append("  (batch_apply_s: wall time of `dnsroutectl -f` of 'backend add' + N+1 routes on a fresh store;")
        out.append("   *_ready_s: start to first answered query, after the routes are in the store / config;")
        out.append("   *_rss: VmRSS idle after start-up, before any load)")
    if "big.apply" in c:
        def g(k, spec, div=1.0):
            v = num(c.get(k))
            return "-" if v is None else spec % (v / div)
        out.append("")
        out.append("10,000 routes + 100 backends (one batch on a fresh store, all backends in pool main, at the NSD address):")
        out.append("  batch apply %s s; backends up %s/100; RSS idle %s MiB; after a %s s UDP max load %s MiB (%s qps, %s lost)" % (
            g("big.apply", "%.3f"), c.get("big.up", "-"), g("big.rss_idle", "%.1f", 1024), c.get("big.secs", "-"),
            g("big.rss_load", "%.1f", 1024), g("big.qps", "%.0f"), c.get("big.lost", "-")))
    return "\n".join(out)


def targets(raw):
    """The targets of issue 6, checked against this run's figures."""
    rows, by = load_rows(raw)
    c = read_kv(os.path.join(raw, "config.tsv"))
    out = []

    def check(ok, text):
        out.append("  [%s] %s" % ("-" if ok is None else ("ok" if ok else "MISS"), text))

    def get(proto, routes, threads, target, load):
        return by.get(("%s-r%d-t%d" % (proto, routes, threads), load, target))

    def floor(scen, load, what):
        """The floor relay's figure beside a target, '-' when it did not run."""
        f = by.get((scen, load, "floor"))
        n = by.get((scen, load, "nsd"))
        if what == "cpu":
            return fmt(f and f["cpu"], "%.2f")
        if what == "qps":
            if not (f and f["qps"] and n and n["qps"]):
                return "-"
            return "%.0f = %.0f%%" % (f["qps"], 100 * f["qps"] / n["qps"])
        if f and n and f["avg"] is not None and n["avg"] is not None:
            return "%+.0f" % (f["avg"] - n["avg"])
        return "-"

    r = get("udp", 1, 1, "dnsrouted", "max")
    n = get("udp", 1, 1, "nsd", "max")
    if r:
        check(None if r["cpu"] is None else r["cpu"] <= 4,
              "UDP, 1 route, 1 worker: router CPU %s us/query (target <= 4; dnsdist ~12.5; floor relay %s)"
              % (fmt(r["cpu"], "%.2f"), floor(r["scen"], "max", "cpu")))
    if r and n and r["qps"] and n["qps"]:
        check(r["qps"] >= 0.9 * n["qps"],
              "UDP, 1 route, 1 worker: %.0f qps = %.0f%% of NSD direct %.0f (target >= 90%%; floor relay %s)"
              % (r["qps"], 100 * r["qps"] / n["qps"], n["qps"], floor(r["scen"], "max", "qps")))
    for proto in ("udp", "tcp"):
        for threads in (1, 2):
            base = get(proto, 1, threads, "dnsrouted", "max")
            if not base or not base["qps"]:
                continue
            for routes in sorted({x["routes"] for x in rows if x["routes"] > 1}):
                x = get(proto, routes, threads, "dnsrouted", "max")
                if x and x["qps"] is not None:
                    # The two runs are minutes apart on a noisy machine: also
                    # give the ratio with each normalised by NSD direct in its
                    # own scenario, and the CPU per query, which drift less.
                    nb = get(proto, 1, threads, "nsd", "max")
                    nx = get(proto, routes, threads, "nsd", "max")
                    norm = "-"
                    if nb and nx and nb["qps"] and nx["qps"]:
                        norm = "%.0f%%" % (100 * (x["qps"] / nx["qps"]) / (base["qps"] / nb["qps"]))
                    check(x["qps"] >= 0.9 * base["qps"],
                          "%s, %d routes, %d worker(s): %.0f qps = %.0f%% of the 1-route %.0f (target >= 90%%);"
                          " as fractions of NSD direct: %s; CPU %s vs %s us/query"
                          % (proto.upper(), routes, threads, x["qps"], 100 * x["qps"] / base["qps"], base["qps"],
                             norm, fmt(x["cpu"], "%.2f"), fmt(base["cpu"], "%.2f")))
    for x in rows:
        if x["proto"] == "tcp" and x["target"] == "dnsrouted" and x["load"] == "max":
            check(None if x["cpu"] is None else x["cpu"] <= 12,
                  "TCP, %d routes, %d worker(s): router CPU %s us/query (target <= 12; dnsdist ~40; floor relay %s)"
                  % (x["routes"], x["threads"], fmt(x["cpu"], "%.2f"), floor(x["scen"], "max", "cpu")))
    for x in rows:
        if x["target"] == "dnsrouted" and x["load"] == "10k":
            n = by.get((x["scen"], "10k", "nsd"))
            if n and x["avg"] is not None and n["avg"] is not None:
                fl = "; floor relay %s" % floor(x["scen"], "10k", "avg")
                check(x["avg"] - n["avg"] <= 10,
                      "%s at 10k qps: added average latency %+.0f us over direct (target <= 10%s)"
                      % (x["scen"], x["avg"] - n["avg"], fl))
    rss = [num(c.get(k)) for k in ("big.rss_idle", "big.rss_load") if num(c.get(k)) is not None]
    if rss:
        check(max(rss) / 1024 <= 64, "RSS with 10,000 routes and 100 backends: %.1f MiB (target <= 64)"
              % (max(rss) / 1024))
    for k, what in (("apply.10000", "10,000-route batch"), ("big.apply", "10,000 routes + 100 backends batch")):
        if num(c.get(k)) is not None:
            check(num(c[k]) < 2, "%s applied in %.3f s (target < 2)" % (what, num(c[k])))
    for proto in ("udp", "tcp"):
        for routes in sorted({x["routes"] for x in rows}):
            a = get(proto, routes, 1, "dnsrouted", "max")
            b = get(proto, routes, 2, "dnsrouted", "max")
            if a and b and a["qps"] and b["qps"]:
                check(None, "%s, %d routes: -t 2 / -t 1 = %.2f x qps, %s x CPU/query"
                      % (proto.upper(), routes, b["qps"] / a["qps"], ratio(b["cpu"], a["cpu"])))

    # Issue 16: the UDP targets against the floor relay of the same run, the
    # form that can hold on a machine where the floor itself misses the
    # absolute ones: what the router costs on top of any relay.
    fl_out = []
    r = get("udp", 1, 1, "dnsrouted", "max")
    f = get("udp", 1, 1, "floor", "max")
    if r and f and r["cpu"] and f["cpu"]:
        fl_out.append("  [%s] router CPU %.2f us/query = %.2f x the floor's %.2f (<= 1.1)"
                      % ("ok" if r["cpu"] <= 1.1 * f["cpu"] else "MISS", r["cpu"], r["cpu"] / f["cpu"], f["cpu"]))
    if r and f and r["qps"] and f["qps"]:
        fl_out.append("  [%s] %.0f qps = %.0f%% of the floor's %.0f (>= 95%%)"
                      % ("ok" if r["qps"] >= 0.95 * f["qps"] else "MISS", r["qps"], 100 * r["qps"] / f["qps"],
                         f["qps"]))
    r = get("udp", 1, 1, "dnsrouted", "10k")
    f = get("udp", 1, 1, "floor", "10k")
    if r and f and r["avg"] is not None and f["avg"] is not None:
        fl_out.append("  [%s] at 10k qps: average latency %+.0f us over the floor's (<= 10)"
                      % ("ok" if r["avg"] - f["avg"] <= 10 else "MISS", r["avg"] - f["avg"]))
    if fl_out:
        out.append("UDP, 1 route, 1 worker, against the floor relay (issue 16):")
        out += fl_out
    # And TCP's CPU target: the router multiplexes clients onto a few
    # backend connections, parses and re-IDs every message; the floor only
    # pipes bytes.
    # Judged per round, the median of the rounds' ratios: the TCP floor's
    # own CPU a query moves by a third from one round to the next on a
    # shared machine, and the router's run beside it takes the same turn.
    # Its cost follows how many messages it finds per read, which follows
    # where dnsperf, NSD and the relay run and what else does.  Each round
    # is printed with what could differ between the two sides (qps, user
    # and system time, connections); a round in which one side's qps is
    # over 1.5x the other's compared two different loads, and is marked,
    # but still counts: a router slow enough would always be such.
    fl_out = []
    for routes in (1, 10000):
        r = get("tcp", routes, 1, "dnsrouted", "max")
        f = get("tcp", routes, 1, "floor", "max")
        if not (r and f and r["cpu"] and f["cpu"]):
            continue
        pairs = [(a, b) for a, b in zip(r["rounds"], f["rounds"]) if a["cpu"] and b["cpu"]]
        apart = len([1 for a, b in pairs if not same_load(a, b)])
        rs = [a["cpu"] / b["cpu"] for a, b in pairs]
        m = median(rs) if rs else r["cpu"] / f["cpu"]
        fc = [x for x in f["round_cpu"] if x]
        fl_out.append("  [%s] %d route(s): router CPU / the floor's, median of %d round(s) %.2f x (<= 1.25; rounds %s%s);"
                      " all rounds %.2f / %.2f us/query (floor %.2f-%.2f)"
                      % ("ok" if m <= 1.25 else "MISS", routes, len(rs) or 1, m,
                         " ".join("%.2f" % x for x in rs) or "-",
                         "; %d at qps over 1.5x apart" % apart if apart else "",
                         r["cpu"], f["cpu"], min(fc) if fc else f["cpu"], max(fc) if fc else f["cpu"]))
        fl_out += tcp_rounds(r["rounds"], f["rounds"])
    if fl_out:
        out.append("TCP, 1 worker, against the TCP floor relay (issue 16):")
        out += fl_out
    return "\n".join(out)


def same_load(a, b):
    """Two runs of a round ran at comparable qps (within 1.5x)."""
    return bool(a["qps"] and b["qps"]) and max(a["qps"], b["qps"]) <= 1.5 * min(a["qps"], b["qps"])


def tcp_rounds(rr, fr):
    """Each round of the router and the floor side by side: which of the
    two moved, and whether they had the same load (qps, connections
    dnsperf opened again, queries a connection)."""
    def side(x):
        conns = (x["clients"] or 1) + (x["reconn"] or 0)
        return "%5.2f us/q (usr %s sys %s) %6.0f qps %3s reconn %6.0f q/conn" % (
            x["cpu"] or 0, fmt(x["usr"], "%.2f"), fmt(x["sys"], "%.2f"), x["qps"] or 0,
            fmt(x["reconn"], "%d"), x["completed"] / conns)
    out = []
    for i, (a, b) in enumerate(zip(rr, fr)):
        if a["cpu"] and b["cpu"]:
            out.append("      round %d: %.2f x%s router %s | floor %s" % (
                i + 1, a["cpu"] / b["cpu"], " " if same_load(a, b) else "*", side(a), side(b)))
    if out and not all(same_load(a, b) for a, b in zip(rr, fr)):
        out.append("      (* qps over 1.5x apart: two different loads)")
    return out


def nearest_rank(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[max(0, math.ceil(q * len(xs)) - 1)]


def window(path, t0, t1, qps):
    """dnsperf -v prints a line a query as it completes ('> RCODE NAME TYPE
    SECONDS'), in order; paced at qps, the i-th completes about i/qps after
    the start, which -S 1 anchors (its first line is stamped a second after
    the start).  The p99 of the queries that completed while the change
    ran (and a quarter second after), against windows of the same length
    before it: the time from a second after the start up to the change is
    cut into such windows, back from the change, and p99_before is the
    median of their p99s, p99_before_max the worst (what the rig's own
    noise reaches with no change at all; '-' with one window).  A p99
    over a short window is noisier than over a long one, so only windows
    of the same length compare.  A change longer than the time before it
    is compared with that time whole."""
    t0, t1, qps = float(t0), float(t1), float(qps)
    start = None
    lat = []
    lost = 0
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"^(\d+\.\d+): [\d.]+$", line.strip())
            if m and start is None:
                start = float(m.group(1)) - 1.0
                continue
            if line.startswith("> "):
                parts = line.split()
                if len(parts) >= 2 and parts[1] == "I":
                    continue	# in flight when the load was stopped
                if len(parts) >= 5 and parts[1] != "T":
                    try:
                        lat.append((parts[1], float(parts[-1])))
                    except ValueError:
                        pass
                else:
                    lat.append(("T", None))
            m = re.search(r"Queries lost:\s+(\d+)", line)
            if m:
                lost = int(m.group(1))
    failed = sum(1 for rcode, _ in lat if rcode != "NOERROR")
    samples = [] if start is None else [(start + i / qps, sec * 1e6)
                                        for i, (rcode, sec) in enumerate(lat) if sec is not None]
    return "answered %d failed %d %s" % (
        len(lat) - sum(1 for r, _ in lat if r == "T"), max(failed, lost),
        cut(samples, start, t0, t1))


def cut(samples, start, t0, t1):
    """(time, us) samples of a load that began at start, a change from t0
    to t1: "p99_before US p99_during US p99_before_max US windows N" (see
    window)."""
    length = t1 + 0.25 - t0
    before, during = [], []
    for t, us in samples:
        if start + 1.0 <= t < t0:
            # Window k (0: the one that ends at the change).
            before.append((int((t0 - t) / length), us))
        elif t0 <= t <= t1 + 0.25:
            during.append(us)
    nwin = 0 if start is None else max(1, int((t0 - start - 1.0) / length))
    wins = [[us for k, us in before if k == w or (w == nwin - 1 and k > w)]
            for w in range(nwin)]
    p99s = [nearest_rank(w, 0.99) for w in wins if w]
    pb, pd = median(p99s), nearest_rank(during, 0.99)
    pmax = max(p99s) if len(p99s) > 1 else None
    # The control in the same run: each window before, as if the change
    # had been there, against the median of the others (>= 2 of them).
    loo = [p99s[i] / median(p99s[:i] + p99s[i + 1:]) for i in range(len(p99s))
           if len(p99s) >= 3 and median(p99s[:i] + p99s[i + 1:])]
    return "p99_before %s p99_during %s p99_before_max %s windows %d loo %s" % (
        "-" if pb is None else "%.0f" % pb, "-" if pd is None else "%.0f" % pd,
        "-" if pmax is None else "%.0f" % pmax, len(p99s),
        ",".join("%.3f" % r for r in loo) or "-")


def probe(path, t0, t1):
    """latprobe's output (a line a query: 'SEND_EPOCH US', 'SEND_EPOCH lost'
    or 'SEND_EPOCH RCODE N'), cut as window() cuts dnsperf's, but by the
    time each query was really sent, not by its rank: "sent N failed N
    p99_before US ...".  Its queries go out on a fixed schedule from their
    own socket, so a late one is the path's, not dnsperf's own queueing."""
    t0, t1 = float(t0), float(t1)
    samples, failed, start = [], 0, None
    with open(path, errors="replace") as f:
        for line in f:
            p = line.split()
            try:
                t = float(p[0])
            except (IndexError, ValueError):
                continue
            start = t if start is None else start
            try:
                samples.append((t, float(p[1])))
            except (IndexError, ValueError):
                failed += 1
    return "sent %d failed %d %s" % (len(samples) + failed, failed, cut(samples, start, t0, t1))


def latencies(path):
    xs = []
    with open(path) as f:
        for line in f:
            try:
                xs.append(float(line) * 1e3)
            except ValueError:
                pass
    if not xs:
        return "n 0"
    return "n %d p50_ms %.1f p99_ms %.1f max_ms %.1f" % (
        len(xs), nearest_rank(xs, 0.5), nearest_rank(xs, 0.99), max(xs))


def fields(text):
    """'k v k v ...' -> dict of numbers (or None for '-')."""
    p = (text or "").split()
    return {p[i]: num(p[i + 1]) for i in range(0, len(p) - 1, 2)}


def sched_holders(raw, name):
    """schedwho.py's 'during' holders, summed over a change's rounds and
    its victims (RAW/scale-sched-NAME-*.txt, SCALE_SCHED=1)."""
    held = collections.Counter()
    try:
        files = sorted(f for f in os.listdir(raw) if f.startswith("scale-sched-%s-" % name))
    except OSError:
        return held
    for fn in files:
        span = None
        with open(os.path.join(raw, fn), errors="replace") as f:
            for line in f:
                if not line.startswith(" "):
                    span = line.split()[0] if line.strip() else None
                elif span == "during" and line.strip().startswith("holders:"):
                    for item in line.split(":", 1)[1].split(","):
                        p = item.split()
                        if len(p) == 2:
                            held[p[0]] += float(p[1])
    return held


def scale(raw):
    """Issue 16's figures, beside its targets."""
    c = read_kv(os.path.join(raw, "scale.tsv"))
    out = []

    def check(ok, text):
        out.append("  [%s] %s" % ("-" if ok is None else ("ok" if ok else "MISS"), text))

    def g(k):
        return num(c.get(k))

    if os.path.exists(os.path.join(raw, "runs.tsv")):
        rows, by = load_rows(raw)
        for r in rows:
            if r["target"] != "unique" or r["load"] != "max":
                continue
            rep = by.get((r["scen"], "max", "dnsrouted"))
            if rep and rep["qps"] and r["qps"] is not None:
                check(r["qps"] >= 0.9 * rep["qps"],
                      "%s, every query a name never seen: %.0f qps = %.2fx the repeated names' %.0f "
                      "(target >= 0.9x); CPU %s vs %s us/query"
                      % (r["scen"], r["qps"], r["qps"] / rep["qps"], rep["qps"], fmt(r["cpu"], "%.2f"),
                         fmt(rep["cpu"], "%.2f")))

    if "routes.n" in c:
        n = int(g("routes.n"))
        out.append("%d routes '^[a-q][^.]*\\.zNNNNNN\\.bench\\.test\\.$' (one pool), -t 1:" % n)
        b = g("routes.batch_s")
        check(None if b is None else b <= 3, "batch (-f) of them on a fresh store: %s s (target <= 3); "
              "CPU: dnsrouted %s s, dnsroutectl %s s" % (c.get("routes.batch_s"), c.get("routes.batch_daemon_cpu_s"),
                                                         c.get("routes.batch_ctl_cpu_s")))
        rss = [g(k) for k in ("routes.rss_mib", "routes.rss_restart_mib") if g(k) is not None]
        if rss:
            check(max(rss) <= 128, "RSS %s MiB once compiled (%s after the batch, before; %s after the restart) "
                  "(target <= 128)" % (c.get("routes.rss_mib"), c.get("routes.rss_batch_mib"),
                                       c.get("routes.rss_restart_mib")))
        r = g("routes.ready_s")
        check(None if r is None else r <= 0.5, "restart to the first answer: %s s (target <= 0.5); "
              "the daemon's CPU by then %s s" % (c.get("routes.ready_s"), c.get("routes.ready_cpu_s")))
        for names, tail in (("names asked again and again", ""), ("names asked once each", "_unique")):
            one = [g(k) for k in c if k.startswith("routes.qps_one%s." % tail)]
            if not one or not median(one):
                continue
            for r, what in (("all", "%d routes" % n), ("10k", "10,000 routes")):
                qs = [g(k) for k in c if k.startswith("routes.qps_%s%s." % (r, tail))]
                if qs and median(qs):
                    check(median(qs) >= 0.9 * median(one),
                          "max UDP qps, %s of the first 10,000 routes, compiled: %s %.0f, one route %.0f "
                          "(%.2fx; medians of %d; target: flat, >= 0.9x)"
                          % (names, what, median(qs), median(one), median(qs) / median(one), len(qs)))
        check(None, "show routes %s s, export %s s, --replace of the export (no change) %s s"
              % (c.get("routes.show_s"), c.get("routes.export_s"), c.get("routes.replace_noop_s")))
    if "change.qps" in c:
        out.append("Changes under load (UDP at %s qps, the max %s; %s routes and a catch-all, 4 backends; "
                   "%s s of load before each, the rig at nice %s%s%s):"
                   % (c.get("change.qps"), c.get("change.qps_max"), c.get("change.routes"),
                      c.get("change.before_s", "5"), c.get("change.nice", "0"),
                      "" if c.get("change.cpus", "any") == "any" else
                      "; dnsrouted on CPU %s" % c.get("change.cpus"),
                      "" if c.get("change.budget", "default") == "default" else
                      "; change-cpu-budget %s" % c.get("change.budget")))
        def ratios_of(name, key):
            """The rounds' during/before p99 ratios of one kind of result
            (result: dnsperf's; probe: latprobe's), failed queries, and the
            worst window before against their median (the rig's noise)."""
            rs, fl, noise = [], 0, []
            for k in sorted(k for k in c if k.startswith("change.%s.%s." % (name, key))):
                res = fields(c.get(k))
                pb, pd = res.get("p99_before"), res.get("p99_during")
                fl += int(res.get("failed") or 0)
                if pb and pd is not None:
                    rs.append(pd / pb)
                if pb and res.get("p99_before_max") is not None:
                    noise.append(res["p99_before_max"] / pb)
            return rs, fl, noise

        def span(rs):
            return "-" if not rs else "%.2fx (%.2f-%.2fx, %d rounds)" % (median(rs), min(rs), max(rs), len(rs))

        def loo_of(name, key):
            """The same-run control of a kind's rounds (window's loo): each
            window before its change against the median of the others."""
            rs = []
            for k in c:
                if k.startswith("change.%s.%s." % (name, key)):
                    p = (c.get(k) or "").split()
                    for i in range(len(p) - 1):
                        if p[i] == "loo" and p[i + 1] != "-":
                            rs += [float(x) for x in p[i + 1].split(",")]
            return rs

        def spread(rs):
            """median (10th-90th percentile, n)."""
            if not rs:
                return "-"
            return "%.2fx (%.2f-%.2fx, %d windows)" % (median(rs), nearest_rank(rs, 0.1),
                                                      nearest_rank(rs, 0.9), len(rs))

        # The control (no change) beside every ratio: what the rig gives
        # with nothing happening, measured the same way.
        ctrl, _, _ = ratios_of("none", "result")
        ctrl_p, _, _ = ratios_of("none", "probe")
        for name, what in (("replace", "--replace by 10,000 other routes (back and forth)"),
                           ("batch", "a batch of 10,000 more routes"),
                           ("drain", "100 backend drain + undrain pairs (one control connection)"),
                           ("draincold", "the same through a ctlpipe.py started in the window"),
                           ("drainp", "the same, paced (a command every SCALE_CTL_GAP_MS)"),
                           ("drainidle", "the same paced, of a backend no route's pool has"),
                           ("show", "200 show settings, paced (no change: a round trip each)"),
                           ("noneforks", "no change, with a sleep, a date and a subshell started in the window"),
                           ("none", "no change (the control: a 1 s pause in its place)")):
            rounds = sorted(k.rsplit(".", 1)[1] for k in c if k.startswith("change.%s.result." % name))
            ratios, fl, noise = ratios_of(name, "result")
            pr, pfl, _ = ratios_of(name, "probe")
            runs = []
            for r in rounds:
                res = fields(c.get("change.%s.result.%s" % (name, r)))
                win = (c.get("change.%s.window.%s" % (name, r)) or "").split()
                pb, pd = res.get("p99_before"), res.get("p99_during")
                runs.append("%s s: %s/%s us" % ("-" if len(win) != 2 else "%.2f" % (float(win[1]) - float(win[0])),
                                                 "-" if pd is None else "%.0f" % pd, "-" if pb is None else "%.0f" % pb))
            if not rounds:
                continue
            m = median(ratios)
            check(None if m is None or name == "none" else (fl + pfl == 0 and m <= 2),
                  "%s: %d failed (probe %d); p99 during/before, dnsperf %s, no change %s; probe %s, "
                  "no change %s%s; dnsperf's worst window before/median with no change %s; "
                  "during/before us: %s"
                  % (what, fl, pfl, span(ratios), span(ctrl), span(pr), span(ctrl_p),
                     "" if name == "none" else " (target: 0 failed, <= 2x)",
                     "-" if not noise else "%.2fx" % median(noise), ", ".join(runs)))
            # Each window before the change against the others, in the
            # same runs: what one window's p99 gives with no change, at
            # this change's window length, under the same load.
            check(None, "  %s: same-run control, a window before against the median of the others: "
                  "dnsperf %s; probe %s" % (name, spread(loo_of(name, "result")), spread(loo_of(name, "probe"))))
            # What causes it, measured directly: the router's own CPU for
            # the change (main thread, and the others but the worker's:
            # the bulk thread, the prefilter's), and how long the worker
            # waited for a CPU, a second, during the change against the
            # 2 s before it.
            cost, waits, work, per, client, paced = [], [], [], [], [], []
            for r in rounds:
                # The change budget (show stats pace-*; '-' from a
                # router without it): waits, ms waited, CPU ms charged.
                pc = fields(c.get("change.%s.paced.%s" % (name, r)))
                if pc.get("pace_waits") is not None:
                    paced.append("%d/%d/%d" % (pc["pace_waits"], pc.get("pace_waited_ms") or 0,
                                               pc.get("pace_cpu_ms") or 0))
                th = fields(c.get("change.%s.threads.%s" % (name, r)))
                bf = fields(c.get("change.%s.before.%s" % (name, r)))
                af = fields(c.get("change.%s.after.%s" % (name, r)))
                win = (c.get("change.%s.window.%s" % (name, r)) or "").split()
                if th.get("main_cpu_ms") is None or len(win) != 2:
                    continue
                secs = max(float(win[1]) - float(win[0]), 1e-3)
                cost.append("%.0f+%.0f" % (th["main_cpu_ms"], th.get("other_cpu_ms") or 0))
                if th.get("client_cpu_ms") is not None:
                    client.append("%.0f" % th["client_cpu_ms"])
                if bf.get("worker_wait_ms") is not None:
                    waits.append("%.0f/%.0f" % (th["worker_wait_ms"] / secs, bf["worker_wait_ms"] / 2))
                # How long the worker waited each time it woke up (for
                # a query, mostly): what a change's CPU adds to a query.
                if th.get("worker_runs") and bf.get("worker_runs"):
                    per.append("%.0f/%.0f" % (th["worker_wait_ms"] * 1e3 / th["worker_runs"],
                                              bf["worker_wait_ms"] * 1e3 / bf["worker_runs"]))
                # The worker's own CPU a second (the load is paced, so
                # the same queries a second throughout): more after the
                # change than before would be work a new table gives it.
                if bf.get("worker_cpu_ms") is not None and af.get("worker_cpu_ms") is not None:
                    work.append("%.0f/%.0f/%.0f" % (bf["worker_cpu_ms"] / 2, th["worker_cpu_ms"] / secs,
                                                    af["worker_cpu_ms"] / 2))
            if cost:
                check(None, "  %s: router CPU for it, main+other threads ms: %s; its client's CPU ms: %s; "
                      "the worker's wait for a CPU, "
                      "ms a second, during/before: %s; its mean wait a wake-up, us, during/before: %s; "
                      "the worker's CPU, ms a second, before/during/the 2 s after: %s; "
                      "paced (change-cpu-budget), waits/ms waited/CPU ms charged: %s; load %s"
                      % (name, ", ".join(cost), ", ".join(client) or "-", ", ".join(waits) or "-",
                         ", ".join(per) or "-",
                         ", ".join(work) or "-", ", ".join(paced) or "-",
                         ", ".join(str(fields(c.get("change.%s.threads.%s" % (name, r))).get("load"))
                                   for r in rounds)))
            held = sched_holders(raw, name)
            if held:
                tot = sum(held.values())
                check(None, "  %s: who held the CPU while the query path (worker, dnsperf, probe, NSD) "
                      "waited > 0.5 ms for one during the change (SCALE_SCHED, all rounds, %.0f ms): %s"
                      % (name, tot, ", ".join("%s %.0f%%" % (w, 100 * ms / tot)
                                              for w, ms in held.most_common(8))))
    if "health.cpu_pct" in c:
        out.append("Health checks at scale (every backend at the NSD's address, TCP checks):")
        f = g("health.first_failed")
        check(None if f is None else f == 0, "2,500 backends added at once: %s first checks failed "
              "(target 0), all up %s s after the batch began" % (c.get("health.first_failed"),
                                                                  c.get("health.first_up_s")))
        p = g("health.cpu_pct")
        check(None if p is None else p <= 5, "1,000 backends checked every second: %s%% of one core "
              "(checks and history writes; target <= 5%%)" % c.get("health.cpu_pct"))
        lat = fields(c.get("health.ctl"))
        mx = lat.get("max_ms")
        check(None if mx is None else (mx < 100 and g("health.ctl_failed") == 0),
              "meanwhile dnsroutectl -c (process start included; a drain and an undrain among them): "
              "%s commands, p50 %s ms, p99 %s ms, max %s ms (target < 100)"
              % (c.get("health.ctl", "").split()[1] if c.get("health.ctl") else "-", lat.get("p50_ms"),
                 lat.get("p99_ms"), mx))
    if "scale.seconds" in c:
        out.append("  (these measurements took %s s)" % c.get("scale.seconds"))
    return "\n".join(out)


def main(argv):
    if len(argv) >= 3 and argv[1] == "p99":
        print(p99(argv[2]))
    elif len(argv) >= 3 and argv[1] == "table":
        print(table(argv[2]))
    elif len(argv) >= 3 and argv[1] == "config":
        print(config(argv[2]))
    elif len(argv) >= 3 and argv[1] == "targets":
        print(targets(argv[2]))
    elif len(argv) >= 6 and argv[1] == "window":
        print(window(argv[2], argv[3], argv[4], argv[5]))
    elif len(argv) >= 5 and argv[1] == "probe":
        print(probe(argv[2], argv[3], argv[4]))
    elif len(argv) >= 3 and argv[1] == "latencies":
        print(latencies(argv[2]))
    elif len(argv) >= 3 and argv[1] == "scale":
        print(scale(argv[2]))
    else:
        sys.exit("usage: report.py p99 FILE | table|config|targets|scale RAWDIR | window FILE T0 T1 QPS"
                 " | latencies FILE")


if __name__ == "__main__":
    main(sys.argv)
