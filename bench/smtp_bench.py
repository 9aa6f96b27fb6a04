#!/usr/bin/env python3
"""SMTP accept-rate benchmark: Gannet against Postfix and smtp-sink, one run.

Postfix's load generator `smtp-source` sends messages of 1 KiB and 64 KiB at
1, 10 and 100 concurrent sessions (one connection per message, as smtp-source
does without -d) to three servers on loopback, started by this script:

  gannet    build-bench/gannet, 2 workers, a private store in a temp dir; it
            replies 250 only once the message is durable (group commit, fsync)
  postfix   a private Postfix instance (own config, queue and data dirs): the
            250 comes once the queue file is fsynced; it then delivers to a
            virtual Maildir (virtual(8), which fsyncs too)
  sink      smtp-sink: no storage at all, the client's ceiling

For every case and repetition the three run back to back (the order rotates
between repetitions), so the ratios Gannet/Postfix and Gannet/smtp-sink come
from the same minutes on a shared, noisy machine. Message counts are chosen
per server and case from a short probe run, so that each measurement takes
about --seconds.

Afterwards, with the servers stopped, it verifies that every message Gannet
acknowledged is in alice's INBOX (`gannetctl mailbox list`) and that
`gannetctl store check` passes, and that Postfix's Maildir holds every message
Postfix acknowledged (its queue drained after each run).

A benchmark, not a test: exits 0 whether or not Gannet meets the targets
(>= 10x Postfix with 1 KiB, >= 5x with 64 KiB, at 10 and 100 sessions).
Exit 1: a server failed during the run or verification failed (the numbers
mean nothing); exit 2: setup errors (missing binaries, a server that would not
start). Python 3 standard library only; loopback (127.0.0.1) only.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import pwd
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = "127.0.0.1"  # loopback only: nothing leaves the machine
DOMAIN = "example.test"
RCPT = "alice@" + DOMAIN
SENDER = "bench@client.test"
SMTP_SOURCE = "/usr/sbin/smtp-source"
SMTP_SINK = "/usr/sbin/smtp-sink"
POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
VMAIL_UID = 5000  # owner of the virtual Maildir (virtual_uid_maps)
SERVERS = ("gannet", "postfix", "sink")
# (size, sessions) -> minimum Gannet/Postfix ratio; no target at 1 session.
TARGETS = {(1024, 10): 10.0, (1024, 100): 10.0, (65536, 10): 5.0, (65536, 100): 5.0}
INSTALL_HINT = ('echo "postfix postfix/main_mailer_type select No configuration" | '
                "debconf-set-selections; DEBIAN_FRONTEND=noninteractive apt-get install -y postfix")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PROBE_SECONDS = 0.3  # a probe shorter than this is repeated with 4x the messages


class SetupError(Exception):
    """Missing tools, a server that will not start or stop: exit 2."""


class BenchError(Exception):
    """A failure that makes the numbers meaningless: exit 1."""


class Interrupted(Exception):
    pass


def on_sigterm(signum, frame):
    raise Interrupted(f"signal {signum}")


def log(msg: str) -> None:
    print(msg, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_greeting(port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    """Waits until a 220 greeting comes from HOST:port."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SetupError(f"the server exited with status {proc.returncode} before answering on port {port}")
        try:
            with socket.create_connection((HOST, port), timeout=2) as s:
                s.settimeout(2)
                data = b""
                while b"\n" not in data:
                    chunk = s.recv(512)
                    if not chunk:
                        break
                    data += chunk
                if data.startswith(b"220"):
                    try:
                        s.sendall(b"QUIT\r\n")
                        s.recv(512)
                    except OSError:
                        pass
                    return
                last = f"greeting {data[:80]!r}"
        except OSError as e:
            last = str(e)
        time.sleep(0.1)
    raise SetupError(f"nothing greeted on {HOST}:{port} within {timeout:.0f} s ({last})")


def run_cmd(argv: list[str], timeout: float, input: bytes | None = None, check: bool = True,
            env: dict | None = None) -> subprocess.CompletedProcess:
    try:
        r = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise SetupError(f"{' '.join(argv)}: no exit within {timeout:.0f} s")
    if check and r.returncode != 0:
        raise SetupError(f"{' '.join(argv)} failed ({r.returncode}): {r.stdout.decode(errors='replace').strip()}")
    return r


def proc_stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces: split after its ')'.
    return data[data.rindex(")") + 2:].split()


