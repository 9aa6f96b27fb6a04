#!/usr/bin/env python3
"""Idle-connection benchmark: accept rate and memory per idle connection.

Starts Gannet (2 workers, private temp dir, loopback only) and, for each mode
(the echo protocol in plaintext, TLS with an RSA-2048 and with an ECDSA P-256
certificate; SMTP as an MX server, and as a submission server after STARTTLS),
opens N connections as fast as it can, waits for each greeting (and, for SMTP,
the EHLO reply), then measures the workers' memory (PSS from
/proc/PID/smaps_rollup) with all N idle:

    KiB per idle connection = (PSS after - PSS before) / N

Gannet is restarted for each mode, so memory freed by one mode cannot be
reused by the next. If /usr/sbin/dovecot exists, a private unprivileged Dovecot
IMAP instance is measured the same way for comparison.

A benchmark, not a test: exits 0 even when a number is over its target, and
non-zero only on errors (failed connections, a server that does not start).
Python 3 standard library only.
"""
from __future__ import annotations

import argparse
import dataclasses
import errno
import grp
import os
import pwd
import resource
import selectors
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = "127.0.0.1"  # loopback only
FD_MARGIN = 256     # fds beyond the connections: listeners, logs, pipes...
TARGET_KIB = {"plaintext": 8, "tls": 40}
DOVECOT = "/usr/sbin/dovecot"


class BenchError(Exception):
    """A failure that makes the run's numbers meaningless."""


# --------------------------------------------------------------------------
# Client: many non-blocking connections driven by one selector.
# --------------------------------------------------------------------------

@dataclasses.dataclass
class Step:
    """Send `send` (may be empty), then read lines until one starts with
    `expect`. Lines starting with `skip` before it (IMAP untagged lines
    "* ...", SMTP continuation lines "250-...") are skipped; any other line is
    a protocol error. With `tls`, a TLS handshake follows the reply (STARTTLS)."""
    send: bytes
    expect: bytes
    skip: bytes = b"* "
    tls: ssl.SSLContext | None = None


class Conn:
    """One client connection: connect, optional TLS handshake, then steps."""

    def __init__(self, port: int, tls: ssl.SSLContext | None, steps: list[Step]):
        self.tls = tls
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.fd = self.sock.fileno()
        self.stage = "connect"
        self.want = selectors.EVENT_WRITE  # connect completes when writable
        self.inbuf = b""
        self.outbuf = b""
        self.steps: list[Step] = []
        self.replies: list[bytes] = []
        err = self.sock.connect_ex((HOST, port))
        if err not in (0, errno.EINPROGRESS):
            self.sock.close()
            raise OSError(err, f"connect to {HOST}:{port}: {os.strerror(err)}")
        self.queue(steps)

    @property
    def done(self) -> bool:
        return self.stage == "ready" and not self.steps

    def queue(self, steps: list[Step]) -> None:
        was_idle = not self.steps
        self.steps.extend(steps)
        if was_idle and self.steps:
            self.outbuf = self.steps[0].send

    def advance(self) -> None:
        """Makes what progress the socket allows; sets self.want."""
        if self.stage == "connect":
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise OSError(err, "connect: " + os.strerror(err))
            if self.tls:
                self._start_tls(self.tls)
            else:
                self.stage = "ready"
        while True:
            if self.stage == "handshake":
                if not self._io(self.sock.do_handshake):
                    return
                self.stage = "ready"
            if not self.steps:
                return
            while self.outbuf:
                n = self._io(lambda: self.sock.send(self.outbuf))
                if n is None:
                    return
                self.outbuf = self.outbuf[n:]
            line = self._read_line()
            if line is None:
                return
            step = self.steps[0]
            if line.startswith(step.expect):
                self.replies.append(line)
                self.steps.pop(0)
                self.outbuf = self.steps[0].send if self.steps else b""
                if step.tls:
                    if self.inbuf:
                        raise BenchError(f"data after the STARTTLS reply: {self.inbuf[:80]!r}")
                    self._start_tls(step.tls)
            elif not line.startswith(step.skip):
                raise BenchError(f"expected {step.expect!r}, got {line[:80]!r}")

    def _start_tls(self, ctx: ssl.SSLContext) -> None:
        """Wraps the socket (same fd) and makes the handshake the next stage."""
        self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost", do_handshake_on_connect=False)
        self.stage = "handshake"

    def _read_line(self) -> bytes | None:
        while b"\n" not in self.inbuf:
            data = self._io(lambda: self.sock.recv(4096))
            if data is None:
                return None
            if not data:
                raise BenchError("connection closed by the server")
            self.inbuf += data
        line, _, self.inbuf = self.inbuf.partition(b"\n")
        return line.rstrip(b"\r")

    def _io(self, op):
        """Runs a non-blocking socket operation: its result (True if it has
        none), or None if it must wait, with self.want set accordingly."""
        try:
            result = op()
        except (BlockingIOError, ssl.SSLWantReadError):
            self.want = selectors.EVENT_READ
            return None
        except ssl.SSLWantWriteError:
            self.want = selectors.EVENT_WRITE
            return None
        return True if result is None else result

    def close(self) -> None:
        self.sock.close()


