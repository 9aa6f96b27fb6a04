#!/usr/bin/env python3
"""What DKIM signing costs SMTP submission, in one run: Gannet (2 workers)
with two submission servers that differ only in `dkim_sign on|off`, loaded
by build/bench/smtp_submit_load (C++, AUTH PLAIN, message after message,
each 250 durable in bob's INBOX), in turns, for RSA-2048 and for
Ed25519 keys. Prints messages/s with and without signing and the cost
(1 - on/off) against the issue's targets (Ed25519 <= 10%, RSA-2048 <= 25%),
and the least cost this machine allows: with the CPU a message takes
unsigned (cores / rate off) plus one bare signature (dkim_bench's rate on
one core), the rate on can be at most 1 / (cores/off + 1/sign); where that
floor is above the target, the target cannot be shown here (BLOCKED).
Loopback only. A benchmark: exits 0 whatever the numbers, 1 on errors."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from idle_connections import HOST, BenchError, Server, free_port, tail, wait_until  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOAD = os.path.join(ROOT, "build", "bench", "smtp_submit_load")
DKIM_BENCH = os.path.join(ROOT, "build", "bench", "dkim_bench")
TARGET = {"rsa2048": 0.25, "ed25519": 0.10}


class Gannet(Server):
    def __init__(self, binary, directory, workers, key, ports):
        super().__init__()
        self.binary, self.dir, self.workers, self.ports = binary, directory, workers, ports
        self.conf = os.path.join(directory, "gannet.conf")
        key_line = f"dkim_key example.test {key[0]} {key[1]};\n" if key else ""
        with open(self.conf, "w") as f:
            f.write(f"""worker_processes {workers};
error_log error.log notice;
pid gannet.pid;
store_path {os.path.join(directory, 'store')};
{key_line}mail {{
  server_name mail.example.test;
  server {{ listen {HOST}:{ports['on']}; protocol smtp; smtp_role submission; smtp_auth_plaintext on; dkim_sign on; }}
  server {{ listen {HOST}:{ports['off']}; protocol smtp; smtp_role submission; smtp_auth_plaintext on; dkim_sign off; }}
}}
""")

    def ctl(self, *args, stdin=""):
        r = subprocess.run([os.path.join(os.path.dirname(self.binary), "gannetctl"), "-c", self.conf, *args],
                           input=stdin, capture_output=True, text=True, timeout=120, cwd=self.dir)
        if r.returncode:
            raise BenchError(f"gannetctl {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def start(self):
        with open(os.path.join(self.dir, "stderr.log"), "ab") as log:
            self.proc = subprocess.Popen([self.binary, "-c", self.conf], cwd=self.dir, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._ready, 30, "gannet to start")

    def _ready(self):
        if self.proc.poll() is not None:
            raise BenchError("gannet exited:\n" + tail(os.path.join(self.dir, "stderr.log")) +
                             tail(os.path.join(self.dir, "error.log")))
        import socket
        try:
            with socket.create_connection((HOST, self.ports["off"]), timeout=2) as s:
                return len(self.pids()) == self.workers and s.recv(64).startswith(b"220")
        except OSError:
            return False

    def _graceful_stop(self):
        subprocess.run([self.binary, "-c", self.conf, "-s", "stop"], cwd=self.dir, capture_output=True, timeout=15)


def run_load(port, args):
    r = subprocess.run([LOAD, str(port), "alice@example.test", "alice-pw", "bob@example.test", str(args.clients),
                        str(args.size), str(args.warmup), str(args.seconds)], capture_output=True, text=True,
                       timeout=args.warmup + args.seconds + 120)
    if r.returncode:
        raise BenchError(f"smtp_submit_load: {r.stderr.strip()}")
    out = dict(line.split("\t") for line in r.stdout.splitlines())
    return int(out["messages"]) / args.seconds


def bare_sign_rates():
    """Signatures a second on one core with nothing else (dkim_bench)."""
    out = subprocess.run([DKIM_BENCH, "1"], capture_output=True, text=True, timeout=120).stdout
    rates = {}
    for line in out.splitlines():
        if "bare crypto" in line:
            name, rate = line.split("\t")[0].split()[0], float(line.split("\t")[1])
            rates["rsa2048" if name == "rsa-2048" else name] = rate
    return rates


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--size", type=int, default=4096, help="message size (default 4096)")
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--gannet", default=os.path.join(ROOT, "build", "gannet"))
    args = ap.parse_args()
    if not os.path.exists(LOAD):
        sys.exit(f"{LOAD} is missing: ninja -C build")
    tmp = tempfile.mkdtemp(prefix="gannet-dkim-submission-")
    os.chmod(tmp, 0o755)
    try:
        keys = {}
        setup = Gannet(args.gannet, tmp, args.workers, None, {"on": free_port(), "off": free_port()})
        setup.ctl("domain", "add", "example.test")
        for algo, selector in (("rsa2048", "r1"), ("ed25519", "e1")):
            setup.ctl("dkim", "keygen", "example.test", f"--selector={selector}", f"--algo={algo}")
            keys[algo] = (selector, os.path.join(tmp, "dkim", "example.test", f"{selector}.key"))
        for user in ("alice", "bob"):
            setup.ctl("user", "add", f"{user}@example.test", "--password-stdin", stdin=f"{user}-pw\n")
        bare = bare_sign_rates()
        cores = os.cpu_count() or 1
        print(f"{time.strftime('%Y-%m-%d %H:%M')}: {args.clients} clients, {args.size}-octet messages, "
              f"{args.seconds:g} s a run, {args.workers} workers", flush=True)
        for algo, key in keys.items():
            ports = {"on": free_port(), "off": free_port()}
            with Gannet(args.gannet, tmp, args.workers, key, ports):
                for r in range(args.rounds):
                    rates = {}
                    for mode in (("off", "on") if r % 2 == 0 else ("on", "off")):
                        rates[mode] = run_load(ports[mode], args)
                    cost = 1 - rates["on"] / rates["off"]
                    floor = 1 - 1 / (1 + rates["off"] / (bare[algo] * cores))  # the least cost the CPU allows
                    verdict = ("PASS" if cost <= TARGET[algo] else
                               "BLOCKED" if floor > TARGET[algo] else "OVER")
                    print(f"  {algo} round {r + 1}: signing off {rates['off']:8,.0f}/s, on {rates['on']:8,.0f}/s: "
                          f"costs {cost:6.1%}, the CPU allows no less than {floor:5.1%} "
                          f"(target <= {TARGET[algo]:.0%}): {verdict}", flush=True)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
