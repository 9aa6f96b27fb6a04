"""Running as a real service: the workers' account, open-file limits, pid
file and master death, with the shipped default config where it matters."""
import os
import pwd
import re
import resource
import selectors
import socket
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from harness import GANNET, Gannet, GannetTest, free_port, main, make_cert, wait_for
from smtp_harness import SmtpTest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def default_conf_dir():
    """conf/gannet.conf as shipped, in a temp dir, its ports made free ones."""
    d = tempfile.mkdtemp(prefix="gannet-default-")
    os.chmod(d, 0o755)
    with open(os.path.join(ROOT, "conf", "gannet.conf")) as f:
        text = f.read()
    ports = {}
    def fresh(m):
        ports.setdefault(m.group(2), str(free_port()))
        return m.group(1) + ports[m.group(2)]
    text = re.sub(r"(listen\s+(?:127\.0\.0\.1|\[::1\]):)(\d+)", fresh, text)
    with open(os.path.join(d, "gannet.conf"), "w") as f:
        f.write(text)
    make_cert(d, "cert", "localhost", "rsa", ["localhost"])
    os.mkdir(os.path.join(d, "logs"))  # as tools/quickstart makes it
    return d, {int(k): int(v) for k, v in ports.items()}


def uid_of(pid):
    with open(f"/proc/{pid}/status") as f:
        return [int(x) for x in re.search(r"^Uid:\s+(.*)$", f.read(), re.M).group(1).split()]


class DefaultConfig(Gannet):
    """The shipped config, untouched but for its ports."""

    def __init__(self):
        d, self.ports = default_conf_dir()
        self.dir, self.conf = d, os.path.join(d, "gannet.conf")
        self.error_log = os.path.join(d, "logs", "error.log")
        self.workers = os.cpu_count()
        self.proc = None


class AccountTest(GannetTest):
    @unittest.skipUnless(os.geteuid() == 0, "needs root: the test is what a root master does")
    def test_root_master_runs_workers_unprivileged_by_default(self):
        g = DefaultConfig()
        self.servers.append(g)
        g.start()
        try:
            want = pwd.getpwnam("gannet")
        except KeyError:  # no install step ran: the fallback, and it says so
            want = pwd.getpwnam("nobody")
            self.assertIn('no "gannet" account', g.log())
        self.assertEqual(uid_of(g.proc.pid)[0], 0, "the master stays root to bind and reload")
        for pid in g.worker_pids():
            self.assertEqual(uid_of(pid), [want.pw_uid] * 4, f"worker {pid}")
        self.assertRegex(g.log(), rf'notice\] .*workers run as user "{want.pw_name}" \(uid {want.pw_uid}')
        # What the workers write is theirs; the store stays private.
        for path in ("data", "data/data.mdb", "data/lock.mdb", "logs/error.log", "logs/session.log"):
            st = os.stat(os.path.join(g.dir, path))
            self.assertEqual(st.st_uid, want.pw_uid, path)
        self.assertEqual(os.stat(os.path.join(g.dir, "data", "data.mdb")).st_mode & 0o077, 0)
        # And the workers serve: an SMTP greeting on the MX port.
        import smtplib
        with smtplib.SMTP("127.0.0.1", g.ports[2525], timeout=10) as s:
            self.assertEqual(s.noop()[0], 250)


def hold_connections(port, n, timeout=20):
    """Opens n connections at once and reads each one's first line; returns
    the greeted sockets, the refusal lines, what came before a close, and
    how many got nothing at all in the time."""
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        sel.register(s, selectors.EVENT_READ, b"")
        socks.append(s)
    out = {"greeted": [], "refused": [], "closed": []}
    pending = len(socks)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            try:
                data = key.data + key.fileobj.recv(4096)
            except OSError:
                data = None
            if data is None or data == key.data:  # reset or EOF before a whole line
                out["closed"].append(data)
            elif b"\r\n" not in data:
                sel.modify(key.fileobj, selectors.EVENT_READ, data)
                continue
            elif data.startswith((b"+OK", b"220")):
                out["greeted"].append(key.fileobj)
            else:
                out["refused"].append(data)
            sel.unregister(key.fileobj)
            pending -= 1
    out["silent"] = pending
    return out, socks