@dataclasses.dataclass
class RunStats:
    conns: list[Conn]
    failed: int
    first_error: str
    seconds: float


def drive(start_conn, count: int, window: int, deadline: float) -> RunStats:
    """Runs `count` connections to completion, at most `window` in flight.
    start_conn(i) returns a Conn with its steps queued (new or reused)."""
    sel = selectors.DefaultSelector()
    active: dict[int, Conn] = {}
    finished: list[Conn] = []
    failed, first_error, started = 0, "", 0
    t0 = time.monotonic()

    def settle(c: Conn) -> None:
        nonlocal failed, first_error
        try:
            c.advance()
        except (OSError, ssl.SSLError, BenchError) as e:
            failed += 1
            first_error = first_error or f"{type(e).__name__}: {e}"
            sel.unregister(c.fd)
            del active[c.fd]
            c.close()
            return
        if c.done:
            sel.unregister(c.fd)
            del active[c.fd]
            finished.append(c)
        else:
            sel.modify(c.fd, c.want)

    try:
        while started < count or active:
            now = time.monotonic()
            if now > deadline:
                first_error = first_error or f"deadline passed with {len(active) + count - started} connections unfinished"
                failed += len(active) + count - started
                for c in active.values():
                    c.close()
                break
            while started < count and len(active) < window:
                try:
                    c = start_conn(started)
                except OSError as e:
                    failed += 1
                    first_error = first_error or f"OSError: {e}"
                    started += 1
                    continue
                started += 1
                active[c.fd] = c
                sel.register(c.fd, c.want)
                if c.stage == "ready":  # a reused connection: try at once
                    settle(c)
            for key, _ in sel.select(timeout=min(0.5, max(0.0, deadline - now))):
                if key.fd in active:
                    settle(active[key.fd])
    finally:
        sel.close()
    return RunStats(finished, failed, first_error, time.monotonic() - t0)


def open_connections(port, tls, greeting: list[Step], count, window, deadline) -> RunStats:
    return drive(lambda i: Conn(port, tls, greeting), count, window, deadline)


def converse(conns: list[Conn], step: Step, window, deadline) -> RunStats:
    """Runs one more step on connections that are already open."""
    def reuse(i):
        conns[i].queue([step])
        return conns[i]
    return drive(reuse, len(conns), window, deadline)


def close_all(conns: list[Conn]) -> None:
    for c in conns:
        c.close()


# --------------------------------------------------------------------------
# Processes and memory
# --------------------------------------------------------------------------

def descendants(pid: int) -> list[int]:
    """Children, grandchildren... of pid, from /proc/PID/task/*/children."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except FileNotFoundError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children") as f:
                    kids = [int(k) for k in f.read().split()]
            except FileNotFoundError:
                continue
            out.extend(kids)
            todo.extend(kids)
    return out


def memory_kib(pids: list[int]) -> dict[str, int]:
    """Summed Rss and Pss (KiB) of the processes, from smaps_rollup."""
    total = {"Rss": 0, "Pss": 0}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    key, _, rest = line.partition(":")
                    if key in total:
                        total[key] += int(rest.split()[0])
        except FileNotFoundError:
            pass  # exited meanwhile
    return total


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes (live ones only)."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except (FileNotFoundError, IndexError, ValueError):
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def nofile_soft_limit(pid: int) -> int:
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    return 0


def raise_nofile(need: int) -> int:
    """Raises this process's fd limit (inherited by the servers it starts)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        try:  # root may raise the hard limit itself
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
            return need
        except (ValueError, OSError):
            raise BenchError(
                f"the hard limit on open files is {hard}, but {need} are needed "
                f"(connections + {FD_MARGIN}). Raise it (e.g. `ulimit -Hn {need}` as root, "
                f"or a nofile line in /etc/security/limits.conf), or run with fewer --connections.")
    new_soft = hard if hard != resource.RLIM_INFINITY else max(soft, need)
    resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
    return new_soft


