"""POP3 end to end: Python's poplib against the real gannet over STLS and
995, mail delivered over SMTP first; what RETR and TOP send, UIDL as IMAP
sees the mailbox, DELE and QUIT durably, and a dropped session that
deletes nothing."""
import imaplib
import os
import poplib
import shutil
import socket
import ssl
import subprocess
import unittest

from harness import free_port, main, wait_for
from smtp_harness import SmtpTest

MESSAGE = (b"From: Bob <bob@example.net>\r\nTo: alice@example.test\r\nSubject: hello\r\n\r\n"
           b"First line.\r\n.starts with a dot\r\nThird line.\r\n")


class Pop3Base(SmtpTest):
    """SMTP, POP3 on STLS, on TLS and in plaintext, and IMAP beside them."""

    def setUp(self):
        self.pop3, self.pop3s, self.pop3_plain, self.imap = free_port(), free_port(), free_port(), free_port()
        super().setUp()

    def conf(self):
        return super().conf().rstrip().rstrip("}") + f"""
    server {{ listen 127.0.0.1:{self.pop3}; protocol pop3; pop3_auth_failure_delay 50ms; }}
    server {{ listen 127.0.0.1:{self.pop3s} ssl; protocol pop3; }}
    server {{ listen 127.0.0.1:{self.pop3_plain}; protocol pop3; pop3_auth_plaintext on; }}
    server {{ listen 127.0.0.1:{self.imap}; protocol imap; imap_auth_plaintext on; }}
}}
"""

    def tls(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def deliver(self, msg=MESSAGE):
        with self.smtp() as s:
            s.sendmail("bob@example.net", ["alice@example.test"], msg)

    def stls(self):
        p = poplib.POP3("127.0.0.1", self.pop3, timeout=20)
        p.stls(context=self.tls())
        return p


class Pop3Test(Pop3Base):

    def test_login_only_after_stls_and_a_wrong_password_waits(self):
        p = poplib.POP3("127.0.0.1", self.pop3, timeout=20)
        caps = p.capa()
        self.assertIn("STLS", caps)
        self.assertNotIn("USER", caps)
        with self.assertRaisesRegex(poplib.error_proto, r"\[AUTH\]"):
            p.user("alice@example.test")
        p.stls(context=self.tls())
        self.assertIn("SASL", p.capa())
        p.user("alice@example.test")
        with self.assertRaisesRegex(poplib.error_proto, r"-ERR \[AUTH\] Authentication failed"):
            p.pass_("wrong")
        p.user("alice@example.test")
        self.assertTrue(p.pass_("alice-pw").startswith(b"+OK"))
        p.quit()

    def test_retr_top_list_uidl_dele_and_quit_over_995(self):
        self.deliver()
        self.deliver(MESSAGE.replace(b"hello", b"second"))
        stored = self.inbox("alice")
        p = poplib.POP3_SSL("127.0.0.1", self.pop3s, context=self.tls(), timeout=20)
        p.user("alice@example.test")
        p.pass_("alice-pw")
        self.assertEqual(p.stat(), (2, len(stored[0]) + len(stored[1])))
        self.assertEqual(p.list()[1], [b"1 %d" % len(stored[0]), b"2 %d" % len(stored[1])])
        resp, lines, octets = p.retr(1)
        self.assertEqual(b"\r\n".join(lines) + b"\r\n", stored[0])  # poplib undoes the dot-stuffing
        resp, lines, _ = p.top(2, 0)
        self.assertEqual(b"\r\n".join(lines) + b"\r\n", stored[1][:stored[1].index(b"\r\n\r\n") + 4])
        resp, lines, _ = p.top(2, 2)
        self.assertEqual(lines[-2:], [b"First line.", b".starts with a dot"])
        # UIDL names the message as IMAP does: UIDVALIDITY and UID.
        uidls = [l.split()[1].decode() for l in p.uidl()[1]]
        c = imaplib.IMAP4("127.0.0.1", self.imap, timeout=20)
        c.login("alice@example.test", "alice-pw")
        c.select("INBOX")
        validity = int(c.untagged_responses["UIDVALIDITY"][0])
        self.assertEqual(uidls, ["%08x%08x" % (validity, 1), "%08x%08x" % (validity, 2)])
        p.dele(2)
        self.assertEqual(p.stat()[0], 1)
        with self.assertRaisesRegex(poplib.error_proto, "No such message"):
            p.retr(2)
        p.rset()
        self.assertEqual(p.stat()[0], 2)
        p.dele(1)
        self.assertEqual(len(self.inbox("alice")), 2, "nothing goes before QUIT")
        p.quit()
        self.assertEqual(self.inbox("alice"), [stored[1]])
        c.noop()
        # RETR made the first \\Seen before it went; the second was only looked at with TOP.
        self.assertEqual(c.fetch("1", "FLAGS")[1], [b"1 (FLAGS ())"])
        c.logout()

    def test_a_dropped_session_deletes_nothing_and_numbers_do_not_shift(self):
        self.deliver()
        p = poplib.POP3("127.0.0.1", self.pop3_plain, timeout=20)
        p.user("alice@example.test")
        p.pass_("alice-pw")
        self.deliver()  # arrives during the session: not in its maildrop
        self.assertEqual(p.stat()[0], 1)
        p.dele(1)
        p.close()  # no QUIT: no UPDATE

        def login():  # [IN-USE] until the server has seen the drop
            q = poplib.POP3("127.0.0.1", self.pop3_plain, timeout=20)
            q.user("alice@example.test")
            try:
                q.pass_("alice-pw")
                return q
            except poplib.error_proto as e:
                self.assertIn(b"[IN-USE]", e.args[0])
                q.quit()
                return None
        q = wait_for(login, what="the dropped session's lock to go")
        self.assertEqual(q.stat()[0], 2)
        resp, lines, _ = q.retr(1)
        q.quit()
        self.assertEqual(len(self.inbox("alice")), 2)
        c = imaplib.IMAP4("127.0.0.1", self.imap, timeout=20)
        c.login("alice@example.test", "alice-pw")
        c.select("INBOX")
        self.assertEqual(c.fetch("1:2", "FLAGS")[1], [b"1 (FLAGS (\\Seen))", b"2 (FLAGS ())"], "RETR sets \\Seen")
        c.logout()

    def test_a_message_expunged_over_imap_meanwhile(self):
        self.deliver()
        self.deliver(MESSAGE.replace(b"hello", b"second"))
        p = poplib.POP3("127.0.0.1", self.pop3_plain, timeout=20)
        self.assertIn("EXPIRE", p.capa())
        p.user("alice@example.test")
        p.pass_("alice-pw")
        c = imaplib.IMAP4("127.0.0.1", self.imap, timeout=20)
        c.login("alice@example.test", "alice-pw")
        c.select("INBOX")
        c.store("1", "+FLAGS", "(\\Deleted)")
        c.expunge()
        c.logout()
        with self.assertRaisesRegex(poplib.error_proto, r"-ERR \[SYS/PERM\]"):
            p.retr(1)
        self.assertTrue(p.retr(2)[0].startswith(b"+OK"))
        p.dele(1)  # already gone: QUIT must not fail for it, nor take anything else
        p.quit()
        stored = self.inbox("alice")
        self.assertEqual(len(stored), 1)
        self.assertIn(b"Subject: second", stored[0])

    def test_one_session_a_maildrop_and_a_user_without_mail(self):
        p = poplib.POP3("127.0.0.1", self.pop3_plain, timeout=20)
        p.user("alice@example.test")
        p.pass_("alice-pw")
        self.assertEqual(p.stat(), (0, 0))  # no mail yet: no INBOX, an empty maildrop
        q = poplib.POP3("127.0.0.1", self.pop3_plain, timeout=20)
        q.user("alice@example.test")
        with self.assertRaisesRegex(poplib.error_proto, r"-ERR \[IN-USE\]"):
            q.pass_("alice-pw")
        p.quit()
        q.user("alice@example.test")
        self.assertTrue(q.pass_("alice-pw").startswith(b"+OK"))
        q.quit()

    @unittest.skipUnless(shutil.which("doveadm"), "doveadm (dovecot-core) is not installed")
    def test_a_user_imported_with_a_dovecot_hash_logs_in(self):
        made = subprocess.run(["doveadm", "pw", "-s", "ARGON2ID", "-p", "from-dovecot"], capture_output=True,
                              text=True, timeout=60, check=True).stdout.strip()
        path = os.path.join(self.g.dir, "passwd")
        with open(path, "w") as f:
            f.write(f"carol@example.test:{made}\n")
        self.ctl("import", "passwd-file", path)
        p = poplib.POP3("127.0.0.1", self.pop3_plain, timeout=20)
        p.user("carol@example.test")
        with self.assertRaisesRegex(poplib.error_proto, r"\[AUTH\]"):
            p.pass_("wrong")
        p.user("carol@example.test")
        self.assertTrue(p.pass_("from-dovecot").startswith(b"+OK"))
        p.quit()

    def test_pipelined_commands_and_garbage(self):
        self.deliver()
        s = socket.create_connection(("127.0.0.1", self.pop3_plain), timeout=20)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"+OK"))
        s.sendall(b"STAT\r\nUSER alice@example.test\r\nPASS alice-pw\r\nSTAT\r\nNOOP\r\n\xff\xfe garbage\r\n"
                  + b"X" * 300 + b"\r\nLIST 9\r\nQUIT\r\n")
        replies = [f.readline() for _ in range(9)]
        self.assertEqual(replies[0], b"-ERR Log in first\r\n")
        self.assertTrue(replies[1].startswith(b"+OK") and replies[2].startswith(b"+OK Logged in"))
        self.assertTrue(replies[3].startswith(b"+OK 1 "))
        self.assertEqual(replies[4:], [b"+OK\r\n", b"-ERR Bad command line\r\n", b"-ERR Bad command line\r\n",
                                       b"-ERR No such message\r\n", b"+OK Bye\r\n"])

    def test_a_megabyte_line_and_ten_thousand_pipelined_commands(self):
        self.deliver()
        s = socket.create_connection(("127.0.0.1", self.pop3_plain), timeout=20)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"USER " + b"x" * (1 << 20) + b"\r\nNOOP\r\n")
        self.assertEqual(f.readline(), b"-ERR Line too long\r\n")
        self.assertEqual(f.readline(), b"-ERR Log in first\r\n")
        s.sendall(b"USER alice@example.test\r\nPASS alice-pw\r\n")
        self.assertTrue(f.readline().startswith(b"+OK"))
        self.assertTrue(f.readline().startswith(b"+OK Logged in"))
        s.sendall(b"STAT\r\n" * 10000)
        for _ in range(10000):
            self.assertTrue(f.readline().startswith(b"+OK 1 "))
        s.sendall(b"QUIT\r\n")
        self.assertEqual(f.readline(), b"+OK Bye\r\n")


