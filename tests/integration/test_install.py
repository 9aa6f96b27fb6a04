"""tools/install as a service manager runs it: the staged tree, the systemd
unit (systemd-analyze verify), and the installed config started for real
with the commands the unit, logrotate and certbot's deploy hook run."""
import os
import pwd
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import unittest

from harness import GANNET, Gannet, GannetTest, free_port, insecure_context, main, make_cert, wait_for

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
BUILD = os.path.dirname(os.path.abspath(GANNET))
PREFIX = "/usr/local"
PATHS = ("/etc/gannet", "/var/lib/gannet", "/var/log/gannet", "/run/gannet", PREFIX)


def uid_of(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1))


def peer_cn(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with insecure_context().wrap_socket(raw) as s:
            der = s.getpeercert(binary_form=True)
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(["openssl", "x509", "-noout", "-subject"], input=pem, capture_output=True, text=True).stdout
    return out.strip()


class Staged(Gannet):
    """The installed config, started from the staged tree: its absolute paths
    moved under the stage and its ports made free ones."""

    def __init__(self, stage):
        self.dir = stage
        self.conf = os.path.join(stage, "etc/gannet/gannet.conf")
        self.error_log = os.path.join(stage, "var/log/gannet/error.log")
        self.workers = os.cpu_count()
        self.proc = None
        with open(self.conf) as f:
            text = f.read()
        self.ports = {}
        def fresh(m):
            self.ports.setdefault(int(m.group(2)), free_port())
            return m.group(1) + str(self.ports[int(m.group(2))])
        text = re.sub(r"(listen\s+(?:127\.0\.0\.1|\[::1\]):)(\d+)", fresh, text)
        for p in PATHS:
            text = text.replace(p + "/", stage + p + "/").replace(p + ";", stage + p + ";")
        with open(self.conf, "w") as f:
            f.write(text)

    def stop(self):
        super().stop()  # removes the stage too


@unittest.skipUnless(os.geteuid() == 0, "tools/install runs as root: it creates the account and owns files for it")
class InstallTest(GannetTest):
    def setUp(self):
        super().setUp()
        self.stage = tempfile.mkdtemp(prefix="gannet-stage-")
        os.chmod(self.stage, 0o755)  # the workers' account walks down to the store
        r = subprocess.run([os.path.join(ROOT, "tools/install"), "--destdir", self.stage, "--builddir", BUILD,
                            "--no-deps", "--no-build"], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.user = pwd.getpwnam("gannet")

    def tearDown(self):
        super().tearDown()
        shutil.rmtree(self.stage, ignore_errors=True)

    def staged(self, path):
        return os.path.join(self.stage, path.lstrip("/"))

    def command_of(self, path, pattern):
        """A command line from an installed file, run against the stage."""
        with open(self.staged(path)) as f:
            line = re.search(pattern, f.read(), re.M).group(1)
        for p in PATHS:
            line = line.replace(p + "/", self.stage + p + "/")
        return line

    def test_tree_owners_and_modes(self):
        for path, mode, owner in [(PREFIX + "/sbin/gannet", 0o755, 0), (PREFIX + "/bin/gannetctl", 0o755, 0),
                                  ("/etc/gannet/gannet.conf", 0o644, 0), ("/etc/gannet/cert.key", 0o600, 0),
                                  ("/var/lib/gannet", 0o700, self.user.pw_uid),
                                  ("/var/log/gannet", 0o750, self.user.pw_uid),
                                  ("/etc/logrotate.d/gannet", 0o644, 0),
                                  (PREFIX + "/share/gannet/certbot-deploy-hook", 0o755, 0)]:
            st = os.stat(self.staged(path))
            self.assertEqual((st.st_mode & 0o7777, st.st_uid), (mode, owner), path)
        with open(self.staged("/etc/gannet/gannet.conf")) as f:
            conf = f.read()
        self.assertIn("store_path /var/lib/gannet;", conf)
        self.assertIn("pid /run/gannet/gannet.pid;", conf)
        self.assertIn("listen 127.0.0.1:25;", conf)
        self.assertNotRegex(conf, r"(?m)^\s*listen\s+(?!127\.0\.0\.1|\[::1\])", "the installed config stays on loopback")

    def test_a_second_install_keeps_the_admins_config_and_key(self):
        conf, key = self.staged("/etc/gannet/gannet.conf"), self.staged("/etc/gannet/cert.key")
        with open(conf, "a") as f:
            f.write("# the admin's line\n")
        with open(key) as f:
            old_key = f.read()
        r = subprocess.run([os.path.join(ROOT, "tools/install"), "--destdir", self.stage, "--builddir", BUILD,
                            "--no-deps", "--no-build"], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(conf) as f:
            self.assertIn("# the admin's line", f.read())
        with open(key) as f:
            self.assertEqual(f.read(), old_key)

    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze is not installed")
    def test_systemd_unit_verifies(self):
        unit = self.staged("/etc/systemd/system/gannet.service")
        with open(unit) as f:
            text = f.read()
        for want in ["Type=simple", "ExecReload=/usr/local/sbin/gannet -c /etc/gannet/gannet.conf -s reload",
                     "Restart=on-failure", "NoNewPrivileges=yes", "ProtectSystem=strict",
                     "ReadWritePaths=/var/lib/gannet /var/log/gannet", "CAP_NET_BIND_SERVICE"]:
            self.assertIn(want, text)
        # verify wants the binaries where the unit names them: point it at the stage.
        check = os.path.join(self.stage, "gannet.service")
        with open(check, "w") as f:
            f.write(text.replace(PREFIX + "/sbin/", self.staged(PREFIX + "/sbin/")))
        r = subprocess.run(["systemd-analyze", "verify", check], capture_output=True, text=True, timeout=60)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))

    def test_installed_config_serves_reopens_logs_and_takes_a_renewed_certificate(self):
        g = Staged(self.stage)
        os.makedirs(self.staged("/run/gannet"), exist_ok=True)  # systemd's RuntimeDirectory=
        check = self.command_of("/etc/systemd/system/gannet.service", r"^ExecStartPre=(.*)$")
        r = subprocess.run(check.split(), capture_output=True, text=True, timeout=60)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""), "ExecStartPre: gannet -t -q")
        self.servers.append(g)
        g.start()
        for pid in g.worker_pids():
            self.assertEqual(uid_of(pid), self.user.pw_uid)

        ctl = [self.staged(PREFIX + "/bin/gannetctl"), "-c", g.conf]
        subprocess.run(ctl + ["domain", "add", "example.test"], check=True, capture_output=True, timeout=60)
        subprocess.run(ctl + ["user", "add", "alice@example.test", "--password-stdin"], input="pw\n", check=True,
                       capture_output=True, text=True, timeout=60)
        with smtplib.SMTP("127.0.0.1", g.ports[25], timeout=10) as s:
            s.sendmail("bob@example.net", ["alice@example.test"], b"Subject: installed\r\n\r\nhello\r\n")
        listing = subprocess.run(ctl + ["mailbox", "list", "alice@example.test"], capture_output=True, text=True,
                                 timeout=60).stdout
        self.assertRegex(listing, r"INBOX\s+1 messages")

        # logrotate moves the session log away and runs its postrotate line.
        session = self.staged("/var/log/gannet/session.log")
        os.rename(session, session + ".1")
        reopen = self.command_of("/etc/logrotate.d/gannet", r"^\s+(\S+/gannet -c \S+ -s reopen)")
        subprocess.run(reopen.split(), check=True, timeout=60)
        wait_for(lambda: os.path.exists(session), what="a new session.log")
        self.assertEqual(os.stat(session).st_uid, self.user.pw_uid)
        with smtplib.SMTP("127.0.0.1", g.ports[25], timeout=10) as s:
            s.noop()
        wait_for(lambda: os.path.getsize(session) > 0, what="the next session logged in the new file")

        # certbot renews: the deploy hook installs the chain and key and reloads.
        self.assertNotIn("renewed.test", peer_cn(g.ports[465]))
        lineage = os.path.join(self.stage, "live")
        os.mkdir(lineage)
        cert, key = make_cert(lineage, "new", "renewed.test", "rsa", ["renewed.test"])
        os.rename(cert, os.path.join(lineage, "fullchain.pem"))
        os.rename(key, os.path.join(lineage, "privkey.pem"))
        hook = os.path.join(self.stage, "hook")
        with open(self.staged(PREFIX + "/share/gannet/certbot-deploy-hook")) as f:
            text = f.read().replace(PREFIX + "/sbin/", self.staged(PREFIX + "/sbin/"))
        with open(hook, "w") as f:
            f.write(text)
        r = subprocess.run(["sh", hook], env={**os.environ, "RENEWED_LINEAGE": lineage, "GANNET_CONF": g.conf},
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("new certificate", r.stdout)
        self.assertEqual(os.stat(self.staged("/etc/gannet/cert.key")).st_mode & 0o777, 0o600)
        wait_for(lambda: "renewed.test" in peer_cn(g.ports[465]), timeout=20, what="the renewed certificate served")


if __name__ == "__main__":
    main()