def wait_until(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def tail(path: str, lines: int = 15) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def start_time(pid: int) -> int | None:
    """The process's start time (clock ticks since boot): a pid plus its
    start time names one process, even if the pid is reused later."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):  # gone, or going (ESRCH)
        return None


def stop_process(proc: subprocess.Popen, known: dict[int, int], graceful) -> None:
    """Stops a server we started: graceful() first, then SIGKILL to the
    master and to the descendants we saw that are still the same processes.
    Every wait is bounded."""
    if proc.poll() is None:
        try:
            graceful()
            proc.wait(timeout=15)
        except (subprocess.TimeoutExpired, subprocess.SubprocessError, OSError):
            pass
    if proc.poll() is None:
        proc.kill()
    for pid, started in known.items():
        if start_time(pid) == started:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


class Server:
    """A server process tree, started by `with` and always stopped after it.
    Memory is that of the master's descendants (Gannet's workers; Dovecot's
    login, imap, auth... processes)."""

    def __init__(self):
        self.proc: subprocess.Popen | None = None
        self._known: dict[int, int] = {}  # pid -> start time, for stop()

    def pids(self) -> list[int]:
        kids = descendants(self.proc.pid) if self.proc else []
        for pid in kids:
            if pid not in self._known:
                self._known[pid] = start_time(pid)
        return kids

    def memory(self) -> dict[str, int]:
        return memory_kib(self.pids())

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pids())

    def start(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc:
            self.pids()
            stop_process(self.proc, self._known, self._graceful_stop)
            self.proc = None

    def _graceful_stop(self):
        self.proc.terminate()


# --------------------------------------------------------------------------
# Gannet
# --------------------------------------------------------------------------

def make_cert(directory: str, name: str, algo: str) -> tuple[str, str]:
    cert, key = os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".key")
    newkey = ["-newkey", "rsa:2048"] if algo == "rsa" else ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    subprocess.run(["openssl", "req", "-x509", "-nodes", "-days", "30", "-subj", "/CN=localhost",
                    *newkey, "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    return cert, key


class Gannet(Server):
    """Echo modes: an echo server in plaintext and one per certificate in
    `certs`. SMTP modes (smtp=True): the plaintext echo server (for the
    readiness check) and two SMTP servers, an MX on ports["smtp"] and a
    submission server on ports["smtp-starttls"] (offering STARTTLS if
    smtp_cert is given), with a store in DIRECTORY/store."""

    def __init__(self, binary: str, directory: str, workers: int, ports: dict, certs: dict,
                 smtp: bool = False, smtp_cert: tuple[str, str] | None = None):
        super().__init__()
        self.binary, self.dir, self.workers = binary, directory, workers
        self.conf = os.path.join(directory, "gannet.conf")
        servers = [f"  server {{ listen {HOST}:{ports['plaintext']}; protocol echo; }}"]
        main = ""
        if not smtp:
            for mode, (cert, key) in certs.items():
                servers.append(f"  server {{ listen {HOST}:{ports[mode]} ssl; protocol echo;"
                               f" ssl_certificate {cert}; ssl_certificate_key {key}; }}")
        else:
            main = f"store_path {os.path.join(directory, 'store')};\n"  # the SMTP module opens the store
            tls = f" ssl_certificate {smtp_cert[0]}; ssl_certificate_key {smtp_cert[1]};" if smtp_cert else ""
            servers.append(f"  server {{ listen {HOST}:{ports['smtp']}; protocol smtp; smtp_role mx; }}")
            servers.append(f"  server {{ listen {HOST}:{ports['smtp-starttls']}; protocol smtp;"
                           f" smtp_role submission;{tls} }}")
        with open(self.conf, "w") as f:
            f.write(f"worker_processes {workers};\nerror_log error.log notice;\npid gannet.pid;\n{main}"
                    f"events {{ worker_connections 1000000; }}\nmail {{\n" + "\n".join(servers) + "\n}\n")
        self.port = ports["plaintext"]

    def start(self) -> None:
        with open(os.path.join(self.dir, "stderr.log"), "ab") as log:
            self.proc = subprocess.Popen([self.binary, "-c", self.conf], cwd=self.dir,
                                         stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._ready, 15, "gannet's workers to start")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise BenchError(f"gannet exited with status {self.proc.returncode}:\n"
                             + tail(os.path.join(self.dir, "stderr.log")) + tail(os.path.join(self.dir, "error.log")))
        if len(self.pids()) != self.workers:
            return False
        try:
            with socket.create_connection((HOST, self.port), timeout=2) as s:
                return s.recv(64).startswith(b"+OK")
        except OSError:
            return False

    def _graceful_stop(self):
        subprocess.run([self.binary, "-c", self.conf, "-s", "stop"], cwd=self.dir,
                       capture_output=True, timeout=15)


# --------------------------------------------------------------------------
# Dovecot (optional reference)
# --------------------------------------------------------------------------

def dovecot_identity() -> tuple[str, str, list[str]]:
    """User and group to run Dovecot as, and the command prefix for it."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name, []
    group = grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
    return "nobody", group, ["setpriv", "--reuid=nobody", "--regid=" + group, "--clear-groups"]