FETCHMAIL = shutil.which("fetchmail")

@unittest.skipUnless(FETCHMAIL, "fetchmail is not installed (apt-get install fetchmail)")
class FetchmailTest(Pop3Base):
    """fetchmail downloads 100 messages over POP3 with STLS into an mbox;
    run again, it fetches nothing twice."""

    def fetch(self, rc, mbox):
        r = subprocess.run([FETCHMAIL, "-f", rc, "--nosyslog", "--mda", f"cat >> {mbox}", "-v"],
                           capture_output=True, text=True, timeout=120,
                           env={**os.environ, "HOME": self.g.dir, "FETCHMAILHOME": self.g.dir})
        return r.returncode, r.stdout + r.stderr

    def test_fetchmail_downloads_everything_once(self):
        sent = [MESSAGE.replace(b"hello", b"message %d" % i) for i in range(100)]
        with self.smtp() as s:
            for m in sent:
                s.sendmail("bob@example.net", ["alice@example.test"], m)
        stored = self.inbox("alice")
        rc = os.path.join(self.g.dir, "fetchmailrc")
        mbox = os.path.join(self.g.dir, "mbox")
        with open(rc, "w") as f:
            f.write(f'poll 127.0.0.1 service {self.pop3} protocol pop3 auth password\n'
                    f'  user "alice@example.test" password "alice-pw" sslproto tls1.2+ no sslcertck\n'
                    f'  keep\n')
        os.chmod(rc, 0o600)
        code, out = self.fetch(rc, mbox)
        self.assertEqual(code, 0, out)
        self.assertIn("STLS", out)
        with open(mbox, "rb") as f:
            got = f.read()
        for m in stored:  # every message as stored, byte for byte (fetchmail adds its own Received)
            self.assertIn(m[m.index(b"From: Bob"):].replace(b"\r\n", b"\n"), got.replace(b"\r\n", b"\n"))
        self.assertEqual(got.count(b"Subject: message "), 100)
        # Again: UIDL tells fetchmail it has them all (keep + its .fetchids).
        code, out = self.fetch(rc, mbox)
        self.assertEqual(code, 1, out)  # fetchmail's "no mail"
        with open(mbox, "rb") as f:
            self.assertEqual(f.read().count(b"Subject: message "), 100)


if __name__ == "__main__":
    main()
