#!/usr/bin/python3
"""ctlpipe.py SOCKET: the commands on standard input, one a line, sent one
after the other over ONE control connection, each after the reply to the
one before (a round trip each, as a person at the shell; not a batch: no
transaction, no pipelining).  Exit 1 at the first reply whose final code
is an error (ctlproto.h: 8000 and up), or when the daemon goes away.

scale.sh's change part runs its 100 drain/undrain pairs through it: 200
dnsroutectl processes (a fork and exec each, ~8 ms of CPU on the CPUs the
load shares) were the rig's cost, not the router's.  Standard library only.
"""
import socket
import sys


def reply(f):
    """Read one reply; its final line's code."""
    while True:
        line = f.readline()
        if not line:
            sys.exit("ctlpipe: the daemon closed the connection")
        if len(line) >= 5 and line[:4].isdigit() and line[4:5] == " ":
            return int(line[:4]), line[5:].rstrip("\n")


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: ctlpipe.py SOCKET <commands")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(argv[1])
    f = s.makefile("r", encoding="utf-8", errors="replace")
    code, text = reply(f)
    if code != 1:
        sys.exit("ctlpipe: no greeting: %s" % text)
    n = 0
    for cmd in sys.stdin:
        cmd = cmd.strip()
        if not cmd:
            continue
        s.sendall((cmd + "\n").encode())
        code, text = reply(f)
        if code >= 8000:
            sys.exit("ctlpipe: %s: %d %s" % (cmd, code, text))
        n += 1
    print("%d commands" % n)


if __name__ == "__main__":
    main(sys.argv)
