"""IMAP end to end: the real gannet on loopback, Python's imaplib as the
client, mail delivered over SMTP first and read back byte for byte."""
import imaplib
import socket
import ssl
import unittest

from harness import free_port, main
from smtp_harness import SmtpTest

MESSAGE = (b"From: Bob <bob@example.net>\r\nTo: alice@example.test\r\nSubject: hello\r\n"
           b"Date: Thu, 1 Jan 2026 10:00:00 +0000\r\n\r\nFirst line.\r\nSecond line.\r\n")


class ImapBase(SmtpTest):
    """Gannet with SMTP and three IMAP servers: STARTTLS, TLS, and one that
    allows a login in plaintext (for raw dialogues)."""
    workers = 2

    def setUp(self):
        self.imap_port, self.imaps_port, self.imap_plain = free_port(), free_port(), free_port()
        super().setUp()

    def conf(self):
        return super().conf().rstrip().rstrip("}") + f"""
    server {{ listen 127.0.0.1:{self.imap_port}; protocol imap; imap_auth_failure_delay 50ms; }}
    server {{ listen 127.0.0.1:{self.imaps_port} ssl; protocol imap; }}
    server {{ listen 127.0.0.1:{self.imap_plain}; protocol imap; imap_auth_plaintext on; }}
}}
"""

    def deliver(self, msg=MESSAGE, to="alice@example.test"):
        with self.smtp() as s:
            s.sendmail("bob@example.net", [to], msg)

    def tls(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def starttls(self):
        c = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=20)
        c.starttls(ssl_context=self.tls())
        return c

    def raw(self, port=None):
        s = socket.create_connection(("127.0.0.1", port or self.imap_plain), timeout=20)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"* OK [CAPABILITY IMAP4rev1"))
        return s, f

    def until_tagged(self, f, tag):
        lines = []
        while True:
            line = f.readline()
            self.assertTrue(line, "connection closed; had %r" % lines)
            lines.append(line.decode(errors="replace").rstrip("\r\n"))
            if line.startswith(tag.encode() + b" "):
                return lines