class Dovecot(Server):
    """A private, unprivileged Dovecot IMAP instance on a loopback port, in
    Dovecot's high-performance login mode (service_count = 0), with as many
    imap-login processes as Gannet has workers; with `pop3_port`, POP3 too,
    its pop3-login processes in the same mode. `logins` are the users
    (name, password) of its passwd-file; `login` alone is one."""

    def __init__(self, directory: str, port: int, connections: int, login_processes: int,
                 login: tuple[str, str] = ("alice", "secret"), mail_fsync: str = "never",
                 logins: list[tuple[str, str]] | None = None, pop3_port: int | None = None):
        super().__init__()
        self.dir, self.port = directory, port
        user, group, self.prefix = dovecot_identity()
        for sub in ("run", "state", "home"):
            os.makedirs(os.path.join(directory, sub), exist_ok=True)
        with open(os.path.join(directory, "passwd"), "w") as f:
            f.writelines(f"{name}:{{PLAIN}}{password}\n" for name, password in (logins or [login]))
        self.conf = os.path.join(directory, "dovecot.conf")
        limit = connections + 100
        pop3 = "" if pop3_port is None else f"""service pop3-login {{
  inet_listener pop3 {{
    address = {HOST}
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
  chroot =
  service_count = 0
  process_min_avail = {login_processes}
  client_limit = {limit}
}}
"""
        with open(self.conf, "w") as f:
            f.write(f"""protocols = imap{" pop3" if pop3_port is not None else ""}
listen = {HOST}
base_dir = {directory}/run
state_dir = {directory}/state
log_path = {directory}/dovecot.log
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = 1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:~/Maildir
mail_fsync = {mail_fsync}
mail_max_userip_connections = {limit}
default_process_limit = {limit}
default_client_limit = {limit + 1000}
default_vsz_limit = 0
passdb {{
  driver = passwd-file
  args = {directory}/passwd
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={directory}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
  service_count = 0
  process_min_avail = {login_processes}
  client_limit = {limit}
}}
service anvil {{
  chroot =
}}
{pop3}""")
        if os.geteuid() == 0:
            for base, dirs, files in os.walk(directory):
                for name in [base] + [os.path.join(base, n) for n in dirs + files]:
                    shutil.chown(name, user, group)

    def start(self) -> None:
        with open(os.path.join(self.dir, "stderr.log"), "ab") as log:
            self.proc = subprocess.Popen([*self.prefix, DOVECOT, "-F", "-c", self.conf],
                                         stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._ready, 20, "dovecot to answer")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise BenchError(f"dovecot exited with status {self.proc.returncode}:\n"
                             + tail(os.path.join(self.dir, "stderr.log")) + tail(os.path.join(self.dir, "dovecot.log")))
        try:
            with socket.create_connection((HOST, self.port), timeout=2) as s:
                return s.recv(64).startswith(b"* OK")
        except OSError:
            return False


# --------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------

