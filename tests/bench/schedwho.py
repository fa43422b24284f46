#!/usr/bin/python3
"""schedwho.py FILE T0 T1 PID: who held the CPU while the query path waited
for one, from a `perf sched record -k CLOCK_MONOTONIC` FILE (scale.sh's
change part records one a change with SCALE_SCHED=1).

T0, T1: the change's start and end (CLOCK_MONOTONIC seconds); PID:
dnsrouted's.  The victims are the threads a query waits on: dnsrouted's
worker (its thread other than the main one with the most CPU in the
trace), dnsperf's threads, latprobe and NSD.  For each of their wake-ups, the
scheduling delay (woken to running); for each delay over 0.5 ms, the
tasks that ran on that CPU meanwhile, by the time they held it.  Printed
for the 2 s before the change and for the change itself:

    SPAN VICTIM wakeups N p99_delay_us X max_delay_us X late N late_ms X
        holders: TASK MS, ...

dnsrouted's threads are named main, worker or other; kernel threads by
their kind (kworker, ksoftirqd, jbd2...).  Standard library only; runs
`perf sched timehist`.
"""
import collections
import math
import re
import subprocess
import sys

LATE = 0.0005

LINE = re.compile(r"^\s*(\d+\.\d+)\s+\[(\d+)\]\s+(.+?)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s*$")
TASK = re.compile(r"^(.*)\[(\d+)(?:/(\d+))?\]$")


def label(task, pid, worker):
    m = TASK.match(task)
    if not m:
        return task
    comm, tid = m.group(1), int(m.group(2))
    tgid = int(m.group(3) or tid)
    if tgid == pid:
        return "dnsrouted-" + ("main" if tid == pid else "worker" if tid == worker else "other")
    comm = re.sub(r"[/:].*$", "", comm)
    return comm


def main(argv):
    if len(argv) != 5:
        sys.exit("usage: schedwho.py FILE T0 T1 PID")
    path, t0, t1, pid = argv[1], float(argv[2]), float(argv[3]), int(argv[4])
    out = subprocess.run(["perf", "sched", "timehist", "-i", path],
                         capture_output=True, text=True).stdout
    ev = []
    runtime = collections.Counter()
    for line in out.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        t, cpu, task = float(m.group(1)), int(m.group(2)), m.group(3).strip()
        delay, run = float(m.group(5)) / 1e3, float(m.group(6)) / 1e3
        ev.append((t, cpu, task, delay, run))
        tm = TASK.match(task)
        if tm and int(tm.group(3) or tm.group(2)) == pid and int(tm.group(2)) != pid:
            runtime[int(tm.group(2))] += run
    worker = runtime.most_common(1)[0][0] if runtime else -1
    # What ran on each CPU, and when.
    oncpu = collections.defaultdict(list)
    for t, cpu, task, delay, run in ev:
        oncpu[cpu].append((t - run, t, label(task, pid, worker)))
    spans = (("before", t0 - 2.0, t0), ("during", t0, t1))
    for name, a, b in spans:
        per = collections.defaultdict(list)
        held = collections.defaultdict(collections.Counter)
        for t, cpu, task, delay, run in ev:
            lab = label(task, pid, worker)
            if lab not in ("dnsrouted-worker", "dnsperf", "latprobe", "nsd"):
                continue
            start = t - run
            if not a <= start < b:
                continue
            per[lab].append(delay)
            if delay <= LATE:
                continue
            woke = start - delay
            for s, e, who in oncpu[cpu]:
                ov = min(e, start) - max(s, woke)
                if ov > 0 and e > woke:
                    held[lab][who] += ov
        for lab in sorted(per):
            ds = sorted(per[lab])
            late = [d for d in ds if d > LATE]
            p99 = ds[max(0, math.ceil(0.99 * len(ds)) - 1)]
            print("%s %s wakeups %d p99_delay_us %.0f max_delay_us %.0f late %d late_ms %.1f"
                  % (name, lab, len(ds), p99 * 1e6, ds[-1] * 1e6, len(late), sum(late) * 1e3))
            if held[lab]:
                print("    holders: " + ", ".join("%s %.1f" % (w, s * 1e3)
                                                  for w, s in held[lab].most_common(8)))


if __name__ == "__main__":
    main(sys.argv)
