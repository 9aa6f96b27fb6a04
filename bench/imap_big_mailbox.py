#!/usr/bin/env python3
"""How Gannet's IMAP handles one big mailbox: 100,000 messages (--messages)
put in with MULTIAPPEND, then the time of SELECT, EXAMINE (CONDSTORE),
UID FETCH 1:* (FLAGS), UID SEARCH on flags and dates, a QRESYNC SELECT,
and the worker's RSS. Loopback only; starts build/gannet (or $GANNET) in a
temp dir. The issue's target: a mailbox of 100,000 opens in well under a
second."""
import argparse
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
os.environ.setdefault("GANNET", os.path.join(os.path.dirname(__file__), "..", "build", "gannet"))
from harness import Gannet, free_port, rss_kib  # noqa: E402


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=600)
        self.f = self.sock.makefile("rb")
        self.f.readline()
        self.n = 0

    def cmd(self, text):
        """Sends a command; returns its lines (literals read whole) and seconds."""
        self.n += 1
        tag = b"c%d" % self.n
        start = time.monotonic()
        self.sock.sendall(tag + b" " + text + b"\r\n")
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                raise ConnectionError("closed")
            if line.endswith(b"}\r\n") and b"{" in line:
                size = int(line[line.rindex(b"{") + 1:-3].rstrip(b"+"))
                line += self.f.read(size)
            lines.append(line)
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(line.decode(errors="replace"))
                return lines, time.monotonic() - start


def message(i):
    return (b"From: sender%d@example.net\r\nTo: alice@example.test\r\nSubject: message number %d\r\n"
            b"Date: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <%d@example.net>\r\n\r\n"
            b"Body of message %d, a line or two of text.\r\n" % (i, i, i, i))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=2000, help="messages per MULTIAPPEND")
    args = ap.parse_args()
    port = free_port()
    g = Gannet(f"mail {{ server {{ listen 127.0.0.1:{port}; protocol imap; imap_auth_plaintext on; }} }}",
               workers=1)
    ctl = os.path.join(os.path.dirname(os.environ["GANNET"]), "gannetctl")
    g.start()
    try:
        for a in (["domain", "add", "example.test"], ["user", "add", "alice@example.test", "--password-stdin"]):
            subprocess.run([ctl, "-c", g.conf, *a], input="pw\n", text=True, check=True, capture_output=True)
        c = Client(port)
        c.cmd(b"LOGIN alice@example.test pw")
        start = time.monotonic()
        for first in range(0, args.messages, args.batch):
            parts = []
            for i in range(first, min(args.messages, first + args.batch)):
                m = message(i)
                flags = b"(\\Seen) " if i % 3 else b""
                parts.append(flags + b"{%d+}\r\n" % len(m) + m)
            c.cmd(b"APPEND INBOX " + b" ".join(parts))
        fill = time.monotonic() - start
        (worker,) = g.worker_pids()
        print(f"filled {args.messages} messages in {fill:.1f} s ({args.messages / fill:,.0f} msg/s, "
              f"MULTIAPPEND of {args.batch})")
        c.cmd(b"ENABLE QRESYNC")
        results = []
        lines, t = c.cmd(b"SELECT INBOX")
        validity = next(l for l in lines if b"UIDVALIDITY" in l).split()[3].rstrip(b"]")
        highest = int(next(l for l in lines if b"HIGHESTMODSEQ" in l).split()[3].rstrip(b"]"))
        results.append(("SELECT INBOX", t, len(lines)))
        results.append(("EXAMINE INBOX (CONDSTORE)", *reversed_pair(c.cmd(b"EXAMINE INBOX (CONDSTORE)"))))
        c.cmd(b"SELECT INBOX")
        results.append(("UID FETCH 1:* (FLAGS)", *reversed_pair(c.cmd(b"UID FETCH 1:* (FLAGS)"))))
        results.append(("UID SEARCH UNSEEN", *reversed_pair(c.cmd(b"UID SEARCH UNSEEN"))))
        results.append(("UID SEARCH SINCE 1-Dec-2026 FLAGGED", *reversed_pair(c.cmd(b"UID SEARCH SINCE 1-Dec-2026 FLAGGED"))))
        c.cmd(b"UID STORE 1:100 +FLAGS (\\Flagged)")
        c.cmd(b"UID STORE 101:110 +FLAGS (\\Deleted)")
        c.cmd(b"EXPUNGE")
        results.append(("SELECT (QRESYNC) after 110 changes",
                        *reversed_pair(c.cmd(b"SELECT INBOX (QRESYNC (%s %d))" % (validity, highest)))))
        print(f"\n{'command':42} {'seconds':>8} {'lines':>8}")
        for name, secs, n in results:
            print(f"{name:42} {secs:8.3f} {n:8d}")
        print(f"\nworker RSS with the mailbox selected: {rss_kib(worker) / 1024:.1f} MiB")
        ok = results[0][1] < 1.0
        print(f"target: SELECT of {args.messages} under 1 s: {'PASS' if ok else 'OVER'} ({results[0][1]:.3f} s)")
    finally:
        g.stop()


def reversed_pair(lines_and_time):
    lines, t = lines_and_time
    return t, len(lines)


if __name__ == "__main__":
    main()
