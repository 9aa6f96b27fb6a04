#!/usr/bin/env python3
"""POP3 benchmark: RETR throughput, Gannet against Dovecot's POP3, in one run.

Both servers on loopback, in plaintext, with the same users (u0..uN-1 at
example.test) and the same maildrops, filled over IMAP APPEND: each INBOX
holds SMALL messages of 4 KiB (text, every 50th line beginning with a dot, so
byte-stuffing is exercised) and LARGE of 1 MiB (a short text part, dotted
lines too, and a base64 attachment, as big mail is). build/bench/pop3_load (C++, a
thread a client) then RETRs them for a fixed window: one client, then 50,
each on its own maildrop (a POP3 maildrop has one session at a time), for
4 KiB and for 1 MiB messages. Each measurement is a pair, Gannet and Dovecot
back to back, who goes first alternating; it prints messages/s, MiB/s and
the ratio against the target of 3x. Every RETR is checked (octets as LIST
said, after un-stuffing).

The ceiling is measured in the same run: build/bench/pop3_sink answers the
same commands with messages it made once in memory, a thread a connection,
storing nothing; what pop3_load gets from it is what this machine's two
cores, its loopback and the client allow. Where 3x Dovecot is above that,
the target cannot be shown here, and the table says so.

Dovecot runs as idle_connections.py starts it: unprivileged, passwd-file,
Maildir, high-performance login processes, mail_fsync optimized.

Then memory: SESSIONS idle authenticated sessions (USER, PASS, +OK), each
its own user (a maildrop has one session at a time), on a freshly started
server; KiB a session = (PSS after - PSS before) / SESSIONS, over the
workers (Gannet) or the whole process tree (Dovecot, DOVECOT_SESSIONS of
them). Gannet's users come in by `gannetctl import passwd-file` with the
argon2id hash `export passwd-file` gave for u0: a login still costs one
argon2id check (19 MiB, 2 passes), so 10,000 take a few minutes.

A benchmark, not a test: exits 0 whatever the ratios, 1 on errors.
"""
from __future__ import annotations

import argparse
import imaplib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imap_bench as B  # noqa: E402
from idle_connections import (HOST, BenchError, Conn, Dovecot, Step, close_all, drive, free_port,  # noqa: E402
                              make_cert, memory_kib, raise_nofile)

LOAD = os.path.join(B.ROOT, "build", "bench", "pop3_load")
SINK = os.path.join(B.ROOT, "build", "bench", "pop3_sink")
DOMAIN = "example.test"
USER_FORMAT = "u%d@" + DOMAIN
IDLE_FORMAT = "m%d@" + DOMAIN  # the users of the idle sessions: no mail
TARGET_KIB = 16                # per idle authenticated session (the issue)
PASSWORD = "bench-pop3-pw"
TARGET_RATIO = 3.0
SIZES = {"4 KiB": 4096, "1 MiB": 1 << 20}


def text_lines(i: int, count: int) -> list[str]:
    """Body text; every 50th line (from the 8th) begins with a dot."""
    return [". a line that a POP3 server must stuff" if line % 50 == 7 else
            f"line {line} of message {i}: the quick brown fox jumps over the lazy dog" for line in range(count)]


