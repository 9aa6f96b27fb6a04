"""Running as a real service: the workers' account, open-file limits, pid
file and master death, with the shipped default config where it matters."""
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import GANNET, Gannet, GannetTest, free_port, main, make_cert, wait_for

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


if __name__ == "__main__":
    main()
