#!/usr/bin/env python3
"""The IMAP command mix of imap_bench.py, Gannet against Dovecot, driven by
build/imap_load (C++, a thread a client) instead of the asyncio client,
which used more CPU than Gannet did and so held its rate down on two cores.
Same servers, same 1,000-message INBOX (imap_bench's Gannet and Dovecot
classes and its populate); each round is a pair, in turn first; prints
commands/s, the ratio, and who used the CPU (server, client, others).
Loopback only."""
import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imap_bench as B  # noqa: E402
from idle_connections import free_port, make_cert, raise_nofile  # noqa: E402

LOAD = os.path.join(B.ROOT, "build", "bench", "imap_load")


def run_load(server, port, args):
    cpu0, busy0 = B.server_cpu(server), B.machine_busy()
    r = subprocess.run([LOAD, str(port), B.USER, B.PASSWORD, str(args.messages), str(args.clients),
                        str(args.warmup), str(args.seconds)], capture_output=True, text=True,
                       timeout=args.warmup + args.seconds + 120)
    server_cpu, busy = B.cpu_used(cpu0, B.server_cpu(server)), B.machine_busy() - busy0
    if r.returncode != 0:
        raise B.BenchError(f"imap_load failed ({r.returncode}): {r.stderr}{r.stdout}")
    out = dict(line.split("\t") for line in r.stdout.splitlines())
    total, client = int(out["total"]), float(out["client_cpu"])
    # Server CPU was read over warm-up and window both: scaled to the window.
    scale = args.seconds / (args.warmup + args.seconds)
    return total / args.seconds, server_cpu * scale, client, out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    if not os.path.exists(LOAD):
        sys.exit(f"{LOAD} is missing: ninja -C build")
    B.ensure_dovecot()
    raise_nofile(1024)
    messages = B.make_messages(args.messages)
    with tempfile.TemporaryDirectory(prefix="gannet-imap-mix-") as tmp:
        os.chmod(tmp, 0o755)  # Gannet's workers and Dovecot run as other users below it
        gdir, ddir = os.path.join(tmp, "gannet"), os.path.join(tmp, "dovecot")
        os.makedirs(gdir)
        os.makedirs(ddir)
        cert = make_cert(gdir, "rsa", "rsa")
        gport, dport = free_port(), free_port()
        gannet = B.Gannet(os.path.join(B.ROOT, "build", "gannet"), gdir, args.workers, gport, free_port(), cert)
        gannet.create_user()
        dovecot = B.Dovecot(ddir, dport, args.clients, args.workers)
        servers = [("gannet", gannet, gport), ("dovecot", dovecot, dport)]
        for name, server, port in servers:
            with server:
                asyncio.run(B.populate(port, messages, 60))
        print(f"{time.strftime('%Y-%m-%d %H:%M')}: {args.clients} clients (imap_load, C++), "
              f"{args.messages} messages, {args.seconds:g} s a round")
        with gannet, dovecot:
            for r in range(args.rounds):
                rates = {}
                order = servers if r % 2 == 0 else servers[::-1]
                for name, server, port in order:
                    rate, server_cpu, client_cpu, _ = run_load(server, port, args)
                    rates[name] = rate
                    n = rate * args.seconds
                    # Dovecot's imap processes exit with their sessions, and their CPU
                    # with them, before it can be read: only Gannet's is shown.
                    server = (f"server {server_cpu / args.seconds:.2f} cores ({server_cpu / n * 1e6:.0f} µs/command)"
                              if name == "gannet" else "server CPU not read (its imap processes are gone)")
                    print(f"  round {r + 1} {name:8} {rate:8,.0f}/s  {server}, client {client_cpu / args.seconds:.2f} "
                          f"cores ({client_cpu / n * 1e6:.0f} µs/command)", flush=True)
                ratio = rates["gannet"] / rates["dovecot"]
                print(f"  round {r + 1}: gannet/dovecot {ratio:.2f}x (target >= 3x): {'PASS' if ratio >= 3 else 'BELOW'}")


if __name__ == "__main__":
    main()
