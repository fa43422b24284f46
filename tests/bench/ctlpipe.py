#!/usr/bin/python3
"""ctlpipe.py [-w] SOCKET [GAP_MS]: the commands on standard input, one a
line, sent one after the other over ONE control connection, each after the
reply to the one before (a round trip each, as a person at the shell; not
a batch: no transaction, no pipelining).  With GAP_MS, command i is sent
no earlier than i * GAP_MS after the first (a fixed schedule: a slow reply
does not move the next ones), so that kinds of command that cost the
router very different amounts run over windows of the same length.  Exit
1 at the first reply whose final code is an error (ctlproto.h: 8000 and
up), or when the daemon goes away.

-w: read all the commands and connect first, print "ready", and send
the first one only at SIGUSR1: the interpreter's start-up (50-60 ms of
CPU) is then not in the window a measurement cuts from the signal to
the exit.  At the end it prints "N commands, CPU_MS ms of CPU" (its CPU
from the signal on).

scale.sh's change part runs its drain/undrain pairs (and the other kinds
of command it compares them with) through it: 200 dnsroutectl processes
(a fork and exec each, ~8 ms of CPU on the CPUs the load shares) were the
rig's cost, not the router's.  Standard library only.
"""
import ctypes
import signal
import socket
import sys
import time


def reply(f):
    """Read one reply; its final line's code."""
    while True:
        line = f.readline()
        if not line:
            sys.exit("ctlpipe: the daemon closed the connection")
        if len(line) >= 5 and line[:4].isdigit() and line[4:5] == " ":
            return int(line[:4]), line[5:].rstrip("\n")


def main(argv):
    wait = len(argv) > 1 and argv[1] == "-w"
    try:
        # Its own name, not "python3", in a scheduler trace (schedwho.py).
        ctypes.CDLL(None).prctl(15, b"ctlpipe", 0, 0, 0)	# PR_SET_NAME
    except (OSError, AttributeError):
        pass
    if wait:
        # Blocked from the start: a signal sent before sigwait stays
        # pending, not lost.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        argv = argv[:1] + argv[2:]
    if len(argv) not in (2, 3):
        sys.exit("usage: ctlpipe.py [-w] SOCKET [GAP_MS] <commands")
    gap = float(argv[2]) / 1e3 if len(argv) == 3 else 0.0
    cmds = sys.stdin if not wait else [c for c in sys.stdin]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(argv[1])
    f = s.makefile("r", encoding="utf-8", errors="replace")
    code, text = reply(f)
    if code != 1:
        sys.exit("ctlpipe: no greeting: %s" % text)
    if wait:
        print("ready", flush=True)
        signal.sigwait({signal.SIGUSR1})
    cpu0 = time.process_time()
    n = 0
    start = time.monotonic()
    for cmd in cmds:
        cmd = cmd.strip()
        if not cmd:
            continue
        if gap > 0:
            pause = start + n * gap - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        s.sendall((cmd + "\n").encode())
        code, text = reply(f)
        if code >= 8000:
            sys.exit("ctlpipe: %s: %d %s" % (cmd, code, text))
        n += 1
    print("%d commands, %.0f ms of CPU" % (n, (time.process_time() - cpu0) * 1e3))


if __name__ == "__main__":
    main(sys.argv)