class ImapTest(ImapBase):

    def test_login_is_refused_before_tls_and_works_after_starttls(self):
        c = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=20)
        self.assertIn("LOGINDISABLED", c.capabilities)
        self.assertIn("STARTTLS", c.capabilities)
        with self.assertRaisesRegex(imaplib.IMAP4.error, r"PRIVACYREQUIRED"):
            c.login("alice@example.test", "alice-pw")
        c.starttls(ssl_context=self.tls())
        self.assertNotIn("LOGINDISABLED", c.capabilities)
        self.assertIn("AUTH=PLAIN", c.capabilities)
        typ, data = c.login("alice@example.test", "alice-pw")
        self.assertEqual(typ, "OK")
        self.assertRegex(data[0].decode(), r"^\[CAPABILITY IMAP4rev1 .*\] Logged in$")
        c.logout()

    def test_wrong_password_is_refused_after_the_delay(self):
        c = self.starttls()
        with self.assertRaisesRegex(imaplib.IMAP4.error, r"\[AUTHENTICATIONFAILED\]"):
            c.login("alice@example.test", "wrong")
        with self.assertRaisesRegex(imaplib.IMAP4.error, r"\[AUTHENTICATIONFAILED\]"):
            c.login("nobody@example.test", "alice-pw")
        self.assertEqual(c.login("alice@example.test", "alice-pw")[0], "OK")
        c.logout()

    def test_authenticate_plain_over_implicit_tls(self):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port, ssl_context=self.tls(), timeout=20)
        typ, _ = c.authenticate("PLAIN", lambda _: b"\0alice@example.test\0alice-pw")
        self.assertEqual(typ, "OK")
        self.assertEqual(c.select("INBOX")[0], "OK")
        c.logout()

    def test_select_and_fetch_a_delivered_message(self):
        self.deliver()
        self.deliver(MESSAGE.replace(b"hello", b"second"))
        c = self.starttls()
        c.login("alice@example.test", "alice-pw")
        typ, data = c.select("INBOX")
        self.assertEqual((typ, data), ("OK", [b"2"]))
        self.assertEqual(c.untagged_responses.get("UIDVALIDITY", [b"0"])[0] != b"0", True)
        self.assertEqual(c.untagged_responses["UIDNEXT"], [b"3"])
        self.assertEqual(c.untagged_responses["UNSEEN"], [b"1"])

        typ, data = c.fetch("1:*", "(UID FLAGS RFC822.SIZE)")
        self.assertEqual(typ, "OK")
        stored = self.inbox("alice")
        self.assertEqual(data, [f"1 (UID 1 FLAGS () RFC822.SIZE {len(stored[0])})".encode(),
                                f"2 (UID 2 FLAGS () RFC822.SIZE {len(stored[1])})".encode()])

        typ, data = c.fetch("1", "(BODY.PEEK[])")
        self.assertEqual(data[0][0], b"1 (BODY[] {%d}" % len(stored[0]))
        self.assertEqual(data[0][1], stored[0])
        self.assertTrue(stored[0].endswith(MESSAGE))
        self.assertEqual(c.fetch("1", "FLAGS")[1], [b"1 (FLAGS ())"], "PEEK leaves \\Seen alone")

        typ, data = c.uid("FETCH", "2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT DATE)] ENVELOPE BODYSTRUCTURE)")
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0][0], b"2 (UID 2 BODY[HEADER.FIELDS (SUBJECT DATE)] {57}")
        self.assertEqual(data[0][1], b"Subject: second\r\nDate: Thu, 1 Jan 2026 10:00:00 +0000\r\n\r\n")
        bob = b'(("Bob" NIL "bob" "example.net"))'
        self.assertEqual(data[1], b' ENVELOPE ("Thu, 1 Jan 2026 10:00:00 +0000" "second" ' + bob + b" " + bob + b" " + bob +
                         b' ((NIL NIL "alice" "example.test")) NIL NIL NIL NIL)'
                         b' BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 27 2 NIL NIL NIL NIL))')
        with self.assertRaisesRegex(imaplib.IMAP4.error, "unsupported FETCH item"):
            c.fetch("1", "(BODY[HEADER.FIELDS ()])")

        typ, data = c.uid("FETCH", "2", "(BODY[TEXT])")
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0][0], b"2 (UID 2 BODY[TEXT] {27}")
        self.assertEqual(data[0][1], b"First line.\r\nSecond line.\r\n")
        self.assertEqual(data[1], b" FLAGS (\\Seen))")

        typ, data = c.fetch("2", "(BODY.PEEK[HEADER]<0.10>)")
        self.assertEqual(data[0], (b"2 (BODY[HEADER]<0> {10}", stored[1][:10]))

        with self.assertRaisesRegex(imaplib.IMAP4.error, "Invalid sequence number"):
            c.fetch("3", "FLAGS")
        c.close()
        c.logout()

    def test_examine_is_read_only_and_seen_is_not_set(self):
        self.deliver()
        c = self.starttls()
        c.login("alice@example.test", "alice-pw")
        self.assertEqual(c.select("INBOX", readonly=True)[0], "OK")
        self.assertIn("READ-ONLY", c.untagged_responses)
        c.fetch("1", "(RFC822)")
        self.assertEqual(c.fetch("1", "FLAGS")[1], [b"1 (FLAGS ())"])
        c.logout()

    def test_list_names_the_default_mailboxes_with_their_special_use(self):
        c = self.starttls()
        c.login("bob@example.test", "bob-pw")
        typ, data = c.list()
        self.assertEqual(typ, "OK")
        lines = sorted(d.decode() for d in data)
        self.assertEqual(lines, ['(\\HasNoChildren \\Drafts) "/" "Drafts"', '(\\HasNoChildren \\Junk) "/" "Junk"',
                                 '(\\HasNoChildren \\Sent) "/" "Sent"', '(\\HasNoChildren \\Trash) "/" "Trash"',
                                 '(\\HasNoChildren) "/" "INBOX"'])
        self.assertEqual([d.decode() for d in c.list('""', "IN%")[1]], ['(\\HasNoChildren) "/" "INBOX"'])
        self.assertEqual(c.select("nosuch")[0], "NO")
        c.logout()

    def test_commands_in_the_wrong_state_and_bad_syntax_get_bad(self):
        s, f = self.raw()
        s.sendall(b"a1 SELECT INBOX\r\nnot-a-command\r\na2 FOO\r\na3 LOGIN \"unterminated\r\n"
                  b"a4 LOGIN ((((((((((((((((((((x))))))))))))))))))))\r\n")
        self.assertEqual(self.until_tagged(f, "a1")[-1], "a1 BAD Log in first")
        self.assertEqual(self.until_tagged(f, "not-a-command")[-1], "not-a-command BAD missing command")
        self.assertEqual(self.until_tagged(f, "a2")[-1], "a2 BAD Unknown command")
        self.assertEqual(self.until_tagged(f, "a3")[-1], "a3 BAD unterminated quoted string")
        self.assertEqual(self.until_tagged(f, "a4")[-1], "a4 BAD lists nested too deep")
        s.sendall(b"a5 LOGOUT\r\n")
        self.assertEqual(self.until_tagged(f, "a5")[-2:], ["* BYE Logging out", "a5 OK Logout completed"])
        self.assertEqual(f.read(), b"")

    def test_literals_synchronising_and_not(self):
        s, f = self.raw()
        s.sendall(b"a1 LOGIN {18}\r\n")
        self.assertEqual(f.readline(), b"+ Ready for literal data\r\n")
        s.sendall(b"alice@example.test {8+}\r\nalice-pw\r\n")
        self.assertEqual(self.until_tagged(f, "a1")[-1][:9], "a1 OK [CA")
        s.sendall(b"a2 SELECT {4294967296}\r\n")
        self.assertEqual(self.until_tagged(f, "a2")[-1], "a2 NO [TOOBIG] Literal too big")
        s.sendall(b"a3 SELECT {99999999999999999999999}\r\n")
        self.assertEqual(self.until_tagged(f, "a3")[-1], "a3 BAD Invalid literal")
        s.sendall(b"a4 NOOP\r\n")
        self.assertEqual(self.until_tagged(f, "a4")[-1], "a4 OK NOOP completed")
        s.sendall(b"a5 SELECT {100000000+}\r\n")
        self.assertEqual(f.readline(), b"* BYE [TOOBIG] Literal too big\r\n")
        self.assertEqual(f.read(), b"")


if __name__ == "__main__":
    main()
