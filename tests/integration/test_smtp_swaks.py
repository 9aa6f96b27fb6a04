"""SMTP end to end with swaks, a second real client beside smtplib: MX
delivery, pipelining, STARTTLS then AUTH, implicit TLS, and the refusals
swaks reports through its exit code."""
import shutil
import subprocess

from harness import main
from smtp_harness import SmtpTest

SWAKS = shutil.which("swaks")
# swaks's exit codes (swaks(1), EXIT CODES).
OK, AUTH_FAILED, RCPT_FAILED, MAIL_FAILED = 0, 28, 24, 23


class SwaksTest(SmtpTest):
    submission_extra = "smtp_auth_plaintext on;"

    def setUp(self):
        if not SWAKS:
            self.fail("swaks is not installed (tools/install-deps installs it)")
        super().setUp()

    def swaks(self, port, *args):
        r = subprocess.run([SWAKS, "--server", "127.0.0.1", "--port", str(port), "--helo", "client.remote.test",
                            "--timeout", "20", *args], capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout + r.stderr

    def test_mx_delivery(self):
        rc, out = self.swaks(self.mx, "--from", "x@remote.test", "--to", "alice@example.test",
                             "--header", "Subject: from swaks", "--body", "Hello from swaks.")
        self.assertEqual(rc, OK, out)
        self.assertIn("queued as", out)
        stored = self.inbox("alice")
        self.assertEqual(len(stored), 1)
        self.assertTrue(stored[0].startswith(b"Return-Path: <x@remote.test>\r\nReceived: from client.remote.test"))
        self.assertIn(b"Subject: from swaks\r\n", stored[0])
        self.assertIn(b"\r\n\r\nHello from swaks.\r\n", stored[0])

    def test_pipelining(self):
        rc, out = self.swaks(self.mx, "--pipeline", "--from", "x@remote.test", "--to", "alice@example.test,bob@example.test",
                             "--body", "pipelined")
        self.assertEqual(rc, OK, out)
        self.assertEqual(len(self.inbox("alice")), 1)
        self.assertEqual(len(self.inbox("bob")), 1)

    def test_mx_refuses_relay_and_unknown_users(self):
        rc, out = self.swaks(self.mx, "--from", "x@remote.test", "--to", "someone@elsewhere.test")
        self.assertEqual(rc, RCPT_FAILED, out)
        self.assertIn("554 5.7.1", out)
        rc, out = self.swaks(self.mx, "--from", "x@remote.test", "--to", "nobody@example.test")
        self.assertEqual(rc, RCPT_FAILED, out)
        self.assertIn("550 5.1.1", out)
        self.assertEqual(self.ctl("queue", "list"), "0 queued\n")

    def test_starttls_then_auth_plain_submits(self):
        rc, out = self.swaks(self.sub, "--tls", "--auth", "PLAIN", "--auth-user", "alice@example.test",
                             "--auth-password", "alice-pw", "--from", "alice@example.test",
                             "--to", "bob@example.test,friend@remote.test", "--body", "via submission")
        self.assertEqual(rc, OK, out)
        self.assertIn("235 2.7.0", out)
        self.assertEqual(len(self.inbox("bob")), 1, "local: straight to the INBOX")
        queued = self.ctl("queue", "list").splitlines()
        self.assertEqual(queued[-1], "1 queued", "remote: queued")
        self.assertIn("friend@remote.test", self.ctl("queue", "show", queued[0].split("\t")[0]))
        self.assertEqual(self.inbox("alice"), [], "no copy kept for the sender")

    def test_implicit_tls_and_auth_login(self):
        rc, out = self.swaks(self.sub_tls, "--tls-on-connect", "--auth", "LOGIN", "--auth-user", "bob@example.test",
                             "--auth-password", "bob-pw", "--from", "bob@example.test", "--to", "alice@example.test")
        self.assertEqual(rc, OK, out)
        self.assertIn("with ESMTPSA", self.inbox("alice")[0].decode())

    def test_wrong_password_and_foreign_sender(self):
        rc, out = self.swaks(self.sub, "--tls", "--auth", "PLAIN", "--auth-user", "alice@example.test",
                             "--auth-password", "wrong", "--from", "alice@example.test", "--to", "bob@example.test")
        self.assertEqual(rc, AUTH_FAILED, out)
        self.assertIn("535 5.7.8", out)
        rc, out = self.swaks(self.sub, "--tls", "--auth", "PLAIN", "--auth-user", "alice@example.test",
                             "--auth-password", "alice-pw", "--from", "bob@example.test", "--to", "bob@example.test")
        self.assertEqual(rc, MAIL_FAILED, out)
        self.assertIn("553 5.7.1", out)
        self.assertEqual(self.inbox("bob"), [])


if __name__ == "__main__":
    main()