@dataclasses.dataclass
class Mode:
    name: str
    port: int
    tls: ssl.SSLContext | None
    greeting: list[Step]
    connections: int
    target_kib: float | None = None
    who: bool = False  # ask WHO on every connection to get the worker split
    smtp: bool = False  # served by the SMTP configuration (store, SMTP servers)


@dataclasses.dataclass
class Result:
    mode: Mode
    opened: int
    failed: int
    rate: float
    pss_kib: float
    rss_kib: float
    split: str = "-"
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.failed:
            return "ERROR"
        if self.mode.target_kib is None:
            return "-"
        return "PASS" if self.pss_kib <= self.mode.target_kib else "OVER"


def client_tls(cafile: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)  # verifies the server's cert and name


def client_cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def measure(server: Server, mode: Mode, args) -> Result:
    """Warm-up, baseline, N idle connections, memory; then the WHO split."""
    warm = open_connections(mode.port, mode.tls, mode.greeting, min(args.warmup, mode.connections),
                            args.window, time.monotonic() + args.timeout)
    close_all(warm.conns)
    if warm.failed:
        raise BenchError(f"{mode.name}: warm-up failed: {warm.first_error}")
    time.sleep(args.settle)
    before = server.memory()
    sockets_before = socket_counts(server.pids()) if mode.smtp else {}
    cpu = (server.cpu_seconds(), client_cpu_seconds())

    run = open_connections(mode.port, mode.tls, mode.greeting, mode.connections, args.window,
                           time.monotonic() + args.timeout)
    try:
        cpu = (server.cpu_seconds() - cpu[0], client_cpu_seconds() - cpu[1])
        time.sleep(args.settle)
        after = server.memory()
        result = make_result(mode, run, before, after)
        print(f"  {mode.name}: {len(run.conns)} open in {run.seconds:.2f}s (CPU: server {cpu[0]:.1f}s, "
              f"client {cpu[1]:.1f}s); PSS {before['Pss']} -> {after['Pss']} KiB, "
              f"RSS {before['Rss']} -> {after['Rss']} KiB ({len(server.pids())} processes)", flush=True)
        if mode.who and run.conns and not run.failed:
            result.split = worker_split(run.conns, args.window, time.monotonic() + args.timeout)
        elif mode.smtp and run.conns:
            result.split = socket_split(sockets_before, socket_counts(server.pids()))
    finally:
        close_all(run.conns)
    time.sleep(args.settle)
    print(f"  {mode.name}: all closed, PSS {server.memory()['Pss']} KiB", flush=True)
    return result


def make_result(mode: Mode, run: RunStats, before: dict, after: dict) -> Result:
    n = max(len(run.conns), 1)
    result = Result(mode, len(run.conns), run.failed, len(run.conns) / max(run.seconds, 1e-9),
                    (after["Pss"] - before["Pss"]) / n, (after["Rss"] - before["Rss"]) / n)
    notes = []
    if run.failed:
        notes.append(f"{run.failed} failed: {run.first_error}")
    if run.conns and isinstance(run.conns[0].sock, ssl.SSLSocket):  # TLS at connect or after STARTTLS
        s = run.conns[0].sock
        notes.append(f"{s.version()} {s.cipher()[0]}")
    result.note = "; ".join(notes)
    return result


def worker_split(conns: list[Conn], window: int, deadline: float) -> str:
    """Asks WHO on every open connection; returns e.g. "5003/4997"."""
    asked = converse(conns, Step(b"WHO\r\n", b"+worker "), window, deadline)
    if asked.failed:
        raise BenchError(f"WHO failed on {asked.failed} connections: {asked.first_error}")
    slots: dict[int, int] = {}
    for c in asked.conns:
        slot = int(c.replies[-1].split()[1])
        slots[slot] = slots.get(slot, 0) + 1
    split = "/".join(str(slots.get(s, 0)) for s in range(max(slots) + 1))
    if len(slots) < 2:
        print(f"  warning: only worker(s) {sorted(slots)} got connections", flush=True)
    return split


def socket_counts(pids: list[int]) -> dict[int, int]:
    """Open sockets of each process, from /proc/PID/fd."""
    counts = {}
    for pid in pids:
        n = 0
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
                except FileNotFoundError:
                    pass
        except FileNotFoundError:
            continue
        counts[pid] = n
    return counts