def make_message(i: int, size: int) -> bytes:
    """A message of exactly `size` octets (CRLF lines): text up to 4 KiB;
    bigger, as big mail is, a short text part and a base64 attachment."""
    head = (f"From: sender{i}@example.net\r\nTo: {USER_FORMAT}\r\nSubject: pop3 bench {i} ({size} octets)\r\n"
            f"Message-ID: <pop3-bench-{i}-{size}@example.net>\r\nDate: Tue, 08 Dec 2026 00:00:00 +0000\r\n")
    if size <= 4096:
        lines, filler, tail = [head] + text_lines(i, size // 70), "x", ""
        lines.insert(1, "")  # the blank line after the header
    else:
        lines = [head + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b", "", "--b",
                 "Content-Type: text/plain", "", *text_lines(i, 30), "--b",
                 "Content-Type: application/octet-stream", "Content-Transfer-Encoding: base64", ""]
        filler, tail = "QUJD", "--b--\r\n"
    msg = "".join(line + "\r\n" for line in lines)
    while len(msg) + len(tail) < size:  # fill to the octet: lines of 76 and a shorter last one
        room = size - len(msg) - len(tail) - 2
        line = (filler * 76)[:min(76, room if room > 78 or room <= 76 else room - 3)]
        msg += line + "\r\n"
    msg = (msg + tail).encode()
    if len(msg) != size:
        raise BenchError(f"message {i}: {len(msg)} octets, not {size}")
    return msg


def populate(port: int, users: int, messages: list[bytes]) -> float:
    """APPENDs the messages to every user's INBOX over IMAP."""
    t0 = time.monotonic()
    for u in range(users):
        imap = imaplib.IMAP4(HOST, port, timeout=120)
        try:
            imap.login(USER_FORMAT % u, PASSWORD)
            for m in messages:
                typ, data = imap.append("INBOX", None, None, m)
                if typ != "OK":
                    raise BenchError(f"APPEND for {USER_FORMAT % u}: {data}")
        finally:
            imap.logout()
    return time.monotonic() - t0


def run_load(port: int, clients: int, size: int, args) -> tuple[float, float, float]:
    """messages/s, MiB/s and the client's CPU cores over the window."""
    r = subprocess.run([LOAD, str(port), USER_FORMAT, PASSWORD, str(clients), str(size), str(size),
                        str(args.warmup), str(args.seconds)], capture_output=True, text=True,
                       timeout=args.warmup + args.seconds + 120)
    if r.returncode != 0:
        raise BenchError(f"pop3_load failed ({r.returncode}): {r.stderr.strip()}{r.stdout.strip()}")
    out = dict(line.split("\t") for line in r.stdout.splitlines())
    return (int(out["messages"]) / args.seconds, int(out["octets"]) / args.seconds / (1 << 20),
            float(out["client_cpu"]) / args.seconds)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", default="1,50", help="client counts, comma-separated (default 1,50)")
    p.add_argument("--small", type=int, default=20, help="4 KiB messages in each maildrop (default 20)")
    p.add_argument("--large", type=int, default=3, help="1 MiB messages in each maildrop (default 3)")
    p.add_argument("--seconds", type=float, default=8, help="measured window of each run (default 8)")
    p.add_argument("--warmup", type=float, default=1, help="seconds of RETR before the window (default 1)")
    p.add_argument("--rounds", type=int, default=2, help="pairs of runs for each case (default 2)")
    p.add_argument("--workers", type=int, default=2, help="gannet worker_processes (default 2)")
    p.add_argument("--sessions", type=int, default=10_000, help="idle sessions on Gannet (default 10000; 0 skips)")
    p.add_argument("--dovecot-sessions", type=int, default=500, help="idle sessions on Dovecot (default 500)")
    p.add_argument("--warmup-sessions", type=int, default=32, help="sessions opened and closed first (default 32)")
    p.add_argument("--window", type=int, default=256, help="logins in flight at once (default 256)")
    p.add_argument("--settle", type=float, default=2.0, help="seconds to wait before reading memory (default 2)")
    p.add_argument("--login-timeout", type=float, default=900, help="bound on opening the sessions, s (default 900)")
    p.add_argument("--gannet", default=os.environ.get("GANNET", os.path.join(B.ROOT, "build", "gannet")))
    p.add_argument("--keep", action="store_true", help="keep the temp directory")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    args.gannet = os.path.abspath(args.gannet)
    args.clients = [int(c) for c in args.clients.split(",")]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    for tool in (LOAD, SINK):
        if not os.path.exists(tool):
            print(f"error: {tool} is missing: ninja -C build", file=sys.stderr)
            return 2
    tmp = tempfile.mkdtemp(prefix="gannet-pop3-bench-")
    os.chmod(tmp, 0o755)  # Gannet's workers and Dovecot run as other users below it
    try:
        B.ensure_dovecot()
        if not B.snapshot_gannet(args, tmp):
            raise BenchError(f"no usable {args.gannet}")
        return run(args, tmp)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"files kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def login_steps(user: str) -> list[Step]:
    return [Step(b"", b"+OK"), Step(f"USER {user}\r\n".encode(), b"+OK"), Step(f"PASS {PASSWORD}\r\n".encode(), b"+OK")]


def tree_memory(server) -> dict[str, int]:
    """PSS and RSS (KiB) of the server's processes: Gannet's workers (its
    master holds no session), Dovecot's whole tree."""
    pids = B.tree(server.proc.pid)
    return memory_kib(pids if isinstance(server, B.Gannet) else [server.proc.pid, *pids])


def measure_idle(name: str, server, port: int, count: int, args) -> float:
    """KiB of PSS a session with `count` idle authenticated sessions open."""
    deadline = time.monotonic() + args.login_timeout
    warm = drive(lambda i: Conn(port, None, login_steps(IDLE_FORMAT % i)), args.warmup_sessions, args.window, deadline)
    close_all(warm.conns)
    if warm.failed:
        raise BenchError(f"{name}: warm-up logins failed: {warm.first_error}")
    time.sleep(args.settle)
    before = tree_memory(server)
    first = args.warmup_sessions  # other users: the warm-up's maildrop locks may not be gone yet
    run = drive(lambda i: Conn(port, None, login_steps(IDLE_FORMAT % (first + i))), count, args.window, deadline)
    try:
        if run.failed:
            raise BenchError(f"{name}: {run.failed} of {count} logins failed: {run.first_error}")
        time.sleep(args.settle)
        after = tree_memory(server)
        alive = drive(lambda i: (run.conns[i].queue([Step(b"NOOP\r\n", b"+OK")]), run.conns[i])[1],
                      min(50, count), args.window, time.monotonic() + 60)
        if alive.failed:
            raise BenchError(f"{name}: idle sessions did not answer NOOP: {alive.first_error}")
    finally:
        close_all(run.conns)
    kib = (after["Pss"] - before["Pss"]) / count
    print(f"  {name}: {count} sessions logged in in {run.seconds:.0f}s ({count / run.seconds:.0f}/s); PSS "
          f"{before['Pss']} -> {after['Pss']} KiB, RSS {before['Rss']} -> {after['Rss']} KiB: {kib:.2f} KiB/session",
          flush=True)
    return kib


def import_idle_users(gannet, count: int, tmp: str) -> None:
    """m0..m(count-1), with u0's argon2id hash, in one import."""
    hash_line = gannet.ctl("export", "passwd-file", DOMAIN).splitlines()[0]
    secret = hash_line.split(":", 1)[1]
    path = os.path.join(tmp, "idle-users")
    with open(path, "w") as f:
        f.writelines(f"{IDLE_FORMAT % i}:{secret}\n" for i in range(count))
    t0 = time.monotonic()
    gannet.ctl("import", "passwd-file", path)
    print(f"gannet: {count} users imported in {time.monotonic() - t0:.1f}s", flush=True)


def run(args, tmp: str) -> int:
    users = max(args.clients)
    idle_users = max(args.sessions, args.dovecot_sessions) + args.warmup_sessions
    # The client holds a socket a session; a worker a socket and a maildrop
    # lock, for its share of the sessions (half, and some, with 2 workers).
    raise_nofile(max(4 * users, idle_users * 3 // 2) + 1024)
    messages = ([make_message(i, SIZES["4 KiB"]) for i in range(args.small)]
                + [make_message(args.small + i, SIZES["1 MiB"]) for i in range(args.large)])
    gdir, ddir = os.path.join(tmp, "gannet"), os.path.join(tmp, "dovecot")
    os.makedirs(gdir)
    os.makedirs(ddir)
    cert = make_cert(gdir, "rsa", "rsa")
    gimap, gpop3, dimap, dpop3 = (free_port() for _ in range(4))
    gannet = B.Gannet(args.gannet, gdir, args.workers, gimap, free_port(), cert,
                      f"  server {{ listen {HOST}:{gpop3}; protocol pop3; pop3_auth_plaintext on; }}\n")
    for u in range(users):
        gannet.create_user(USER_FORMAT % u, PASSWORD)
    if args.sessions > 0:
        import_idle_users(gannet, idle_users, tmp)
    dovecot = Dovecot(ddir, dimap, max(users, args.dovecot_sessions + args.warmup_sessions) + 100, args.workers,
                      mail_fsync="optimized", pop3_port=dpop3,
                      logins=[(USER_FORMAT % u, PASSWORD) for u in range(users)]
                      + [(IDLE_FORMAT % u, PASSWORD) for u in range(args.dovecot_sessions + args.warmup_sessions)])
    servers = {"gannet": (gannet, gimap, gpop3), "dovecot": (dovecot, dimap, dpop3)}
    print(f"{time.strftime('%Y-%m-%d %H:%M')}: {users} users, each INBOX {args.small} x 4 KiB + "
          f"{args.large} x 1 MiB; {args.seconds:g} s a run, {args.rounds} rounds, {args.workers} workers", flush=True)
    for name, (server, imap_port, _) in servers.items():
        with server:
            print(f"{name}: filled in {populate(imap_port, users, messages):.1f}s over IMAP", flush=True)
    results = []
    with gannet, dovecot, Sink(free_port(), args.small, args.large) as sink:
        servers["sink"] = (sink, None, sink.port)
        for size_name, size in SIZES.items():
            for clients in args.clients:
                for r in range(args.rounds):
                    rates = {}
                    order = ["sink", "gannet", "dovecot"] if r % 2 == 0 else ["sink", "dovecot", "gannet"]
                    for name in order:
                        rates[name] = run_load(servers[name][2], clients, size, args)
                        msgs, mib, client = rates[name]
                        print(f"  {size_name} x {clients:2} clients, round {r + 1}, {name:8}: {msgs:9,.0f} messages/s "
                              f"{mib:8,.1f} MiB/s (client {client:.2f} cores)", flush=True)
                    results.append((size_name, clients, r + 1, rates["gannet"][0] / rates["dovecot"][0],
                                    rates["sink"][0] / rates["dovecot"][0]))
    memory = {}
    if args.sessions > 0:
        print("\nmemory per idle authenticated session, each server freshly started:", flush=True)
        for name, count in (("gannet", args.sessions), ("dovecot", args.dovecot_sessions)):
            if count > 0:
                with servers[name][0] as server:
                    memory[name] = measure_idle(name, server, servers[name][2], count, args)
    print("\nRETR, gannet/dovecot against the target of 3x; sink/dovecot is the most this machine can show:")
    for size_name, clients, r, ratio, ceiling in results:
        verdict = ("PASS" if ratio >= TARGET_RATIO else
                   "BELOW" if ceiling >= TARGET_RATIO else "BLOCKED (3x is above the ceiling)")
        print(f"  {size_name:6} {clients:3} clients round {r}: gannet/dovecot {ratio:5.2f}x, "
              f"sink/dovecot {ceiling:5.2f}x, gannet/sink {ratio / ceiling:4.2f}  {verdict}")
    if "gannet" in memory:
        kib = memory["gannet"]
        print(f"\nmemory: gannet {kib:.2f} KiB per idle authenticated session at {args.sessions} "
              f"(target <= {TARGET_KIB}): {'PASS' if kib <= TARGET_KIB else 'OVER'}"
              + (f"; dovecot {memory['dovecot']:.0f} KiB at {args.dovecot_sessions}, "
                 f"{memory['dovecot'] / kib:.0f}x" if "dovecot" in memory and kib > 0 else ""))
    return 0


class Sink:
    """build/bench/pop3_sink on a loopback port, for the ceiling."""

    def __init__(self, port: int, small: int, large: int):
        self.port, self.args = port, [SINK, str(port), str(small), str(large)]

    def __enter__(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            self.proc.kill()
            raise BenchError("pop3_sink did not start")
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


if __name__ == "__main__":
    sys.exit(main())
