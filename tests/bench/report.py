#!/usr/bin/python3
"""report.py: the numbers of the dnsroute benchmark (standard library only).

    report.py p99 FILE        99th percentile (µs) of the per-query latencies that
                              `dnsperf -v` printed to FILE ('> RCODE NAME TYPE SECONDS')
    report.py table RAWDIR    the results table, from RAWDIR/meta, RAWDIR/runs.tsv
                              and the dnsperf outputs beside them
    report.py config RAWDIR   the configuration figures (RAWDIR/config.tsv)
    report.py targets RAWDIR  the targets of issue 6 against this run

runs.tsv, one line a dnsperf run, tab-separated:
    scenario proto routes threads target load file cpu_ticks rss_kb p99_us
(target: nsd | floor | dnsrouted | dnsdist; load: max | 10k; cpu_ticks of the
relay process, or for nsd of its main process and its forked children; rss_kb
of the relay process, '-' for nsd; p99_us '-' when not measured).

floor is tests/bench/floor_relay, the least a userspace relay can do (UDP:
recvmmsg/sendmmsg; TCP: a byte pipe); it runs in the scenarios with one
thread only.  The table gives the relays' (dnsrouted's, dnsdist's) qps and
CPU per query as ratios to it, and the targets its figure beside the
router's, so a miss can be read against what any relay costs on the same
machine in the same run.
"""
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
        return g[0]
    d = dict(g[0])
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

    # The UDP targets restated against the floor relay of the same run, the
    # form that can hold on a machine where the floor itself misses the
    # absolute ones: what the router costs on top of any relay.
    fl_out = []
    r = get("udp", 1, 1, "dnsrouted", "max")
    f = get("udp", 1, 1, "floor", "max")
    if r and f and r["cpu"] and f["cpu"]:
        fl_out.append("  [%s] router CPU %.2f us/query = %.2f x the floor's %.2f (<= 1.25)"
                      % ("ok" if r["cpu"] <= 1.25 * f["cpu"] else "MISS", r["cpu"], r["cpu"] / f["cpu"], f["cpu"]))
    if r and f and r["qps"] and f["qps"]:
        fl_out.append("  [%s] %.0f qps = %.0f%% of the floor's %.0f (>= 90%%)"
                      % ("ok" if r["qps"] >= 0.9 * f["qps"] else "MISS", r["qps"], 100 * r["qps"] / f["qps"],
                         f["qps"]))
    r = get("udp", 1, 1, "dnsrouted", "10k")
    f = get("udp", 1, 1, "floor", "10k")
    if r and f and r["avg"] is not None and f["avg"] is not None:
        fl_out.append("  [%s] at 10k qps: average latency %+.0f us over the floor's (<= 10)"
                      % ("ok" if r["avg"] - f["avg"] <= 10 else "MISS", r["avg"] - f["avg"]))
    if fl_out:
        out.append("UDP, 1 route, 1 worker, against the floor relay (proposed restatement of the three UDP targets):")
        out += fl_out
    # And TCP's CPU target: the router multiplexes clients onto a few
    # backend connections, parses and re-IDs every message; the floor only
    # pipes bytes.
    fl_out = []
    for routes in (1, 10000):
        r = get("tcp", routes, 1, "dnsrouted", "max")
        f = get("tcp", routes, 1, "floor", "max")
        if r and f and r["cpu"] and f["cpu"]:
            fl_out.append("  [%s] %d route(s): router CPU %.2f us/query = %.2f x the floor's %.2f (<= 1.25)"
                          % ("ok" if r["cpu"] <= 1.25 * f["cpu"] else "MISS", routes, r["cpu"], r["cpu"] / f["cpu"],
                             f["cpu"]))
    if fl_out:
        out.append("TCP, 1 worker, against the floor relay (proposed restatement of the TCP CPU target):")
        out += fl_out
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
    else:
        sys.exit("usage: report.py p99 FILE | table|config|targets RAWDIR")


if __name__ == "__main__":
    main(sys.argv)
