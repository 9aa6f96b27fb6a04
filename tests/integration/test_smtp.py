"""SMTP end to end: MX delivery into the store, the extensions, limits,
relay tricks, smuggling, STARTTLS injection, submission with AUTH."""
import base64
import smtplib
import socket
import ssl
import subprocess
import threading

from harness import insecure_context, main, wait_for
from scram import ScramClient
from smtp_harness import GANNETCTL, Raw, SmtpTest

MSG = "From: x@remote.test\r\nTo: alice@example.test\r\nSubject: hello\r\n\r\nHi Alice.\r\n"


def b64(text):
    return base64.b64encode(text.encode()).decode()


def unb64(reply_line):
    """The text of a "334 <base64>" challenge."""
    return base64.b64decode(reply_line[4:], validate=True).decode()


class MxTest(SmtpTest):
    def test_plain_delivery_is_stored_with_trace_headers(self):
        with self.smtp() as s:
            code, ehlo = s.ehlo("client.remote.test")
            self.assertEqual(code, 250)
            for ext in (b"PIPELINING", b"SIZE 1048576", b"8BITMIME", b"SMTPUTF8", b"ENHANCEDSTATUSCODES",
                        b"CHUNKING", b"DSN", b"STARTTLS"):
                self.assertIn(ext, ehlo)
            self.assertNotIn(b"AUTH", ehlo, "no AUTH on the MX")
            s.sendmail("x@remote.test", ["alice@example.test"], MSG)
        stored = self.inbox("alice")
        self.assertEqual(len(stored), 1)
        self.assertTrue(stored[0].startswith(b"Return-Path: <x@remote.test>\r\nReceived: from client.remote.test ([127.0.0.1])"))
        self.assertIn(b"by mail.example.test (Gannet) with ESMTP id ", stored[0])
        self.assertTrue(stored[0].endswith(MSG.encode()))

    def test_one_body_for_several_recipients_and_aliases(self):
        with self.smtp() as s:
            s.sendmail("x@remote.test", ["team@example.test", "Bob@Example.Test"], MSG)
        self.assertEqual(len(self.inbox("alice")), 1)
        self.assertEqual(len(self.inbox("bob")), 1, "bob is reached twice but gets one copy")
        self.assertIn("bodies 1\n", self.ctl("store", "stats"))
        self.assertEqual(self.ctl("store", "check"), "store is consistent\n")

    def test_dot_unstuffing(self):
        body = "Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n"  # smtplib stuffs, we unstuff
        with self.smtp() as s:
            s.sendmail("x@remote.test", ["alice@example.test"], body)
        self.assertTrue(self.inbox("alice")[0].endswith(b"\r\n.leading dot\r\n..two dots\r\n.\r\n"))

    def test_pipelining(self):
        r = Raw(self.mx)
        self.assertEqual(r.reply()[0], 220)
        r.send("EHLO c\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nRCPT TO:<nobody@example.test>\r\n"
               "RCPT TO:<bob@example.test>\r\nDATA\r\n")
        codes = [r.reply()[0] for _ in range(6)]
        self.assertEqual(codes, [250, 250, 250, 550, 250, 354])
        r.send("Subject: p\r\n\r\nbody\r\n.\r\nRSET\r\nQUIT\r\n")
        self.assertEqual([r.reply()[0] for _ in range(3)], [250, 250, 221])
        self.assertEqual(len(self.inbox("alice")), 1)
        self.assertEqual(len(self.inbox("bob")), 1)

    def test_half_close_after_pipelined_quit_still_gets_every_reply(self):
        # A client that sends the end of its message and QUIT, then shuts its
        # side down (printf | nc), must still hear 250 for a message that is
        # stored: without it the client sends the message again.
        r = Raw(self.mx)
        r.reply()
        r.cmd("EHLO c")
        r.send("MAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
        self.assertEqual([r.reply()[0] for _ in range(3)], [250, 250, 354])
        r.send("Subject: half\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        r.sock.shutdown(socket.SHUT_WR)
        code, lines = r.reply()
        self.assertEqual(code, 250, lines)
        self.assertEqual(r.reply()[0], 221)
        self.assertTrue(r.closed())
        self.assertEqual(len(self.inbox("alice")), 1)

    def test_bdat(self):
        r = Raw(self.mx)
        r.reply()
        r.cmd("EHLO c")
        r.cmd("MAIL FROM:<x@remote.test> BODY=8BITMIME")
        r.cmd("RCPT TO:<alice@example.test>")
        part1, part2 = b"Subject: chunks\r\n\r\nQUIT\r\n", "caf\u00e9\r\n.\r\nend\r\n".encode()
        r.send(b"BDAT %d\r\n" % len(part1) + part1)
        self.assertEqual(r.reply()[0], 250)
        r.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
        code, lines = r.reply()
        self.assertEqual(code, 250, lines)
        self.assertIn("queued as", lines[0])
        self.assertEqual(r.cmd("NOOP")[0], 250)
        self.assertTrue(self.inbox("alice")[0].endswith(part1 + part2))

    def test_smtputf8(self):
        self.ctl("user", "add", "j\u00f6rg@example.test", "--password-stdin", stdin="pw\n")
        with self.smtp() as s:
            s.ehlo("c")
            s.sendmail("s\u00e9nder@remote.test", ["j\u00f6rg@example.test"], "Subject: utf8\r\n\r\nhi\r\n".encode(),
                       mail_options=["SMTPUTF8"])
        r = Raw(self.mx)
        r.reply()
        r.cmd("EHLO c")
        self.assertEqual(r.cmd("MAIL FROM:<s\u00e9nder@remote.test>")[0], 553, "UTF-8 needs SMTPUTF8")
        self.assertEqual(len(self.inbox("j\u00f6rg")), 1)

    def test_size_limit(self):
        with self.smtp() as s:
            s.ehlo("c")
            code, _ = s.mail("x@remote.test", ["SIZE=2000000"])
            self.assertEqual(code, 552)
            s.rset()
            # Without SIZE= the limit is found while reading DATA.
            s.mail("x@remote.test")
            s.rcpt("alice@example.test")
            code, _ = s.data("Subject: big\r\n\r\n" + ("x" * 990 + "\r\n") * 1100)
            self.assertEqual(code, 552)
            s.sendmail("x@remote.test", ["alice@example.test"], MSG)  # the session goes on
        self.assertEqual(len(self.inbox("alice")), 1)

    def test_long_lines(self):
        r = Raw(self.mx)
        r.reply()
        self.assertEqual(r.cmd("EHLO " + "a" * 600), (500, ["500 5.5.2 Error: line too long"]))
        r.cmd("EHLO c")
        r.cmd("MAIL FROM:<x@remote.test>")
        r.cmd("RCPT TO:<alice@example.test>")
        r.cmd("DATA")
        r.send("Subject: long\r\n\r\n" + "y" * 1200 + "\r\n.\r\n")
        self.assertEqual(r.reply()[0], 500)
        self.assertEqual(self.inbox("alice"), [])

    def test_relay_tricks_are_refused(self):
        tricks = ["<user%other.test@example.test>", "<@example.test:user@other.test>", '<"user@other.test"@example.test>',
                  "<user@other.test@example.test>", "<@a.test,@b.test:user@other.test>", "<user@other.test>",
                  "<other.test!user@example.test>", "<user@[127.0.0.1]>", "<postmaster@other.test>"]
        r = Raw(self.mx)
        r.reply()
        r.cmd("EHLO c")
        r.cmd("MAIL FROM:<x@remote.test>")
        for t in tricks:
            code, lines = r.cmd("RCPT TO:" + t)
            self.assertIn(code, (501, 550, 553, 554), f"{t}: {lines}")
        self.assertEqual(r.cmd("DATA")[0], 503, "no recipient may have been accepted")
        self.assertIn("queued 0\n", self.ctl("store", "stats"))

    def test_smuggling_variants_never_end_data(self):
        for ending in ["\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n"]:
            with self.subTest(ending=repr(ending)):
                r = Raw(self.mx)
                r.reply()
                r.cmd("EHLO c")
                r.cmd("MAIL FROM:<x@remote.test>")
                r.cmd("RCPT TO:<alice@example.test>")
                self.assertEqual(r.cmd("DATA")[0], 354)
                smuggled = "MAIL FROM:<evil@remote.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: smuggled\r\n"
                r.send("Subject: carrier\r\n\r\nhello" + ending + smuggled + "\r\n.\r\n")
                code, lines = r.reply()
                self.assertEqual(code, 550, lines)  # refused whole: bare CR/LF
                self.assertEqual(r.cmd("NOOP")[0], 250, "the smuggled commands were never run")
        self.assertEqual(self.inbox("alice"), [])
        self.assertEqual(self.inbox("bob"), [])

    def test_commands_ending_in_bare_lf_are_answered(self):
        # printf 'EHLO a\nQUIT\n' | nc: answered at once, as Postfix does.
        r = Raw(self.mx)
        r.reply()
        r.send("EHLO a\nQUIT\n")
        r.sock.shutdown(socket.SHUT_WR)
        self.assertEqual(r.reply()[0], 250)
        self.assertEqual(r.reply()[0], 221)
        self.assertTrue(r.closed())

    def test_bare_lf_commands_but_data_ends_only_at_crlf_dot_crlf(self):
        r = Raw(self.mx)
        r.reply()
        r.send("EHLO a\nMAIL FROM:<x@remote.test>\nRCPT TO:<alice@example.test>\nDATA\n")
        self.assertEqual([r.reply()[0] for _ in range(4)], [250, 250, 250, 354])
        # In DATA a bare LF is part of a line: "\n.\n" ends nothing, and the
        # commands after it are message text, refused with the message.
        r.send("Subject: lf\n\nbody\n.\nRCPT TO:<bob@example.test>\n\r\n.\r\n")
        code, lines = r.reply()
        self.assertEqual(code, 550, lines)
        self.assertEqual(r.cmd("NOOP")[0], 250)
        # After the message, commands end at LF again.
        r.send("MAIL FROM:<x@remote.test>\nRCPT TO:<bob@example.test>\nDATA\n")
        self.assertEqual([r.reply()[0] for _ in range(3)], [250, 250, 354])
        r.send("Subject: crlf\r\n\r\nbody\r\n.\r\nQUIT\n")
        self.assertEqual(r.reply()[0], 250)
        self.assertEqual(r.reply()[0], 221)
        self.assertEqual(self.inbox("alice"), [])
        self.assertEqual(len(self.inbox("bob")), 1)

    def test_starttls_discards_pipelined_plaintext(self):
        r = Raw(self.mx)
        r.reply()
        r.cmd("EHLO c")
        r.send("STARTTLS\r\nMAIL FROM:<evil@remote.test>\r\nRCPT TO:<bob@example.test>\r\n")
        self.assertEqual(r.reply()[0], 220)
        r.sock = insecure_context().wrap_socket(r.sock, server_hostname="mail.example.test")
        r.buf = b""
        self.assertEqual(r.cmd("RCPT TO:<bob@example.test>")[0], 503, "the injected MAIL was never run")
        self.assertEqual(r.cmd("MAIL FROM:<x@remote.test>")[0], 503, "EHLO again after STARTTLS")
        code, lines = r.cmd("EHLO c")
        self.assertNotIn("250-STARTTLS", lines)

    def test_errors_and_unknown_commands(self):
        r = Raw(self.mx)
        r.reply()
        self.assertEqual(r.cmd("MAIL FROM:<x@remote.test>")[0], 503)
        self.assertEqual(r.cmd("HELO")[0], 501)
        self.assertEqual(r.cmd("HELO c")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<alice@example.test>")[0], 503)
        self.assertEqual(r.cmd("VRFY alice")[0], 252)
        self.assertEqual(r.cmd("FOO")[0], 500)
        self.assertEqual(r.cmd("AUTH PLAIN")[0], 503)
        codes = []
        r.send("FOO\r\n" * 6)
        while 421 not in codes and len(codes) < 8:
            codes.append(r.reply()[0])
        self.assertEqual(codes, [500] * 6 + [421], "the 11th error ends the session")
        self.assertTrue(r.closed())

    def test_many_parallel_connections_all_stored(self):
        errors = []

        def client(n):
            try:
                with self.smtp() as s:
                    for i in range(20):
                        s.sendmail("x@remote.test", ["alice@example.test"], f"Subject: m{n}-{i}\r\n\r\nbody\r\n")
            except Exception as e:
                errors.append(repr(e))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        listing = self.ctl("mailbox", "show", "alice@example.test", "INBOX").splitlines()
        self.assertEqual(len(listing), 1000)
        self.assertEqual(self.ctl("store", "check"), "store is consistent\n")


class PregreetTest(SmtpTest):
    mx_extra = "smtp_greeting_delay 300ms;"

    def test_talking_before_the_greeting_is_refused(self):
        r = Raw(self.mx)
        r.send("EHLO eager\r\n")
        code, lines = r.reply()
        self.assertEqual(code, 554, lines)
        self.assertTrue(r.closed())
        r = Raw(self.mx)
        self.assertEqual(r.reply()[0], 220)
        self.assertEqual(r.cmd("EHLO patient")[0], 250)


class SubmissionTest(SmtpTest):
    submission_extra = "smtp_auth_plaintext on;"

    def login(self, s, user="alice", password=None):
        s.ehlo("client")
        s.login(f"{user}@example.test", password or f"{user}-pw")

    def test_auth_is_required_and_checked(self):
        with self.smtp(self.sub) as s:
            s.ehlo("c")
            code, _ = s.mail("alice@example.test")
            self.assertEqual(code, 530)
            s.rset()
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                s.login("alice@example.test", "wrong")
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                s.login("nobody@example.test", "x")
        wait_for(lambda: 'authentication failed for "alice@example.test"' in self.g.log(), what="failure logged")

    def test_many_logins_at_once_each_get_their_own_answer(self):
        # More logins than a worker hashes at once: the rest wait their
        # turn, and every session still gets the answer for its password.
        def attempt(i, results):
            with self.smtp(self.sub) as s:
                s.ehlo("c")
                user = "alice" if i % 2 else "bob"
                password = f"{user}-pw" if i % 3 else "wrong"
                try:
                    results[i] = s.login(f"{user}@example.test", password)[0]
                except smtplib.SMTPAuthenticationError as e:
                    results[i] = e.smtp_code
        results = {}
        threads = [threading.Thread(target=attempt, args=(i, results)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, {i: 235 if i % 3 else 535 for i in range(12)})

    def test_plain_and_login(self):
        for mech in ("PLAIN", "LOGIN"):
            with self.smtp(self.sub) as s:
                s.ehlo("c")
                s.user, s.password = "bob@example.test", "bob-pw"
                code, _ = s.auth(mech, getattr(s, "auth_" + mech.lower()), initial_response_ok=(mech == "PLAIN"))
                self.assertEqual(code, 235)
                s.sendmail("bob@example.test", ["alice@example.test"], f"Subject: {mech}\r\n\r\nhi\r\n")
        self.assertEqual(len(self.inbox("alice")), 2)
        self.assertIn(b"with ESMTPA", self.inbox("alice")[0])

    def test_sender_must_be_owned(self):
        self.ctl("alias", "add", "sales@example.test", "alice@example.test")
        with self.smtp(self.sub) as s:
            self.login(s)
            self.assertEqual(s.mail("bob@example.test")[0], 553)
            s.rset()
            self.assertEqual(s.mail("sales@example.test")[0], 250, "an alias of alice's")
            s.rset()
            self.assertEqual(s.mail("someone@remote.test")[0], 553)

    def test_remote_recipients_are_queued_local_ones_delivered(self):
        with self.smtp(self.sub) as s:
            self.login(s)
            s.sendmail("alice@example.test", ["friend@remote.test", "bob@example.test"], "Subject: out\r\n\r\nhi\r\n")
        self.assertEqual(len(self.inbox("bob")), 1)
        queue = self.ctl("queue", "list")
        self.assertIn("<alice@example.test>\t1/1 pending", queue)
        qid = queue.split("\t")[0]
        shown = self.ctl("queue", "show", qid)
        self.assertIn("recipient: <friend@remote.test> pending", shown)
        self.assertNotIn("Return-Path", shown)
        self.assertEqual(self.ctl("store", "check"), "store is consistent\n")

    def test_auth_needs_tls_unless_allowed(self):
        with smtplib.SMTP_SSL("127.0.0.1", self.sub_tls, context=insecure_context(), timeout=20) as s:
            code, ehlo = s.ehlo("c")
            self.assertIn(b"AUTH PLAIN LOGIN SCRAM-SHA-256", ehlo)
            s.login("alice@example.test", "alice-pw")
            s.sendmail("alice@example.test", ["bob@example.test"], "Subject: tls\r\n\r\nhi\r\n")
        self.assertIn(b"with ESMTPSA", self.inbox("bob")[0])

    # --- SCRAM-SHA-256 ---

    def raw(self):
        r = Raw(self.sub)
        r.reply()
        r.cmd("EHLO c")
        return r

    def scram_start(self, r, client, initial=True):
        """AUTH SCRAM-SHA-256 and the client-first: the server-first."""
        if initial:
            code, lines = r.cmd("AUTH SCRAM-SHA-256 " + b64(client.first()))
        else:
            self.assertEqual(r.cmd("AUTH SCRAM-SHA-256"), (334, ["334 "]))
            code, lines = r.cmd(b64(client.first()))
        self.assertEqual(code, 334, lines)
        return unb64(lines[0])

    def test_scram_sha256_with_smtplib(self):
        client = ScramClient("alice@example.test", "alice-pw")
        with self.smtp(self.sub) as s:
            code, ehlo = s.ehlo("c")
            self.assertIn(b"AUTH PLAIN LOGIN SCRAM-SHA-256", ehlo)
            code, _ = s.auth("SCRAM-SHA-256", client.authobject())
            self.assertEqual(code, 235)
            self.assertTrue(client.verified, "the client checked the server signature")
            self.assertEqual((client.iterations, len(client.salt)), (4096, 16))
            s.sendmail("alice@example.test", ["bob@example.test"], "Subject: scram\r\n\r\nhi\r\n")
        self.assertIn(b"with ESMTPA", self.inbox("bob")[0])

    def test_scram_step_by_step(self):
        client = ScramClient("Alice@Example.Test", "alice-pw")  # found as the other mechanisms find it
        r = self.raw()
        server_first = self.scram_start(r, client, initial=False)
        self.assertTrue(server_first.startswith("r=" + client.nonce), server_first)
        self.assertTrue(server_first.endswith(",i=4096"), server_first)
        code, lines = r.cmd(b64(client.final(server_first)))
        self.assertEqual(code, 334, lines)
        self.assertTrue(client.check(unb64(lines[0])), f"server signature: {lines}")
        self.assertEqual(r.cmd(""), (235, ["235 2.7.0 Authentication successful"]))
        self.assertEqual(r.cmd("MAIL FROM:<alice@example.test>")[0], 250)
        self.assertEqual(r.cmd("AUTH SCRAM-SHA-256")[0], 503, "already authenticated")

    def test_scram_wrong_password(self):
        r = self.raw()
        client = ScramClient("alice@example.test", "wrong")
        code, lines = r.cmd(b64(client.final(self.scram_start(r, client))))
        self.assertEqual((code, lines), (535, ["535 5.7.8 Error: authentication failed"]))
        self.assertEqual(r.cmd("MAIL FROM:<alice@example.test>")[0], 530)
        wait_for(lambda: 'SCRAM-SHA-256 authentication failed for "alice@example.test"' in self.g.log(),
                 what="failure logged")
        # A forged proof fails the same way.
        r = self.raw()
        client = ScramClient("alice@example.test", "alice-pw")
        forged = client.final(self.scram_start(r, client)).split(",p=")[0] + ",p=" + b64("\0" * 32)
        self.assertEqual(r.cmd(b64(forged))[0], 535)

    def test_scram_unknown_user_gets_the_whole_exchange(self):
        # The same made-up salt on every connection, whichever worker answers:
        # nothing before the proof tells that the name is no user.
        salts = set()
        for _ in range(8):
            r = self.raw()
            client = ScramClient("nobody@example.test", "x")
            client.final(self.scram_start(r, client))
            salts.add((client.salt, client.iterations))
            self.assertEqual(r.cmd("*")[0], 501)
        self.assertEqual(len(salts), 1, salts)
        self.assertEqual(len(next(iter(salts))[0]), 16)
        r = self.raw()
        self.assertEqual(r.cmd(b64(client.final(self.scram_start(r, client)))),
                         (535, ["535 5.7.8 Error: authentication failed"]))
        wait_for(lambda: 'authentication failed for "nobody@example.test"' in self.g.log(), what="failure logged")

    def test_scram_cancel_and_malformed(self):
        r = self.raw()
        self.assertEqual(r.cmd("AUTH SCRAM-SHA-256"), (334, ["334 "]))
        self.assertEqual(r.cmd("*"), (501, ["501 5.7.0 Authentication aborted"]))
        client = ScramClient("alice@example.test", "alice-pw")
        self.scram_start(r, client)
        self.assertEqual(r.cmd("*"), (501, ["501 5.7.0 Authentication aborted"]))
        self.assertEqual(r.cmd("MAIL FROM:<alice@example.test>")[0], 530)
        # Channel binding is not offered; an authzid must be the user.
        self.assertEqual(r.cmd("AUTH SCRAM-SHA-256 " + b64("p=tls-unique,," + client.first_bare))[0], 501)
        other = ScramClient("alice@example.test", "alice-pw", authzid="bob@example.test")
        self.assertEqual(r.cmd("AUTH SCRAM-SHA-256 " + b64(other.first()))[0], 535)
        self.assertEqual(r.cmd("AUTH SCRAM-SHA-256 not-base64!")[0], 501)
        # After all that, a good exchange still works on the same session.
        client = ScramClient("alice@example.test", "alice-pw")
        code, lines = r.cmd(b64(client.final(self.scram_start(r, client))))
        self.assertTrue(client.check(unb64(lines[0])))
        self.assertEqual(r.cmd("")[0], 235)


class SubmissionPlaintextTest(SmtpTest):
    def test_no_auth_over_plaintext(self):
        r = Raw(self.sub)
        r.reply()
        code, lines = r.cmd("EHLO c")
        self.assertNotIn("250-AUTH PLAIN LOGIN", lines)
        self.assertEqual(r.cmd("AUTH PLAIN " + base64.b64encode(b"\0alice@example.test\0alice-pw").decode())[0], 538)
        self.assertEqual(r.cmd("AUTH SCRAM-SHA-256")[0], 538)
        r.cmd("STARTTLS")
        r.sock = insecure_context().wrap_socket(r.sock, server_hostname="mail.example.test")
        r.buf = b""
        code, lines = r.cmd("EHLO c")
        self.assertIn("250-AUTH PLAIN LOGIN SCRAM-SHA-256", lines)
        self.assertEqual(r.cmd("AUTH PLAIN " + base64.b64encode(b"\0alice@example.test\0alice-pw").decode())[0], 235)


class FilterTest(SmtpTest):
    """The core's filter API through SMTP, with the test filter: what it sees
    of the envelope, the header it adds and where that lands (the mailbox,
    the queue), and its verdicts as SMTP replies."""
    mx_extra = "testfilter on; smtp_max_message_size 1m;"
    submission_extra = "smtp_auth_plaintext on; testfilter on;"

    BODY = b"Subject: filtered\r\n\r\nhello\r\n"

    def test_the_header_goes_on_top_and_the_envelope_is_seen(self):
        with self.smtp() as s:
            s.ehlo("client.example")
            s.sendmail("carol@example.net", ["alice@example.test"], self.BODY)
            s.sendmail("carol@example.net", ["alice@example.test", "bob@example.test"], self.BODY)
        first, second = self.inbox("alice")
        self.assertTrue(first.startswith(b"Return-Path: <carol@example.net>\r\nX-Testfilter: n=1; client=127.0.0.1; "
                                         b"helo=client.example; from=<carol@example.net>; rcpts=1; user=\r\n"
                                         b"Received: from client.example"), first[:300])
        self.assertTrue(first.endswith(b"\r\n" + self.BODY))
        self.assertIn(b"X-Testfilter: n=2; client=127.0.0.1; helo=client.example; from=<carol@example.net>; rcpts=2;",
                      second)  # the filter's per-session context counted on
        self.assertEqual(self.inbox("bob"), [second])

    def test_verdicts_become_smtp_replies(self):
        with self.smtp() as s:
            s.ehlo("client.example")
            for word, want in ((b"spam", (550, b"5.7.1 spam refused")), (b"later", (451, b"4.7.0 try later"))):
                s.mail("carol@example.net")
                s.rcpt("alice@example.test")
                self.assertEqual(s.data(b"Subject: " + word + b"\r\n\r\nx\r\n"), want)
            s.sendmail("carol@example.net", ["alice@example.test"], b"Subject: junk\r\n\r\nx\r\n")
        self.assertEqual(self.inbox("alice"), [])  # refused, deferred: nothing stored
        junk = self.inbox("alice", "Junk")  # file_into: the Junk mailbox instead of INBOX
        self.assertEqual(len(junk), 1)
        self.assertIn(b"X-Testfilter: n=1;", junk[0])

    def test_the_queued_copy_has_the_header_and_every_octet_after_it(self):
        with self.smtp(self.sub) as s:
            s.ehlo("laptop")
            s.login("alice@example.test", "alice-pw")
            s.sendmail("alice@example.test", ["friend@remote.test", "bob@example.test"], self.BODY)
        stored = self.inbox("bob")[0]
        self.assertIn(b"X-Testfilter: n=1; client=127.0.0.1; helo=laptop; from=<alice@example.test>; rcpts=2; "
                      b"user=alice@example.test\r\n", stored)
        qid = self.ctl("queue", "list").split("\t")[0]
        queued = subprocess.run([GANNETCTL, "-c", self.g.conf, "queue", "show", qid], capture_output=True,
                                timeout=60).stdout.split(b"\n\n", 1)[1]
        # The queue's copy is the stored one without Return-Path: the added
        # header did not shift where it was cut.
        self.assertEqual(b"Return-Path: <alice@example.test>\r\n" + queued, stored)


class BusyTest(SmtpTest):
    workers = 1

    def conf(self):
        return "events { worker_connections 2; }\n" + super().conf()

    def test_a_connection_past_the_limit_is_told_421_and_the_others_go_on(self):
        with self.smtp() as a, self.smtp() as b:
            with self.assertRaises(smtplib.SMTPConnectError) as refused:
                self.smtp()
            self.assertEqual(refused.exception.smtp_code, 421)
            self.assertEqual(refused.exception.smtp_error, b"4.3.2 mail.example.test Too many connections, try again later")
            for s in (a, b):
                self.assertEqual(s.noop()[0], 250)
        wait_for(lambda: "worker_connections (2) reached" in self.g.log(), what="the refusal logged")


if __name__ == "__main__":
    main()