class FileLimitTest(GannetTest):
    def setUp(self):
        super().setUp()
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard < 800:
            self.skipTest(f"the test itself needs 800 descriptors, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        self.port = free_port()

    def echo(self, head="", limit=None):
        g = Gannet(f"{head}mail {{ server {{ listen 127.0.0.1:{self.port}; protocol echo; }} }}\n", workers=1)
        if limit:
            g.preexec = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))  # ulimit -n
        self.servers.append(g)
        return g.start()

    def flood(self, g, why):
        """600 connections at once: each is greeted or told it is refused,
        the refusal is logged with its reason, and the ones held still work."""
        out, socks = hold_connections(self.port, 600)
        try:
            self.assertEqual(out["silent"], 0, "connections left hanging with no word")
            self.assertEqual(out["closed"], [], "connections closed without a line")
            self.assertGreater(len(out["greeted"]), 20)
            self.assertGreater(len(out["refused"]), 20)
            self.assertEqual(set(out["refused"]), {b"-ERR busy\r\n"})
            self.assertEqual(len(out["greeted"]) + len(out["refused"]), 600)
            wait_for(lambda: " refused " in g.log(), what="the refusal logged")
            self.assertRegex(g.log(), r"alert\].* refused \d+ connection\(s\) in the last second with \d+ open: " + why)
            c = out["greeted"][0]
            c.setblocking(True)
            c.settimeout(10)
            c.sendall(b"PING\r\n")
            self.assertEqual(c.recv(100), b"+PONG\r\n")
        finally:
            for s in socks:
                s.close()
        # Once they are gone, new ones are served again.
        wait_for(lambda: first_line(self.port).startswith("+OK"), what="a new connection greeted")

    def test_ulimit_256_caps_connections_with_a_warning_and_a_refusal(self):
        g = self.echo("events { worker_connections 100000; }\n", limit=256)
        self.assertRegex(g.log(), r"warn\].*worker_connections needs 100\d+ open files, but the hard limit is 256")
        self.flood(g, r"the open file limit \(256\) allows no more; raise worker_rlimit_nofile")

    def test_out_of_descriptors_refuses_with_the_reserve_and_keeps_serving(self):
        g = self.echo()
        # The limit falls under the worker's feet: accept() meets EMFILE.
        for pid in g.worker_pids():
            set_nofile_of(pid, 200)
        self.flood(g, r"the process is out of file descriptors \(EMFILE\)")

    def test_worker_rlimit_nofile_sets_the_limit(self):
        g = self.echo("worker_rlimit_nofile 4096;\n")
        for pid in [g.proc.pid] + g.worker_pids():
            with open(f"/proc/{pid}/limits") as f:
                self.assertRegex(f.read(), r"Max open files\s+4096\s+4096", pid)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


class MasterDeathTest(SmtpTest):
    """What systemd's Restart=on-failure meets: a master killed with -9,
    alone or with its workers in the middle of deliveries."""
    workers = 2

    def deliver_until(self, stop, acked):
        import smtplib
        n = 0
        while not stop.is_set():
            try:
                with self.smtp() as s:
                    while not stop.is_set():
                        n += 1
                        tag = f"{threading.get_ident()}.{n}"
                        s.sendmail("x@remote.test", ["alice@example.test"],
                                   f"Subject: {tag}\r\nMessage-Id: <{tag}@remote.test>\r\n\r\nbody {tag}\r\n")
                        acked.append(tag)
            except (OSError, smtplib.SMTPException):
                pass  # the server died under us; what it acknowledged counts

    def under_load(self, kill):
        """Delivers on 4 connections, runs kill once 100 are acknowledged."""
        stop, acked = threading.Event(), []
        threads = [threading.Thread(target=self.deliver_until, args=(stop, acked)) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: len(acked) >= 100, timeout=30, what="100 deliveries")
            kill()
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        return list(acked)

    def restart(self):
        self.g.proc.wait(10)
        self.g.proc.stdout.close()
        self.g.start()
        self.assertRegex(self.g.log(), r'notice\].*pid file ".*gannet.pid" was left by pid \d+, which is gone: taking over')

    def stored(self):
        out = self.ctl("mailbox", "list", "alice@example.test")
        return int(re.search(r"^INBOX\t(\d+) messages", out, re.M).group(1))

    def test_second_master_is_refused_while_the_first_runs(self):
        r = subprocess.run([GANNET, "-c", self.g.conf], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"gannet is already running (pid {self.g.proc.pid} holds", r.stdout + r.stderr + self.g.log())
        with self.smtp() as s:
            self.assertEqual(s.noop()[0], 250)
        # -s finds the master; once it is gone, -s says the file is stale.
        workers = self.g.worker_pids()
        self.g.proc.kill()
        wait_for(lambda: not any(alive(p) for p in workers), what="the workers to follow their master")
        r = subprocess.run([GANNET, "-c", self.g.conf, "-s", "reload"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn("gannet is not running", r.stderr)

    def test_new_master_starts_over_the_pid_file_and_store_of_a_killed_one(self):
        # kill -9 of the master alone: its workers leave by themselves.
        workers = self.g.worker_pids()
        acked = self.under_load(self.g.proc.kill)
        wait_for(lambda: not any(alive(p) for p in workers), what="the workers to follow their master")
        self.restart()
        self.assertGreaterEqual(self.stored(), len(acked))
        # kill -9 of the whole tree (the OOM killer, a cgroup kill), with
        # workers in the middle of a write transaction.
        before = self.stored()
        def kill_all():
            for pid in [self.g.proc.pid] + self.g.worker_pids():
                os.kill(pid, 9)
        acked = self.under_load(kill_all)
        self.restart()
        got = self.stored() - before
        self.assertGreaterEqual(got, len(acked), "an acknowledged message was lost")
        self.assertLessEqual(got, len(acked) + 4, "more stored than was sent")
        with self.smtp() as s:
            s.sendmail("x@remote.test", ["alice@example.test"], "Subject: after\r\n\r\nstill here\r\n")
        self.assertEqual(self.stored() - before, got + 1)


def set_nofile_of(pid, n):
    """prlimit on another process needs its uids and gids (or CAP_SYS_RESOURCE,
    which a container's root may lack): do it as the worker's account."""
    with open(f"/proc/{pid}/status") as f:
        status = f.read()
    uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
    gid = int(re.search(r"^Gid:\s+(\d+)", status, re.M).group(1))
    def become():
        if os.geteuid() == 0:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
    subprocess.run(["prlimit", f"--pid={pid}", f"--nofile={n}:{n}"], preexec_fn=become, check=True)


def first_line(port):
    from harness import Client
    c = Client(port)
    try:
        return c.line()
    finally:
        c.close()


if __name__ == "__main__":
    main()