def process_table() -> dict[int, tuple[int, float]]:
    """pid -> (ppid, CPU seconds of the process and of its reaped children)."""
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st:
                # fields after ')' start at field 3: ppid=4, utime=14, stime=15, cutime=16, cstime=17
                table[int(name)] = (int(st[1]), sum(int(x) for x in st[11:15]) / CLK_TCK)
    return table


def children(pid: int) -> list[int]:
    return [p for p, (ppid, _) in process_table().items() if ppid == pid]


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and all its descendants, live or reaped: the
    server side's total, for CPU per message."""
    table = process_table()
    kids: dict[int, list[int]] = {}
    for p, (ppid, _) in table.items():
        kids.setdefault(ppid, []).append(p)
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        if p in table:
            total += table[p][1]
            todo.extend(kids.get(p, []))
    return total


# --------------------------------------------------------------------------
# The servers.
# --------------------------------------------------------------------------

class Server:
    name = "?"
    port = 0

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def cpu(self) -> float: return 0.0
    def after_run(self, acked: int, timeout: float) -> float: return 0.0


def group_members(pgid: int) -> list[int]:
    """Live processes of a process group (field 5 of /proc/PID/stat)."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st and int(st[2]) == pgid and st[0] != "Z":
                out.append(int(name))
    return out


def stop_popen(proc: subprocess.Popen | None, timeout: float, what: str) -> None:
    """SIGTERM to the process, wait; then whatever is left of its process
    group (it was started in a session of its own: its workers) gets
    SIGKILL."""
    if proc is None:
        return
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log(f"  {what} (pid {proc.pid}) ignored SIGTERM for {timeout:.0f} s: SIGKILL")
    deadline = time.monotonic() + 10
    while group_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if group_members(proc.pid):
        log(f"  {what}: processes {group_members(proc.pid)} still running: SIGKILL")
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        log(f"  {what} (pid {proc.pid}) survived SIGKILL")


class Gannet(Server):
    name = "gannet"

    def __init__(self, args, dir: str):
        self.args = args
        self.dir = dir
        self.conf = os.path.join(dir, "gannet.conf")
        self.proc: subprocess.Popen | None = None
        self.port = free_port()

    def ctl(self, *argv: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
        return run_cmd([self.args.gannetctl, "-c", self.conf, *argv], timeout=self.args.timeout,
                       input=input, check=check)

    def setup(self) -> None:
        os.makedirs(self.dir)
        with open(self.conf, "w") as f:
            f.write(f"""# smtp_bench.py: Gannet under test
worker_processes {self.args.workers};
store_path data;
pid gannet.pid;
error_log error.log notice;
mail {{
    server {{
        listen {HOST}:{self.port};
        protocol smtp;
        smtp_role mx;
        smtp_max_message_size 100m;
    }}
}}
""")
        run_cmd([self.args.gannet, "-t", "-c", self.conf], timeout=self.args.timeout)
        self.ctl("domain", "add", DOMAIN)
        self.ctl("user", "add", RCPT, "--password-stdin", input=b"pw\n")

    def start(self) -> None:
        self.logf = open(os.path.join(self.dir, "stderr.log"), "wb")
        self.proc = subprocess.Popen([self.args.gannet, "-c", self.conf], cwd=self.dir,
                                     stdin=subprocess.DEVNULL, stdout=self.logf, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_greeting(self.port, self.args.start_timeout, self.proc)
        self.workers = children(self.proc.pid)
        log(f"  gannet: {HOST}:{self.port}, master pid {self.proc.pid}, workers {self.workers}")

    def stop(self) -> None:
        stop_popen(self.proc, 30, "gannet")
        self.proc = None

    def cpu(self) -> float:
        return tree_cpu(self.proc.pid) if self.proc else 0.0

    def commits(self) -> int:
        """LMDB's last transaction id: the number of commits so far."""
        out = self.ctl("store", "stats").stdout.decode()
        m = re.search(r"^last_txn (\d+)$", out, re.M)
        if not m:
            raise BenchError(f"no last_txn in `gannetctl store stats`: {out!r}")
        return int(m.group(1))

    def inbox(self) -> tuple[int, int]:
        out = self.ctl("mailbox", "list", RCPT).stdout.decode()
        for line in out.splitlines():
            m = re.match(r"INBOX\s+(\d+) messages\s+(\d+) bytes", line)
            if m:
                return int(m.group(1)), int(m.group(2))
        raise BenchError(f"no INBOX line in `gannetctl mailbox list {RCPT}`: {out!r}")