def socket_split(before: dict[int, int], after: dict[int, int]) -> str:
    """The worker split for protocols without WHO: new sockets in each
    worker (workers in pid order), e.g. "5003/4997"."""
    return "/".join(str(after[pid] - before.get(pid, 0)) for pid in sorted(after))


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def print_table(results: list[Result]) -> None:
    head = ("mode", "conns", "conn/s", "KiB/conn", "RSS KiB/c", "target", "result", "split by worker")
    rows = [head]
    for r in results:
        target = f"<= {r.mode.target_kib:g}" if r.mode.target_kib is not None else "-"
        rows.append((r.mode.name, str(r.opened), f"{r.rate:,.0f}", f"{r.pss_kib:.2f}", f"{r.rss_kib:.2f}",
                     target, r.verdict, r.split))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    print()
    for row in rows:
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))))
    for r in results:
        if r.note:
            print(f"  {r.mode.name}: {r.note}")


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--connections", type=int, default=10_000, help="idle connections per Gannet mode (default 10000)")
    p.add_argument("--dovecot-connections", type=int, default=500, help="idle connections for Dovecot (default 500; 0 skips)")
    p.add_argument("--gannet", default=os.environ.get("GANNET", os.path.join(ROOT, "build", "gannet")),
                   help="gannet binary (default build/gannet, or $GANNET)")
    p.add_argument("--workers", type=int, default=2, help="gannet worker_processes (default 2)")
    p.add_argument("--window", type=int, default=256, help="connections in flight at once (default 256)")
    p.add_argument("--warmup", type=int, default=32, help="connections opened and closed before the baseline (default 32)")
    p.add_argument("--settle", type=float, default=1.0, help="seconds to wait before reading memory")
    p.add_argument("--timeout", type=float, default=180.0, help="time bound for each batch of connections, seconds (default 180)")
    p.add_argument("--modes", default=",".join(GANNET_MODES), type=parse_modes,
                   help="comma-separated Gannet modes to run, in this order (default all: "
                        + ",".join(GANNET_MODES) + ")")
    p.add_argument("--no-ecdsa", action="store_true", help="skip the ECDSA P-256 TLS mode")
    p.add_argument("--keep", action="store_true", help="keep the temp directory (configs, logs)")
    return p.parse_args()


GANNET_MODES = ("plaintext", "tls-rsa2048", "tls-ecdsa-p256", "smtp", "smtp-starttls")


def parse_modes(text: str) -> list[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in modes if m not in GANNET_MODES]
    if unknown or not modes:
        raise argparse.ArgumentTypeError(f"unknown mode(s) {', '.join(unknown) or '(none)'}; "
                                         f"choose from {','.join(GANNET_MODES)}")
    return list(dict.fromkeys(modes))  # without duplicates


def gannet_modes(args, ports, certs) -> list[Mode]:
    greeting = [Step(b"", b"+OK")]
    ehlo = Step(b"EHLO x\r\n", b"250 ", skip=b"250-")
    smtp = [Step(b"", b"220 ", skip=b"220-"), ehlo]  # greeting read, EHLO answered
    modes = []
    for name in args.modes:
        if name == "plaintext":
            modes.append(Mode(name, ports[name], None, greeting, args.connections, TARGET_KIB["plaintext"], True))
        elif name in ("tls-rsa2048", "tls-ecdsa-p256"):
            modes.append(Mode(name, ports[name], client_tls(certs[name][0]), greeting, args.connections,
                              TARGET_KIB["tls"], True))
        elif name == "smtp":
            modes.append(Mode(name, ports[name], None, smtp, args.connections, TARGET_KIB["plaintext"], smtp=True))
        elif name == "smtp-starttls":
            starttls = Step(b"STARTTLS\r\n", b"220 ", tls=client_tls(certs["smtp-starttls"][0]))
            modes.append(Mode(name, ports[name], None, [*smtp, starttls, ehlo], args.connections,
                              TARGET_KIB["tls"], smtp=True))
    return modes


