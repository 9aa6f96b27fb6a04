"""An SMTP server on loopback with a store holding example.test's users."""
import os
import smtplib
import socket
import subprocess

from harness import GANNET, GannetTest, free_port, make_cert, wait_for

GANNETCTL = os.path.join(os.path.dirname(GANNET), "gannetctl")


class SmtpTest(GannetTest):
    """Starts gannet with an MX and a submission server; alice, bob exist."""

    mx_extra = ""
    submission_extra = ""
    workers = 2

    def setUp(self):
        super().setUp()
        self.mx, self.sub, self.sub_tls = free_port(), free_port(), free_port()
        self.g = self.gannet(self.conf(), workers=self.workers, start=False)
        make_cert(self.g.dir, "cert", "mail.example.test", "rsa", ["mail.example.test"])
        self.ctl("domain", "add", "example.test")
        for user in ("alice", "bob"):
            self.ctl("user", "add", f"{user}@example.test", "--password-stdin", stdin=f"{user}-pw\n")
        self.ctl("alias", "add", "team@example.test", "alice@example.test")
        self.ctl("alias", "add", "team@example.test", "bob@example.test")
        self.g.start()

    def conf(self):
        return f"""
mail {{
    server_name mail.example.test;
    ssl_certificate cert.pem; ssl_certificate_key cert.key;
    server {{ listen 127.0.0.1:{self.mx}; listen [::1]:{self.mx}; protocol smtp; smtp_role mx;
             {self.mx_extra or "smtp_max_message_size 1m;"} }}
    server {{ listen 127.0.0.1:{self.sub}; protocol smtp; smtp_role submission; smtp_auth_failure_delay 50ms;
             {self.submission_extra} }}
    server {{ listen 127.0.0.1:{self.sub_tls} ssl; protocol smtp; smtp_role submission; }}
}}
"""

    def ctl(self, *args, stdin=""):
        r = subprocess.run([GANNETCTL, "-c", self.g.conf, *args], input=stdin, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, f"{args}: {r.stderr}")
        return r.stdout

    def inbox(self, user, mailbox="INBOX"):
        """The stored messages of a mailbox, oldest first, as bytes."""
        out = []
        for line in self.ctl("mailbox", "show", f"{user}@example.test", mailbox).splitlines():
            uid = line.split("\t")[0]
            r = subprocess.run([GANNETCTL, "-c", self.g.conf, "message", "show", f"{user}@example.test", mailbox, uid],
                               capture_output=True, timeout=60)
            out.append(r.stdout)
        return out

    def smtp(self, port=None):
        return smtplib.SMTP("127.0.0.1", port or self.mx, timeout=20)


class Raw:
    """A raw SMTP dialogue, for what smtplib will not send."""

    def __init__(self, port, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=20)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def reply(self):
        """One whole (possibly multi-line) reply: (code, [lines])."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("closed; had " + repr(self.buf))
                self.buf += data
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line.decode())
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3]), lines

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def closed(self):
        try:
            return self.sock.recv(65536) == b""
        except ConnectionResetError:
            return True