class Postfix(Server):
    name = "postfix"

    def __init__(self, args, dir: str):
        self.args = args
        self.dir = dir
        self.etc = os.path.join(dir, "etc")
        self.spool = os.path.join(dir, "spool")
        self.maildir = os.path.join(dir, "vmail", DOMAIN, "alice")
        self.port = free_port()
        self.started = False
        self.delivered_seen = 0

    def postfix(self, *argv: str, check: bool = True, timeout: float | None = None) -> subprocess.CompletedProcess:
        # Without syslog Postfix reports start-up errors only on a terminal:
        # script(1) gives it one, so its complaints end up in our output.
        cmd = " ".join([POSTFIX, "-c", self.etc, *argv])
        return run_cmd(["script", "-qec", cmd, "/dev/null"], timeout=timeout or self.args.timeout, check=check)

    def setup(self) -> None:
        try:
            owner = pwd.getpwnam("postfix")
        except KeyError:
            raise SetupError("no `postfix` user: install Postfix: " + INSTALL_HINT)
        for d in (self.etc, self.spool, os.path.join(self.dir, "data"), os.path.join(self.dir, "vmail")):
            os.makedirs(d)
        os.chmod(self.dir, 0o755)
        os.chown(os.path.join(self.dir, "data"), owner.pw_uid, owner.pw_gid)
        os.chown(os.path.join(self.dir, "vmail"), VMAIL_UID, VMAIL_UID)
        open(os.path.join(self.etc, "aliases"), "w").close()
        for f in ("dynamicmaps.cf",):
            if os.path.exists(os.path.join("/etc/postfix", f)):
                shutil.copy(os.path.join("/etc/postfix", f), self.etc)
        d = self.dir
        main_cf = f"""# smtp_bench.py: a private Postfix on loopback, durable queue, virtual Maildir.
compatibility_level = 3.6
config_directory = {self.etc}
queue_directory = {self.spool}
data_directory = {d}/data
myhostname = bench.test
mydomain = bench.test
myorigin = bench.test
inet_interfaces = {HOST}
inet_protocols = ipv4
mydestination =
mynetworks =
relay_domains =
alias_maps = texthash:{self.etc}/aliases
alias_database = texthash:{self.etc}/aliases
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {d}/vmail
virtual_mailbox_maps = static:{DOMAIN}/alice/
virtual_uid_maps = static:{VMAIL_UID}
virtual_gid_maps = static:{VMAIL_UID}
virtual_mailbox_limit = 0
message_size_limit = 104857600
# nothing may leave the machine
default_transport = error:smtp_bench: nothing leaves this machine
relay_transport = error:smtp_bench: nothing leaves this machine
smtpd_peername_lookup = no
disable_dns_lookups = yes
smtp_dns_support_level = disabled
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
smtpd_client_new_tls_session_rate_limit = 0
default_process_limit = 300
in_flow_delay = {self.args.postfix_in_flow_delay}
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
biff = no
"""
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(main_cf)
        # master.cf: Debian's, with the smtp service on our port and every
        # other inet service off; no chroot (the private queue has no copies
        # of /etc files); a postlog service for maillog_file.
        with open("/etc/postfix/master.cf") as f:
            lines = f.read().splitlines()
        out, have_smtpd, have_postlog = [], False, False
        for line in lines:
            fields = line.split()
            if len(fields) >= 8 and not line.startswith((" ", "\t", "#")):
                if fields[0] == "smtp" and fields[1] == "inet":
                    line = f"{self.port} " + line.split(None, 1)[1]
                    have_smtpd = True
                elif fields[1] == "inet":
                    line = "#" + line
                if fields[0] == "postlog":
                    have_postlog = True
            out.append(line)
        if not have_smtpd:
            raise SetupError("/etc/postfix/master.cf has no `smtp inet` service line to copy")
        if not have_postlog:
            out.append("postlog   unix-dgram n  -       n       -       1       postlogd")
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write("\n".join(out) + "\n")
        run_cmd([POSTCONF, "-c", self.etc, "-F", "*/*/chroot = n"], timeout=self.args.timeout)
        check = self.postfix("check", check=False)
        if check.returncode != 0:
            raise SetupError("postfix check failed: " + check.stdout.decode(errors="replace"))

    def master_pid(self) -> int | None:
        try:
            with open(os.path.join(self.spool, "pid", "master.pid")) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return None
        return pid if proc_stat(pid) else None

    def start(self) -> None:
        self.started = True  # from here on, stop() must try
        r = self.postfix("start", check=False)
        if r.returncode != 0:
            raise SetupError("postfix start failed: " + r.stdout.decode(errors="replace") + self.maillog_tail())
        wait_greeting(self.port, self.args.start_timeout)
        self.pid = self.master_pid()
        if not self.pid:
            raise SetupError("postfix started but has no master.pid")
        log(f"  postfix: {HOST}:{self.port}, master pid {self.pid}, dir {self.dir}")

    def maillog_tail(self) -> str:
        try:
            with open(os.path.join(self.dir, "maillog"), errors="replace") as f:
                return "\nmaillog:\n" + "".join(f.readlines()[-10:])
        except OSError:
            return ""

    def stop(self) -> None:
        if not self.started:
            return
        pid = self.master_pid()
        self.started = False
        if not pid:
            return
        self.postfix("stop", check=False, timeout=30)
        def running() -> bool:
            st = proc_stat(pid)
            return bool(st) and st[0] != "Z"  # an unreaped zombie has stopped
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and running():
            time.sleep(0.1)
        if running():
            log(f"  postfix master {pid} still running 30 s after `postfix stop`: abort, SIGKILL")
            self.postfix("abort", check=False, timeout=30)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def cpu(self) -> float:
        pid = self.master_pid()
        return tree_cpu(pid) if pid else 0.0

    def queued(self) -> int:
        n = 0
        for q in ("maildrop", "incoming", "active", "deferred", "hold", "corrupt"):
            for _, _, files in os.walk(os.path.join(self.spool, q)):
                n += len(files)
        return n

    def delivered(self) -> tuple[int, int]:
        """Messages and bytes in the Maildir (new/ and cur/)."""
        n = size = 0
        for sub in ("new", "cur"):
            try:
                with os.scandir(os.path.join(self.maildir, sub)) as it:
                    for e in it:
                        n += 1
                        size += e.stat().st_size
            except FileNotFoundError:
                pass
        return n, size

    def count_delivered(self) -> int:
        n = 0
        for sub in ("new", "cur"):
            try:
                n += len(os.listdir(os.path.join(self.maildir, sub)))
            except FileNotFoundError:
                pass
        return n

    def after_run(self, acked: int, timeout: float) -> float:
        """Waits until the Maildir holds everything accepted so far and the
        queue is empty, so deliveries don't steal CPU from the next run."""
        self.delivered_seen += acked
        t0 = time.monotonic()
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if self.count_delivered() >= self.delivered_seen and self.queued() == 0:
                return time.monotonic() - t0
            time.sleep(0.05)
        raise BenchError(f"postfix: after {timeout:.0f} s the Maildir holds {self.count_delivered()} of "
                         f"{self.delivered_seen} accepted messages, {self.queued()} queued" + self.maillog_tail())