def run_gannet(args, tmp: str, results: list[Result]) -> None:
    if args.no_ecdsa and "tls-ecdsa-p256" in args.modes:
        args.modes.remove("tls-ecdsa-p256")
    echo = any(m in ("plaintext", "tls-rsa2048", "tls-ecdsa-p256") for m in args.modes)
    certs = {}
    if echo or "smtp-starttls" in args.modes:
        certs["tls-rsa2048"] = make_cert(tmp, "rsa", "rsa")
    if echo and not args.no_ecdsa:  # the echo configuration is the same whichever echo modes run
        certs["tls-ecdsa-p256"] = make_cert(tmp, "ecdsa", "ec")
    echo_certs = dict(certs) if echo else {}
    smtp_cert = certs.get("tls-rsa2048")  # STARTTLS with the RSA-2048 certificate
    if smtp_cert:
        certs["smtp-starttls"] = smtp_cert
    ports = {name: free_port() for name in ["plaintext", *echo_certs, "smtp", "smtp-starttls"]}
    for mode in gannet_modes(args, ports, certs):
        # fresh workers for each mode
        with Gannet(args.gannet, tmp, args.workers, ports, echo_certs, mode.smtp,
                    smtp_cert if mode.smtp else None) as g:
            limits = {pid: nofile_soft_limit(pid) for pid in g.pids()}
            if min(limits.values()) < mode.connections + FD_MARGIN:
                raise BenchError(f"gannet workers' fd limits {limits} are below {mode.connections + FD_MARGIN}")
            print(f"gannet {mode.name}: workers {sorted(limits)} (fd limit {min(limits.values())}), "
                  f"port {mode.port}", flush=True)
            results.append(measure(g, mode, args))


def run_dovecot(args, results: list[Result]) -> None:
    """The same measure on Dovecot, for comparison. Optional: a failure here
    is reported but leaves Gannet's numbers (and the exit status) alone."""
    n = args.dovecot_connections
    if n <= 0:
        return
    if not os.path.exists(DOVECOT):
        print(f"dovecot: skipped, {DOVECOT} is not installed (apt-get install dovecot-imapd)")
        return
    tmp = tempfile.mkdtemp(prefix="gannet-bench-dovecot-")
    os.chmod(tmp, 0o755)
    try:
        port = free_port()
        greeted = Mode("dovecot greeted", port, None, [Step(b"", b"* OK")], n)
        selected = Mode("dovecot login+select", port, None,
                        [Step(b"", b"* OK"), Step(b"a LOGIN alice secret\r\n", b"a OK"),
                         Step(b"b SELECT INBOX\r\n", b"b OK")], n)
        for mode in (greeted, selected):
            with Dovecot(tmp, port, n, args.workers) as d:
                print(f"{mode.name}: port {port}", flush=True)
                results.append(measure(d, mode, args))
    except BenchError as e:
        print(f"dovecot: comparison failed: {e}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"dovecot files kept in {tmp}")


def print_ratio(results: list[Result]) -> None:
    by_name = {r.mode.name: r for r in results}
    plain = by_name.get("plaintext")
    if not plain or plain.pss_kib <= 0:
        return
    for name in ("dovecot greeted", "dovecot login+select"):
        if name in by_name:
            print(f"{name} / gannet plaintext, memory per idle connection: "
                  f"{by_name[name].pss_kib / plain.pss_kib:.1f}x")


def on_sigterm(*_) -> None:
    print("stopping on SIGTERM", file=sys.stderr)
    sys.exit(143)  # unwinds through the finally blocks: servers stopped, temp dir removed


def main() -> int:
    args = parse_args()
    args.gannet = os.path.abspath(args.gannet)  # gannet runs in the temp dir
    signal.signal(signal.SIGTERM, on_sigterm)
    if not os.access(args.gannet, os.X_OK):
        print(f"error: no gannet binary at {args.gannet} (build it: ninja -C build)", file=sys.stderr)
        return 2
    if not shutil.which("openssl"):
        print("error: the openssl command is needed to make test certificates", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="gannet-bench-")
    results: list[Result] = []
    try:
        need = max(args.connections, args.dovecot_connections) + args.warmup + FD_MARGIN
        limit = raise_nofile(need)
        print(f"idle connections: {args.connections} per Gannet mode, {args.workers} workers, "
              f"window {args.window}, fd limit {limit}, temp dir {tmp}", flush=True)
        run_gannet(args, tmp, results)
        run_dovecot(args, results)
    except BenchError as e:
        if results:
            print_table(results)
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"files kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print_table(results)
    print_ratio(results)
    return 1 if any(r.failed for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