class Sink(Server):
    name = "sink"

    def __init__(self, args, dir: str):
        self.args = args
        self.dir = dir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        os.makedirs(self.dir)
        self.logf = open(os.path.join(self.dir, "smtp-sink.log"), "wb")
        argv = [SMTP_SINK]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]
        argv += [f"{HOST}:{self.port}", "1000"]
        self.proc = subprocess.Popen(argv, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_greeting(self.port, self.args.start_timeout, self.proc)
        log(f"  smtp-sink: {HOST}:{self.port}, pid {self.proc.pid}")

    def stop(self) -> None:
        stop_popen(self.proc, 10, "smtp-sink")
        self.proc = None

    def cpu(self) -> float:
        return tree_cpu(self.proc.pid) if self.proc else 0.0


# --------------------------------------------------------------------------
# The disk: its flush latency changes 10-30x within minutes on a shared VM.
# --------------------------------------------------------------------------

def io_probe(dir: str, budget: float = 0.5) -> tuple[float, float]:
    """Median ms of (a) an LMDB-like commit to a growing file: 10 pages
    appended + fdatasync, then 120 bytes to the head through an O_DSYNC fd
    (the meta page), and (b) a Postfix-like queue file: create, 1.5 KB,
    fsync, close. Alternating, for about `budget` seconds."""
    data = os.path.join(dir, "io-probe.data")
    fd = os.open(data, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    mfd = os.open(data, os.O_RDWR | os.O_DSYNC)
    commit, qfile = [], []
    try:
        os.pwrite(fd, b"\0" * 8192, 0)
        os.fsync(fd)
        off, page, i = 8192, b"x" * 4096, 0
        deadline = time.monotonic() + budget
        while (time.monotonic() < deadline or i < 3) and i < 200:
            t0 = time.perf_counter()
            for _ in range(10):
                os.pwrite(fd, page, off)
                off += 4096
            os.fdatasync(fd)
            os.pwrite(mfd, b"m" * 120, 4096 * (i % 2) + 16)
            t1 = time.perf_counter()
            q = os.path.join(dir, f"io-probe.q{i}")
            qfd = os.open(q, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(qfd, b"y" * 1500)
            os.fsync(qfd)
            os.close(qfd)
            t2 = time.perf_counter()
            os.unlink(q)
            commit.append(t1 - t0)
            qfile.append(t2 - t1)
            i += 1
    finally:
        os.close(fd)
        os.close(mfd)
        os.unlink(data)
    return statistics.median(commit) * 1e3, statistics.median(qfile) * 1e3


# --------------------------------------------------------------------------
# Runs.
# --------------------------------------------------------------------------

@dataclasses.dataclass
class Run:
    server: str
    size: int
    sessions: int
    messages: int
    acked: int
    seconds: float
    server_cpu: float
    client_cpu: float
    drain: float = 0.0
    commits: int = 0  # Gannet: store transactions during the run
    error: str = ""

    @property
    def rate(self) -> float:
        return self.acked / self.seconds if self.seconds > 0 else 0.0


def smtp_source(args, server: Server, size: int, sessions: int, messages: int) -> Run:
    argv = [SMTP_SOURCE, "-c", "-s", str(sessions), "-m", str(messages), "-l", str(size),
            "-M", "client.test", "-f", SENDER, "-t", RCPT]
    if args.reuse:
        argv.append("-d")
    argv.append(f"{HOST}:{server.port}")
    cpu0 = server.cpu()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    error = ""
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=args.timeout)
        out, err, rc = r.stdout, r.stderr, r.returncode
    except subprocess.TimeoutExpired as e:
        out, err, rc = e.stdout or b"", e.stderr or b"", None
        error = f"smtp-source did not finish within {args.timeout:.0f} s"
    seconds = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu1 = server.cpu()
    # -c prints a counter after each acknowledged DATA: "1\r2\r...N\r\n"
    counts = [int(x) for x in re.findall(rb"(\d+)\r", out)]
    acked = counts[-1] if counts else 0
    if rc not in (0, None):
        error = f"smtp-source exited {rc}: {err.decode(errors='replace').strip()[:300]}"
    elif not error and acked != messages:
        error = f"smtp-source reported {acked} of {messages} messages acknowledged"
    client = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    return Run(server.name, size, sessions, messages, acked, seconds, cpu1 - cpu0, client, error=error)


def human_size(n: int) -> str:
    return f"{n // 1024} KiB" if n % 1024 == 0 else f"{n} B"


def one_run(args, server: Server, size: int, sessions: int, messages: int, totals: dict,
            errors: list[str], tag: str) -> Run:
    txn0 = server.commits() if isinstance(server, Gannet) else 0
    run = smtp_source(args, server, size, sessions, messages)
    if isinstance(server, Gannet):
        run.commits = server.commits() - txn0
    totals.setdefault(server.name, []).append((run.acked, size))
    if not run.error:
        try:
            run.drain = server.after_run(run.acked, args.drain_timeout)
        except BenchError as e:
            run.error = str(e)
    elif isinstance(server, Postfix):
        server.delivered_seen += run.acked
    per_msg = f"server {run.server_cpu / max(run.acked, 1) * 1e6:6.0f} µs/msg, client " \
              f"{run.client_cpu / max(run.acked, 1) * 1e6:4.0f} µs/msg"
    drain = f", drained in {run.drain:.1f} s" if run.drain >= 0.05 else ""
    if run.commits:
        drain += f", {run.acked / run.commits:.1f} msg/commit"
    log(f"  {tag:5} {server.name:7} {human_size(size):>6} s={sessions:<3} {run.acked:6}/{messages:<6} "
        f"{run.seconds:6.2f} s {run.rate:8.0f} msg/s  {per_msg}{drain}"
        + (f"  ERROR: {run.error}" if run.error else ""))
    if run.error:
        errors.append(f"{server.name} {human_size(size)} {sessions} sessions: {run.error}")
    return run


def choose_count(args, rate: float, size: int, sessions: int) -> int:
    cap = max(sessions * 5, min(args.max_messages, args.max_bytes // size))
    n = int(rate * args.seconds)
    return max(sessions * 5, 50, min(n, cap))


def run_matrix(args, servers: list[Server], totals: dict, errors: list[str], tmp: str) -> tuple[dict, dict]:
    """-> ({(size, sessions): {server: [Run, ...]}}, {(size, sessions): [(commit ms, fsync ms), ...]})"""
    results: dict = {}
    io: dict = {}
    for size in args.sizes:
        for sessions in args.sessions:
            case = results.setdefault((size, sessions), {})
            io.setdefault((size, sessions), []).append(io_probe(tmp))
            counts = {}
            for srv in servers:
                # Probe (and warm up) until a run lasts long enough to time.
                n = max(50, 4 * sessions)
                while True:
                    probe = one_run(args, srv, size, sessions, n, totals, errors, "probe")
                    if probe.error or probe.seconds >= PROBE_SECONDS or n >= choose_count(args, 1e12, size, sessions):
                        break
                    n *= 4
                counts[srv.name] = choose_count(args, probe.rate if not probe.error else 0, size, sessions)
            for rep in range(args.reps):
                k = rep % len(servers)
                for srv in servers[k:] + servers[:k]:
                    run = one_run(args, srv, size, sessions, counts[srv.name], totals, errors, f"#{rep + 1}")
                    case.setdefault(srv.name, []).append(run)
            io[(size, sessions)].append(io_probe(tmp))
            c, f = zip(*io[(size, sessions)])
            log(f"  disk: LMDB-like commit {' / '.join(f'{x:.2f}' for x in c)} ms, "
                f"queue-file fsync {' / '.join(f'{x:.2f}' for x in f)} ms (before / after the case)")
    return results, io


def median_rate(runs: list[Run]) -> float | None:
    good = [r.rate for r in runs if not r.error]
    return statistics.median(good) if good else None


def print_table(args, results: dict, io: dict) -> None:
    names = args.servers
    print()
    print(f"messages/s, median of {args.reps} (smtp-source, one connection per message"
          f"{', -d: connections reused' if args.reuse else ''}); ratios from the same run;")
    print("sink/P = smtp-sink / Postfix: the highest Gannet/Postfix this client can show on this machine")
    head = f"{'size':>6} {'sess':>4}"
    for n in names:
        head += f" {n:>9}"
    if "gannet" in names and "postfix" in names:
        head += f" {'G/postfix':>9}"
    if "gannet" in names and "sink" in names:
        head += f" {'G/sink':>7}"
    if "postfix" in names and "sink" in names:
        head += f" {'sink/P':>7}"
    if "gannet" in names and "postfix" in names:
        head += f" {'target':>7} {'result':>7}"
    print(head)
    for (size, sessions), case in results.items():
        med = {n: median_rate(case.get(n, [])) for n in names}
        line = f"{human_size(size):>6} {sessions:>4}"
        for n in names:
            line += f" {med[n]:>9,.0f}" if med[n] is not None else f" {'ERROR':>9}"
        gp = gs = None
        if "gannet" in names and "postfix" in names:
            if med["gannet"] and med["postfix"]:
                gp = med["gannet"] / med["postfix"]
            line += f" {gp:>8.2f}x" if gp is not None else f" {'-':>9}"
        if "gannet" in names and "sink" in names:
            if med["gannet"] and med["sink"]:
                gs = med["gannet"] / med["sink"]
            line += f" {gs:>7.2f}" if gs is not None else f" {'-':>7}"
        if "postfix" in names and "sink" in names:
            ceiling = med["sink"] / med["postfix"] if med["sink"] and med["postfix"] else None
            line += f" {ceiling:>6.1f}x" if ceiling is not None else f" {'-':>7}"
        if "gannet" in names and "postfix" in names:
            target = TARGETS.get((size, sessions))
            if target is None:
                line += f" {'-':>7} {'-':>7}"
            else:
                result = "ERROR" if gp is None else ("PASS" if gp >= target else "BELOW")
                line += f" {'>=' + format(target, 'g') + 'x':>7} {result:>7}"
        print(line)
    print()
    # CPU per message: who was busy (client and servers share the 2 cores),
    # and how well Gannet's group commit batched.
    print("CPU µs per message (server: all its processes; client: smtp-source), medians;")
    print("P/G cpu = Postfix's server CPU per message / Gannet's; G msg/commit = messages per store transaction;")
    print("disk ms = the io probe around the case: an LMDB-like durable commit / a Postfix-like queue-file fsync")
    head = f"{'size':>6} {'sess':>4}" + "".join(f" {n + ' srv':>11}" for n in names) + f" {'client':>7}"
    if "gannet" in names and "postfix" in names:
        head += f" {'P/G cpu':>8}"
    if "gannet" in names:
        head += f" {'G msg/commit':>12}"
    head += f" {'disk ms':>11}"
    print(head)
    for (size, sessions), case in results.items():
        line = f"{human_size(size):>6} {sessions:>4}"
        srv, cli = {}, []
        for n in names:
            runs = [r for r in case.get(n, []) if not r.error and r.acked]
            if runs:
                srv[n] = statistics.median(r.server_cpu / r.acked * 1e6 for r in runs)
                cli += [r.client_cpu / r.acked * 1e6 for r in runs]
            line += f" {srv[n]:>11,.0f}" if n in srv else f" {'-':>11}"
        line += f" {statistics.median(cli):>7,.0f}" if cli else f" {'-':>7}"
        if "gannet" in names and "postfix" in names:
            line += f" {srv['postfix'] / srv['gannet']:>7.1f}x" if srv.get("gannet") and "postfix" in srv else f" {'-':>8}"
        if "gannet" in names:
            runs = [r for r in case.get("gannet", []) if not r.error and r.commits]
            line += f" {statistics.median(r.acked / r.commits for r in runs):>12.1f}" if runs else f" {'-':>12}"
        c, f = zip(*io[(size, sessions)])
        line += f" {statistics.mean(c):>5.2f}/{statistics.mean(f):<5.2f}"
        print(line)
    print(flush=True)


# --------------------------------------------------------------------------
# Verification.
# --------------------------------------------------------------------------

def verify(gannet: Gannet | None, postfix: Postfix | None, totals: dict) -> list[str]:
    problems = []
    if gannet:
        acked = sum(n for n, _ in totals.get("gannet", []))
        min_bytes = sum(n * size for n, size in totals.get("gannet", []))
        count, size = gannet.inbox()
        ok = count == acked and size >= min_bytes
        log(f"  gannet: INBOX holds {count} messages ({size:,} bytes); {acked} acknowledged "
            f"(>= {min_bytes:,} payload bytes): {'ok' if ok else 'MISMATCH'}")
        if not ok:
            problems.append(f"gannet: INBOX holds {count} messages / {size} bytes, {acked} acknowledged "
                            f"(at least {min_bytes} bytes)")
        r = gannet.ctl("store", "check", check=False)
        text = r.stdout.decode(errors="replace").strip()
        log(f"  gannet: store check: exit {r.returncode}: {text.splitlines()[-1] if text else ''}")
        if r.returncode != 0:
            problems.append("gannet: store check failed: " + text[-500:])
    if postfix:
        acked = sum(n for n, _ in totals.get("postfix", []))
        # virtual(8) stores LF line ends: the payload's 80-byte lines lose their CRs.
        min_bytes = int(sum(n * size for n, size in totals.get("postfix", [])) * 0.95)
        count, size = postfix.delivered()
        queued = postfix.queued()
        ok = count == acked and size >= min_bytes and queued == 0
        log(f"  postfix: Maildir holds {count} messages ({size:,} bytes), {queued} still queued; "
            f"{acked} acknowledged (>= {min_bytes:,} payload bytes): {'ok' if ok else 'MISMATCH'}")
        if not ok:
            problems.append(f"postfix: Maildir holds {count} messages / {size} bytes, {queued} queued, "
                            f"{acked} acknowledged")
    return problems


# --------------------------------------------------------------------------

def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_build = os.path.join(ROOT, "build-bench")
    p.add_argument("--gannet", default=os.environ.get("GANNET", os.path.join(default_build, "gannet")),
                   help="gannet binary (default: build-bench/gannet, or $GANNET)")
    p.add_argument("--gannetctl", default=None, help="gannetctl binary (default: next to --gannet)")
    p.add_argument("--workers", type=int, default=2, help="Gannet worker_processes (default 2)")
    p.add_argument("--quick", action="store_true", help="one repetition of ~1 s a case (~40 s in all)")
    p.add_argument("--reps", type=int, default=3, help="repetitions a case and server; medians (default 3)")
    p.add_argument("--seconds", type=float, default=2.0, help="target length of one measurement (default 2)")
    p.add_argument("--sizes", default="1024,65536", help="message payload sizes (default 1024,65536)")
    p.add_argument("--sessions", default="1,10,100", help="concurrent sessions (default 1,10,100)")
    p.add_argument("--servers", default=",".join(SERVERS), help="subset of gannet,postfix,sink")
    p.add_argument("--reuse", action="store_true", help="smtp-source -d: many messages a connection")
    p.add_argument("--max-messages", type=int, default=20000, help="cap a measurement (default 20000)")
    p.add_argument("--max-bytes", type=int, default=256 << 20, help="cap a measurement's payload (256 MiB)")
    p.add_argument("--postfix-in-flow-delay", default="1s",
                   help="Postfix in_flow_delay (default 1s, Postfix's own; 0 turns flow control off)")
    p.add_argument("--timeout", type=float, default=120, help="limit for one smtp-source run or command")
    p.add_argument("--drain-timeout", type=float, default=120, help="limit for Postfix to deliver a run")
    p.add_argument("--start-timeout", type=float, default=30, help="limit for a server to greet")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (stores, logs, Maildir)")
    a = p.parse_args()
    if a.quick:
        a.reps, a.seconds = 1, 1.0
    a.sizes = [int(x) for x in a.sizes.split(",")]
    a.sessions = [int(x) for x in a.sessions.split(",")]
    a.servers = [s for s in a.servers.split(",") if s]
    if any(s not in SERVERS for s in a.servers) or not a.servers:
        p.error(f"--servers: a subset of {','.join(SERVERS)}")
    a.servers = [s for s in SERVERS if s in a.servers]  # fixed column order
    if a.gannetctl is None:
        a.gannetctl = os.path.join(os.path.dirname(a.gannet), "gannetctl")
    return a


def check_setup(args) -> None:
    missing = [t for t in (SMTP_SOURCE,) + ((SMTP_SINK,) if "sink" in args.servers else ())
               + ((POSTFIX, POSTCONF) if "postfix" in args.servers else ()) if not os.access(t, os.X_OK)]
    if missing:
        raise SetupError(f"missing {', '.join(missing)}: install Postfix: {INSTALL_HINT}")
    if "gannet" in args.servers:
        for b in (args.gannet, args.gannetctl):
            if not os.access(b, os.X_OK):
                raise SetupError(f"no binary at {b}: cd {ROOT} && meson setup build-bench && ninja -C build-bench")
    if "postfix" in args.servers:
        if os.geteuid() != 0:
            raise SetupError("a private Postfix instance needs root (postfix start); or --servers gannet,sink")
        if not shutil.which("script"):
            raise SetupError("the `script` command (util-linux) is needed to see Postfix's start-up errors")


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        check_setup(args)
    except SetupError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    # Under /var: Postfix only writes maillog_file under an allowed prefix,
    # and the stores should sit on the same disk as Postfix's queue.
    tmp = tempfile.mkdtemp(prefix="gannet-smtp-bench-", dir="/var/tmp")
    os.chmod(tmp, 0o755)  # Postfix's daemons (user postfix) must reach their dirs
    servers: list[Server] = []
    gannet = postfix = None
    totals: dict = {}
    errors: list[str] = []
    status = 0
    t_start = time.monotonic()
    try:
        log(f"smtp_bench: sizes {args.sizes}, sessions {args.sessions}, {args.reps} rep(s) of ~{args.seconds:g} s, "
            f"servers {args.servers}, temp dir {tmp}, load average {os.getloadavg()[0]:.1f}")
        if "gannet" in args.servers:
            gannet = Gannet(args, os.path.join(tmp, "gannet"))
            gannet.setup()
            servers.append(gannet)
            gannet.start()
        if "postfix" in args.servers:
            postfix = Postfix(args, os.path.join(tmp, "postfix"))
            servers.append(postfix)
            postfix.setup()
            postfix.start()
        if "sink" in args.servers:
            sink = Sink(args, os.path.join(tmp, "sink"))
            servers.append(sink)
            sink.start()
        order = {n: i for i, n in enumerate(SERVERS)}
        servers.sort(key=lambda s: order[s.name])
        results, io = run_matrix(args, servers, totals, errors, tmp)
        log(f"runs done in {time.monotonic() - t_start:.0f} s; stopping the servers, then verifying")
        for s in servers:
            s.stop()
        problems = verify(gannet, postfix, totals)
        print_table(args, results, io)
        log(f"load average at the end: {os.getloadavg()[0]:.1f}; total {time.monotonic() - t_start:.0f} s")
        if errors or problems:
            for e in errors + problems:
                print(f"error: {e}", file=sys.stderr)
            status = 1
    except SetupError as e:
        print(f"error: {e}", file=sys.stderr)
        status = 2
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        status = 1
    except (Interrupted, KeyboardInterrupt) as e:
        print(f"interrupted ({e or 'SIGINT'}): stopping the servers", file=sys.stderr)
        status = 130
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the clean-up finish
        for s in servers:
            try:
                s.stop()
            except Exception as e:  # keep stopping the others
                print(f"error stopping {s.name}: {e}", file=sys.stderr)
        if args.keep:
            log(f"files kept in {tmp}")
        else:
            t0 = time.monotonic()
            shutil.rmtree(tmp, ignore_errors=True)
            log(f"temp dir removed in {time.monotonic() - t0:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
