"""The queue and the delivery agent: retries, bounces, MX lookups through
c-ares, null MX, routes, SMTPUTF8, gannetctl queue, the agent's directives."""
import email
import os
import shutil
import signal
import smtplib
import subprocess
import tempfile

from harness import GANNET, Gannet, GannetTest, free_port, main, make_cert, wait_for
from peers import DnsServer, SmtpSink
from smtp_harness import SmtpTest


class QueueBase(SmtpTest):
    """alice submits; remote.test is a scripted sink, mx.test and
    nullmx.test live in a private DNS, other.test is routed by port."""

    submission_extra = "smtp_auth_plaintext on;"
    workers = 2
    sink_dsn = False  # whether the sink advertises DSN
    sink_smtputf8 = False  # whether it advertises SMTPUTF8

    def setUp(self):
        self.sink = SmtpSink(rcpt_reply=self.rcpt_reply, dsn=self.sink_dsn, smtputf8=self.sink_smtputf8)
        self.dns = DnsServer({
            "mx.test": {"MX": [(10, "mail.mx.test")]},
            "mail.mx.test": {"A": ["127.0.0.1"]},
            "nullmx.test": {"MX": [(0, ".")]},
            "nodata.test": {},  # exists, without MX, A or AAAA
            "servfail.test": {"RCODE": 2},
        })
        self.replies = {}
        super().setUp()

    def tearDown(self):
        super().tearDown()
        self.sink.stop()
        self.dns.stop()

    def rcpt_reply(self, attempt, rcpt):
        script = self.replies.get(rcpt.split("@")[0], ["250 2.1.5 Ok"])
        return script[min(attempt, len(script)) - 1]

    def routes_before(self):
        """Config lines that come before the routes."""
        return ""

    def conf(self):
        self.other_mx = getattr(self, "other_mx", None) or free_port()
        return (self.routes_before() + f"smtp_route remote.test 127.0.0.1:{self.sink.port};\n"
                f"smtp_route other.test 127.0.0.1:{self.other_mx};\n"
                f"resolver 127.0.0.1:{self.dns.port};\n"
                f"smtp_delivery_port {self.sink.port};\n"
                "smtp_queue_retry 1s; smtp_queue_interval 100ms; smtp_helo_name mail.example.test;\n" + super().conf())

    def send(self, *rcpts, subject="out"):
        with smtplib.SMTP("127.0.0.1", self.sub, timeout=20) as s:
            s.ehlo("client")
            s.login("alice@example.test", "alice-pw")
            s.sendmail("alice@example.test", list(rcpts), f"From: alice@example.test\r\nSubject: {subject}\r\n\r\nhello\r\n")

    def send_dsn(self, rcpts, mail_options=(), subject="dsn", body="hello"):
        """Sends as alice with DSN parameters; rcpts maps each recipient to
        its RCPT options."""
        with smtplib.SMTP("127.0.0.1", self.sub, timeout=20) as s:
            s.ehlo("client")
            s.login("alice@example.test", "alice-pw")
            self.assertEqual(s.mail("alice@example.test", list(mail_options))[0], 250)
            for rcpt, options in rcpts.items():
                self.assertEqual(s.rcpt(rcpt, options)[0], 250)
            self.assertEqual(s.data(f"From: alice@example.test\r\nSubject: {subject}\r\n\r\n{body}\r\n")[0], 250)

    def send_utf8(self, rcpts, subject="utf8"):
        """Sends as alice with SMTPUTF8; subject may be UTF-8, sent raw."""
        with smtplib.SMTP("127.0.0.1", self.sub, timeout=20) as s:
            s.ehlo("client")
            s.login("alice@example.test", "alice-pw")
            self.assertEqual(s.mail("alice@example.test", ["SMTPUTF8"])[0], 250)
            for rcpt in rcpts:
                self.assertEqual(s.rcpt(rcpt)[0], 250)
            msg = f"From: alice@example.test\r\nSubject: {subject}\r\n\r\nhello\r\n".encode()
            self.assertEqual(s.data(msg)[0], 250)

    def queued(self):
        return "0 queued" not in self.ctl("queue", "list")

    def show_all(self):
        out = ""
        for line in self.ctl("queue", "list").splitlines():
            if "\t" in line:
                out += self.ctl("queue", "show", line.split("\t")[0])
        return out


class QueueTest(QueueBase):
    def test_delivered_through_a_route(self):
        self.send("friend@remote.test")
        wait_for(lambda: self.sink.messages, what="delivery to the sink")
        sender, rcpts, data = self.sink.messages[0]
        self.assertEqual((sender, rcpts), ("alice@example.test", ["friend@remote.test"]))
        self.assertIn(b"Subject: out", data)
        self.assertIn(b"with ESMTPA", data)
        wait_for(lambda: not self.queued(), what="the entry to leave the queue")
        self.assertEqual(self.ctl("store", "check"), "store is consistent\n")

    def test_temporary_failures_are_retried(self):
        self.replies["slow"] = ["451 4.7.1 try later", "451 4.7.1 try later", "250 2.1.5 Ok"]
        self.send("slow@remote.test")
        wait_for(lambda: self.sink.attempts >= 1 and "451 4.7.1" in self.ctl("queue", "list") + self.show_all(),
                 what="a deferred attempt")
        wait_for(lambda: self.sink.messages, timeout=30, what="delivery on the third attempt")
        self.assertEqual(self.sink.attempts, 3)
        wait_for(lambda: not self.queued(), what="the entry to leave the queue")
        self.assertEqual(self.inbox("alice"), [], "no bounce for a delivered message")

    def test_permanent_failure_bounces_to_the_sender(self):
        self.replies["gone"] = ["550 5.1.1 <gone@remote.test>: no such user"]
        self.send("gone@remote.test", "friend@remote.test", subject="partly")
        wait_for(lambda: self.inbox("alice"), timeout=20, what="the bounce in alice's INBOX")
        bounce = email.message_from_bytes(self.inbox("alice")[0])
        self.assertEqual(bounce.get_content_type(), "multipart/report")
        self.assertEqual(bounce.get_param("report-type"), "delivery-status")
        text = self.inbox("alice")[0].decode()
        self.assertIn("Final-Recipient: rfc822; gone@remote.test", text)
        self.assertIn("Status: 5.1.1", text)
        self.assertIn("Diagnostic-Code: smtp; 550 5.1.1", text)
        self.assertIn("Subject: partly", text, "the original headers come back")
        self.assertEqual(bounce.get_payload()[2].get_content_type(), "message/rfc822", "RET unset: the whole message")
        self.assertIn("hello", text)
        self.assertNotIn("friend@remote.test", text.split("message/rfc822")[0], "the delivered one is not reported")
        self.assertEqual(len(self.sink.messages), 1)
        self.assertEqual(self.sink.messages[0][1], ["friend@remote.test"])
        wait_for(lambda: not self.queued(), what="the entry to leave the queue")

    def test_mx_lookup_through_c_ares(self):
        self.send("someone@mx.test")
        wait_for(lambda: self.sink.messages, what="delivery via the MX host")
        self.assertEqual(self.sink.messages[0][1], ["someone@mx.test"])

    def test_null_mx_and_unknown_domain_bounce(self):
        self.send("x@nullmx.test", "y@nxdomain.test")
        wait_for(lambda: self.inbox("alice"), timeout=20, what="the bounce")
        text = self.inbox("alice")[0].decode()
        self.assertIn("null MX", text)
        self.assertIn("Status: 5.1.10", text)
        self.assertIn("y@nxdomain.test", text)
        self.assertIn("Host or domain name not found", text)
        self.assertEqual(self.sink.attempts, 0)

    def test_queue_hold_flush_and_show(self):
        self.replies["later"] = ["451 4.3.0 busy"] * 100
        self.send("later@remote.test")
        wait_for(lambda: "451 4.3.0 busy" in self.show_all(), what="a deferred entry")
        qid = self.ctl("queue", "list").split("\t")[0]
        self.assertIn("recipient: <later@remote.test> pending: 451 4.3.0 busy", self.ctl("queue", "show", qid))
        self.ctl("queue", "hold", qid)
        seen = self.sink.attempts
        self.replies["later"] = ["250 2.1.5 Ok"]
        self.ctl("queue", "release", qid)  # due now
        wait_for(lambda: self.sink.messages, what="delivery after release")
        self.assertGreater(self.sink.attempts, seen)


    def test_remote_local_part_keeps_its_case(self):
        # RFC 5321 2.4: only the destination host may interpret a local part.
        self.send("Friend@Remote.TEST")
        wait_for(lambda: self.sink.messages, what="delivery to the sink")
        self.assertEqual(self.sink.messages[0][1], ["Friend@remote.test"])
        self.assertIn("RCPT TO:<Friend@remote.test>", self.sink.commands)
        self.ctl("queue", "add", "--from=alice@example.test", "CAROL.Smith@remote.test",
                 stdin="Subject: by hand\r\n\r\nhi\r\n")
        wait_for(lambda: len(self.sink.messages) == 2, what="the second delivery")
        self.assertEqual(self.sink.messages[1][1], ["CAROL.Smith@remote.test"])

    def test_queue_add_makes_lf_line_ends_crlf(self):
        # A file with LF line ends: each becomes CRLF, so the server sees
        # "<CRLF>.<CRLF>" (not "<LF>.<CRLF>") and the message ends at once.
        self.ctl("queue", "add", "friend@remote.test", stdin="Subject: lf\n\nline one\n.dot\r\nlast line\n")
        wait_for(lambda: self.sink.messages, what="delivery of the LF message")
        self.assertEqual(self.sink.messages[0][2], b"Subject: lf\r\n\r\nline one\r\n.dot\r\nlast line\r\n")
        wait_for(lambda: not self.queued(), what="the entry to leave the queue")
        # CRLF stays CRLF; a last line without an end gets one.
        self.ctl("queue", "add", "friend@remote.test", stdin="Subject: crlf\r\n\r\nalready\r\nno end")
        wait_for(lambda: len(self.sink.messages) == 2, what="delivery of the CRLF message")
        self.assertEqual(self.sink.messages[1][2], b"Subject: crlf\r\n\r\nalready\r\nno end\r\n")

    def test_domain_without_mx_or_address_bounces_at_once(self):
        # NODATA for MX, A and AAAA: the implicit MX has no address either.
        self.send("x@nodata.test", subject="nowhere")
        wait_for(lambda: self.inbox("alice"), timeout=20, what="the bounce")
        text = self.inbox("alice")[0].decode()
        self.assertIn("Final-Recipient: rfc822; x@nodata.test", text)
        self.assertIn("Status: 5.1.2", text)
        self.assertIn("nodata.test: Host or domain name not found", text)
        wait_for(lambda: not self.queued(), what="the entry to leave the queue")
        self.assertEqual(self.sink.attempts, 0)

    def test_dns_failure_is_retried(self):
        self.send("x@servfail.test")
        wait_for(lambda: "451 4.4.3" in self.show_all(), what="a deferred entry")
        self.assertIn("recipient: <x@servfail.test> pending", self.show_all())
        self.assertEqual(self.inbox("alice"), [], "a DNS failure is temporary: no bounce")
        self.ctl("queue", "delete", self.ctl("queue", "list").split("\t")[0])


class RelayhostFirstTest(QueueBase):
    """smtp_relayhost written before the smtp_route lines."""

    def setUp(self):
        self.relay = SmtpSink()
        super().setUp()

    def tearDown(self):
        super().tearDown()
        self.relay.stop()

    def routes_before(self):
        return f"smtp_relayhost 127.0.0.1:{self.relay.port};\n"

    def test_a_domain_route_wins_over_the_relayhost_in_any_order(self):
        self.send("friend@remote.test", subject="routed")
        wait_for(lambda: self.sink.messages, what="delivery through the domain's route")
        self.assertEqual(self.relay.messages, [])
        self.send("someone@mx.test", subject="relayed")
        wait_for(lambda: self.relay.messages, what="delivery through the relay host")
        self.assertEqual(self.relay.messages[0][1], ["someone@mx.test"], "the relay host beats the MX")
        self.assertEqual(len(self.sink.messages), 1)


class RelayAuthTest(QueueBase):
    """smtp_relayhost_auth against a second Gannet as the relay host: a
    submission server that wants AUTH, offered after STARTTLS only."""

    password = "carol-pw"
    cert_name = "relay.test"  # what the relay host's certificate is for
    relay_host = "127.0.0.1"  # how smtp_relayhost names it
    implicit_tls = False  # to its port 465-like server, "smtp_relayhost ... ssl"

    def setUp(self):
        self.relay_port, self.relay_tls_port = free_port(), free_port()
        self.relay = Gannet(f"""mail {{ ssl_certificate cert.pem; ssl_certificate_key cert.key; server_name relay.test;
            server {{ listen 127.0.0.1:{self.relay_port}; protocol smtp; smtp_role submission; }}
            server {{ listen 127.0.0.1:{self.relay_tls_port} ssl; protocol smtp; smtp_role submission; }} }}
            smtp_delivery off;\n""", workers=1)
        make_cert(self.relay.dir, "cert", self.cert_name, "rsa", [self.cert_name])
        self.relay_ctl("domain", "add", "relay.test")
        self.relay_ctl("domain", "add", "example.test")
        self.relay_ctl("user", "add", "carol@relay.test", "--password-stdin", stdin="carol-pw\n")
        self.relay_ctl("user", "add", "dave@relay.test", "--password-stdin", stdin="dave-pw\n")
        self.relay_ctl("alias", "add", "alice@example.test", "carol@relay.test")  # so carol may send as alice
        self.relay.start()
        self.pw_file = os.path.join(self.relay.dir, "relay.pw")
        with open(self.pw_file, "w") as f:
            f.write(self.password + "\n")
        super().setUp()
        self.servers.append(self.relay)

    def relay_ctl(self, *args, stdin=""):
        ctl = os.path.join(os.path.dirname(GANNET), "gannetctl")
        return subprocess.run([ctl, "-c", self.relay.conf, *args], input=stdin, capture_output=True, text=True,
                              timeout=60, check=True).stdout

    def routes_before(self):
        target = f"{self.relay_host}:{self.relay_tls_port} ssl" if self.implicit_tls else f"{self.relay_host}:{self.relay_port}"
        return f"smtp_relayhost {target};\nsmtp_relayhost_auth carol@relay.test {self.pw_file};\n"

    def test_relay_host_login_after_starttls(self):
        self.send("dave@relay.test", subject="via the relay")
        wait_for(lambda: "1 messages" in self.relay_ctl("mailbox", "list", "dave@relay.test"), what="dave's mail")
        stored = self.relay_ctl("message", "show", "dave@relay.test", "INBOX", "1")
        self.assertIn("Subject: via the relay", stored)
        # ESMTPSA: the relay host saw TLS and a login (RFC 3848).
        self.assertRegex(stored, r"by relay\.test \(Gannet\) with ESMTPSA")
        wait_for(lambda: not self.queued(), what="the entry to leave the queue")


class RelayAuthRefusedTest(RelayAuthTest):
    password = "not-carols"

    def test_relay_host_login_after_starttls(self):
        self.send("dave@relay.test", subject="via the relay")
        wait_for(lambda: "AUTH to the relay host failed: 535" in self.show_all(), what="the refused login")
        self.assertIn("recipient: <dave@relay.test> pending", self.show_all())  # kept, to be retried
        self.assertEqual(self.inbox("alice"), [], "a refused login is temporary: no bounce")


class RelayVerifyTest(RelayAuthTest):
    """smtp_relayhost_tls_verify: the relay host's certificate is for the
    name smtp_relayhost gives and chains to smtp_relayhost_tls_ca (here the
    self-signed certificate itself)."""

    cert_name = relay_host = "localhost"  # c-ares reads /etc/hosts: 127.0.0.1 (and ::1, where nothing listens)
    ca = "cert.pem"

    def routes_before(self):
        if self.ca != "cert.pem":
            make_cert(self.relay.dir, "other", "relay.test")
        ca = os.path.join(self.relay.dir, self.ca)
        return super().routes_before() + f"smtp_relayhost_tls_verify on;\nsmtp_relayhost_tls_ca {ca};\n"


class RelayImplicitTlsTest(RelayVerifyTest):
    """The relay host's TLS-from-the-first-byte port, verified, with AUTH."""

    implicit_tls = True


class RelayVerifyRefusedTest(RelayVerifyTest):
    """A certificate for another name, or from a CA not trusted: deferred."""

    def refused(self, why):
        self.send("dave@relay.test", subject="via the relay")
        wait_for(lambda: "TLS handshake failed" in self.show_all(), what="the refused certificate")
        self.assertIn(why, self.show_all())
        self.assertIn("recipient: <dave@relay.test> pending", self.show_all())
        self.assertEqual(self.relay_ctl("mailbox", "list", "dave@relay.test").count("0 messages"), 5)

    test_relay_host_login_after_starttls = None  # the subclasses' cases instead


class RelayVerifyWrongNameTest(RelayVerifyRefusedTest):
    relay_host = "127.0.0.1"  # the certificate is for localhost only

    def test_certificate_for_another_name(self):
        self.refused("CERTIFICATE_VERIFY_FAILED (certificate: IP address mismatch)")


class RelayVerifyUntrustedTest(RelayVerifyRefusedTest):
    ca = "other.pem"

    def test_certificate_from_an_untrusted_issuer(self):
        self.refused("CERTIFICATE_VERIFY_FAILED (certificate: self signed certificate)")


class RelayAuthWithoutTlsTest(RelayhostFirstTest):
    """A relay host without STARTTLS (the sink) never gets the password."""

    def routes_before(self):
        pw = os.path.join(self.relay_dir(), "relay.pw")
        return super().routes_before() + f"smtp_relayhost_auth someone {pw};\n" + self.verify

    def relay_dir(self):
        if not hasattr(self, "_relay_dir"):
            self._relay_dir = tempfile.mkdtemp(prefix="gannet-relay-")
            self.addCleanup(shutil.rmtree, self._relay_dir, True)
            with open(os.path.join(self._relay_dir, "relay.pw"), "w") as f:
                f.write("secret\n")
        return self._relay_dir

    test_a_domain_route_wins_over_the_relayhost_in_any_order = None  # the relay host never takes mail here
    verify = ""

    def test_no_password_without_starttls(self):
        self.send("someone@mx.test")
        wait_for(lambda: "offers no STARTTLS: the password is not sent in clear" in self.show_all(),
                 what="the attempt to stop before AUTH")
        self.assertEqual(self.relay.commands, [], "not even MAIL was sent")
        self.assertEqual(self.relay.messages, [])
        self.assertEqual(self.inbox("alice"), [], "temporary: no bounce")


class RelayVerifyWithoutTlsTest(RelayAuthWithoutTlsTest):
    verify = "smtp_relayhost_tls_verify on;\n"

    def test_no_password_without_starttls(self):
        self.send("someone@mx.test")
        wait_for(lambda: "offers no STARTTLS (smtp_relayhost_tls_verify is on)" in self.show_all(),
                 what="the attempt to stop before MAIL")
        self.assertEqual(self.relay.commands, [])


class SmtpUtf8Test(QueueBase):
    """RFC 6531 3.4: the sink does not offer SMTPUTF8, so what needs it fails."""

    def bounce(self):
        messages = wait_for(lambda: self.inbox("alice"), timeout=20, what="the bounce")
        self.assertEqual(len(messages), 1)
        return messages[0].decode()

    def test_utf8_recipient_bounces_and_the_others_go_without_smtputf8(self):
        self.send_utf8(["dörte@remote.test", "friend@remote.test"])
        text = self.bounce()
        self.assertIn("Final-Recipient: rfc822; dörte@remote.test", text)
        self.assertIn("Status: 5.6.7", text)
        self.assertIn("SMTPUTF8 is required", text)
        self.assertNotIn("rfc822; friend@remote.test", text)
        self.assertEqual([m[1] for m in self.sink.messages], [["friend@remote.test"]])
        self.assertFalse([c for c in self.sink.commands if "SMTPUTF8" in c or "dörte" in c])
        wait_for(lambda: not self.queued(), what="the entry to leave the queue")

    def test_utf8_header_with_smtputf8_bounces_every_recipient(self):
        self.send_utf8(["friend@remote.test"], subject="Grüße")
        text = self.bounce()
        self.assertIn("Final-Recipient: rfc822; friend@remote.test", text)
        self.assertIn("Status: 5.6.7", text)
        self.assertEqual(self.sink.messages, [])
        self.assertEqual(self.sink.commands, [], "not even MAIL FROM")

    def test_smtputf8_without_any_utf8_is_delivered(self):
        self.send_utf8(["friend@remote.test"], subject="plain")
        wait_for(lambda: self.sink.messages, what="delivery to the sink")
        wait_for(lambda: not self.queued(), what="the entry to leave the queue")
        self.assertEqual(self.inbox("alice"), [])


class SmtpUtf8CapableServerTest(QueueBase):
    sink_smtputf8 = True

    def test_utf8_goes_to_a_server_that_offers_smtputf8(self):
        self.send_utf8(["dörte@remote.test"], subject="Grüße")
        wait_for(lambda: self.sink.messages, what="delivery to the sink")
        self.assertEqual(self.sink.messages[0][1], ["dörte@remote.test"])
        mail = [c for c in self.sink.commands if c.upper().startswith("MAIL")]
        self.assertIn(" SMTPUTF8", mail[0])
        self.assertIn("Subject: Grüße".encode(), self.sink.messages[0][2])


class ConfigTest(GannetTest):
    """Delivery agent directives checked when the config is read."""

    def check(self, text):
        g = Gannet(text, workers=1)
        self.servers.append(g)
        return g, subprocess.run([GANNET, "-c", g.conf, "-t"], capture_output=True, text=True, timeout=30)

    def test_t_refuses_a_zero_queue_interval_and_a_bad_resolver(self):
        cases = [
            ("smtp_queue_interval 0;", 'invalid value "0" in "smtp_queue_interval" directive, it must be at least 100ms'),
            ("smtp_queue_interval 10ms;", 'invalid value "10ms"'),
            ("resolver nonsense;", '"nonsense" is not IP, IP:port, IPv6 or [IPv6]:port'),
            ("resolver 127.0.0.1:53,[::1];", '"[::1]" is not'),
            ("resolver 127.0.0.1:99999;", '"127.0.0.1:99999" is not'),
        ]
        for line, message in cases:
            with self.subTest(line=line):
                g, r = self.check(f"# the agent\n{line}\n")
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn(message, r.stderr)
                self.assertIn(f"in {g.conf}:5\n", r.stderr)  # after the harness's 3 lines and a comment
        g, r = self.check("smtp_queue_interval 100ms;\nresolver 127.0.0.1:5353,::1,[::1]:53;\n")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_t_checks_smtp_relayhost_auth(self):
        g, r = self.check("smtp_relayhost 127.0.0.1:2525;\nsmtp_relayhost_auth me missing.pw;\n")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f'cannot read the password file "{g.dir}/missing.pw" of "smtp_relayhost_auth"', r.stderr)
        self.assertIn(f"in {g.conf}:5\n", r.stderr)
        with open(os.path.join(g.dir, "empty.pw"), "w") as f:
            f.write("\n")
        with open(os.path.join(g.dir, "me.pw"), "w") as f:
            f.write("pw\n")
        g, r = self.check(f"smtp_relayhost 127.0.0.1:2525;\nsmtp_relayhost_auth me {g.dir}/empty.pw;\n")
        self.assertIn("has an empty first line", r.stderr)
        pw = os.path.join(self.servers[0].dir, "me.pw")
        g, r = self.check(f"smtp_relayhost_auth me {pw};\n")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn('"smtp_relayhost_auth" is given without "smtp_relayhost"', r.stderr)
        self.assertIn(f"in {g.conf}:4\n", r.stderr)  # the directive's line, though found at the end
        g, r = self.check(f"smtp_relayhost_auth me {pw};\nsmtp_relayhost 127.0.0.1:2525;\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        g, r = self.check("smtp_relayhost 127.0.0.1:465 tls;\n")
        self.assertIn('invalid value "tls" in "smtp_relayhost" directive', r.stderr)
        g, r = self.check("smtp_relayhost_tls_verify on;\n")
        self.assertIn('"smtp_relayhost_tls_verify" is on without "smtp_relayhost"', r.stderr)
        g, r = self.check(f"smtp_relayhost 127.0.0.1:2525;\nsmtp_relayhost_tls_verify on;\nsmtp_relayhost_tls_ca {pw};\n")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f'"smtp_relayhost_tls_ca": cannot load the CA certificates in "{pw}"', r.stderr)
        g, r = self.check("smtp_relayhost 127.0.0.1:2525;\nsmtp_relayhost_tls_verify on;\n")  # the system's CAs
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_reload_with_a_bad_resolver_keeps_the_old_config(self):
        port = free_port()
        body = f"mail {{ server {{ listen 127.0.0.1:{port}; protocol echo; }} }}\n"
        g = Gannet("resolver 127.0.0.1:53;\n" + body, workers=2)
        self.servers.append(g)
        g.start()
        pids = g.worker_pids()
        g.write_conf("resolver 127.0.0.1:53,localhost;\n" + body)
        g.signal(signal.SIGHUP)
        wait_for(lambda: "keeping the old configuration" in g.log(), what="the reload to be refused")
        self.assertIn("resolver", g.log())
        self.assertEqual(sorted(g.worker_pids()), sorted(pids), "the old workers keep running")


class DelayWarningTest(QueueBase):
    """smtp_delay_warning_time: a sender whose mail still waits is told so,
    once, if its recipients asked (or said nothing)."""

    def routes_before(self):
        return "smtp_delay_warning_time 1s;\n"

    def test_one_delay_notice_then_none(self):
        self.replies["slow"] = ["451 4.2.0 <slow@remote.test>: try again later"]
        self.replies["quiet"] = self.replies["slow"]
        self.send_dsn({"slow@remote.test": [], "quiet@remote.test": ["NOTIFY=FAILURE"]})
        messages = wait_for(lambda: self.inbox("alice"), timeout=20, what="the delay notice")
        msg = email.message_from_bytes(messages[0])
        text = messages[0].decode()
        self.assertEqual(msg["Subject"], "Delayed Mail (still being retried)")
        self.assertIn("Final-Recipient: rfc822; slow@remote.test\r\nAction: delayed\r\nStatus: 4.2.0\r\n", text)
        self.assertRegex(text, r"Will-Retry-Until: \w{3}, \d\d \w{3} \d{4} ")
        self.assertNotIn("quiet@remote.test", text.split("message/delivery-status")[1].split("text/rfc822-headers")[0],
                         "NOTIFY=FAILURE: not told of delays")
        self.assertIn("Content-Type: text/rfc822-headers", text, "headers only, the message is still on its way")
        # More attempts, still one notice; the entry keeps waiting.
        wait_for(lambda: "attempts: 3" in self.show_all(), timeout=20, what="two more attempts")
        self.assertEqual(len(self.inbox("alice")), 1)
        self.assertIn("recipient: <slow@remote.test> pending", self.show_all())


class DsnTest(QueueBase):
    """RFC 3461 requests honoured by the queue and by local delivery; the
    sink does not offer DSN, so Gannet reports."""

    def dsn(self, user="alice"):
        """The one report in user's INBOX: (message, text)."""
        messages = wait_for(lambda: self.inbox(user), timeout=20, what="a DSN in the INBOX")
        self.assertEqual(len(messages), 1)
        return email.message_from_bytes(messages[0]), messages[0].decode()

    def test_notify_never_and_success_only_get_no_failure_notice(self):
        self.replies["gone"] = ["550 5.1.1 <gone@remote.test>: no such user"]
        self.send_dsn({"gone@remote.test": ["NOTIFY=NEVER"]})
        wait_for(lambda: not self.queued(), timeout=20, what="the entry to leave the queue")
        # The report would have been stored with the queue's last record.
        self.assertEqual(self.inbox("alice"), [], "NOTIFY=NEVER: no DSN")
        self.replies["lost"] = ["550 5.1.1 <lost@remote.test>: no such user"]
        self.send_dsn({"gone@remote.test": ["NOTIFY=SUCCESS"], "lost@remote.test": ["NOTIFY=FAILURE"]})
        _, text = self.dsn()
        self.assertIn("Final-Recipient: rfc822; lost@remote.test", text)
        self.assertNotIn("gone@remote.test", text, "NOTIFY without FAILURE: not reported")
        wait_for(lambda: not self.queued(), what="the entry to leave the queue")

    def test_ret_hdrs_envid_and_orcpt(self):
        self.replies["gone"] = ["550 5.1.1 <gone@remote.test>: no such user"]
        self.send_dsn({"gone@remote.test": ["NOTIFY=FAILURE", "ORCPT=rfc822;Gone+40Remote.test"]},
                      mail_options=["RET=HDRS", "ENVID=QQ+2B42"], subject="hdrs", body="the secret body")
        bounce, text = self.dsn()
        parts = bounce.get_payload()
        self.assertEqual([p.get_content_type() for p in parts],
                         ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        self.assertIn("Subject: hdrs", parts[2].get_payload())
        self.assertNotIn("the secret body", text, "RET=HDRS: no body")
        self.assertIn("Original-Envelope-Id: QQ+42\r\n", text)
        self.assertIn("Original-Recipient: rfc822;Gone@Remote.test\r\nFinal-Recipient: rfc822; gone@remote.test", text)
        self.assertIn("Action: failed", text)

    def test_ret_full_returns_the_message(self):
        self.replies["gone"] = ["550 5.1.1 <gone@remote.test>: no such user"]
        self.send_dsn({"gone@remote.test": []}, mail_options=["RET=FULL"], subject="full", body="the whole body")
        bounce, text = self.dsn()
        self.assertEqual(bounce.get_payload()[2].get_content_type(), "message/rfc822")
        self.assertIn("the whole body", text)
        self.assertNotIn("Original-Envelope-Id", text, "no ENVID given")
        self.assertNotIn("Original-Recipient", text, "no ORCPT given")

    def test_success_for_local_recipients(self):
        self.send_dsn({"bob@example.test": ["NOTIFY=SUCCESS", "ORCPT=rfc822;bob+40example.test"]},
                      mail_options=["ENVID=local-1"], subject="to bob", body="for bob only")
        # Stored with the message itself: there once the 250 came.
        self.assertEqual(len(self.inbox("bob")), 1)
        bounce, text = self.dsn()
        self.assertEqual(bounce["Subject"], "Successful Mail Delivery Report")
        self.assertIn("Original-Envelope-Id: local-1\r\n", text)
        self.assertIn("Original-Recipient: rfc822;bob@example.test\r\nFinal-Recipient: rfc822; bob@example.test\r\n"
                      "Action: delivered\r\nStatus: 2.0.0", text)
        self.assertEqual(bounce.get_payload()[2].get_content_type(), "text/rfc822-headers")
        self.assertNotIn("for bob only", text, "a success returns headers only")
        self.assertEqual(self.inbox("bob", "INBOX")[0].count(b"for bob only"), 1)

    def test_success_through_an_alias_is_expanded_and_default_is_silent(self):
        self.send_dsn({"bob@example.test": []})
        self.assertEqual(self.inbox("alice"), [], "no NOTIFY: no success notice")
        self.send_dsn({"team@example.test": ["NOTIFY=SUCCESS"]}, subject="to the team")
        messages = self.inbox("alice")  # the message itself (alice is in team) and the report
        reports = [m.decode() for m in messages if b"multipart/report" in m]
        self.assertEqual(len(messages), 2)
        self.assertEqual(len(reports), 1)
        self.assertIn("Final-Recipient: rfc822; team@example.test\r\nAction: expanded", reports[0])

    def test_relayed_notice_from_a_server_without_dsn(self):
        self.send_dsn({"friend@remote.test": ["NOTIFY=SUCCESS,FAILURE"]}, mail_options=["ENVID=r1"])
        _, text = self.dsn()
        self.assertIn("Final-Recipient: rfc822; friend@remote.test\r\nAction: relayed\r\nStatus: 2.0.0", text)
        self.assertIn("Diagnostic-Code: smtp; 250", text)
        self.assertEqual(len(self.sink.messages), 1)
        self.assertFalse([c for c in self.sink.commands if "NOTIFY" in c or "ENVID" in c],
                         "no DSN parameters to a server that does not offer DSN")

    def test_queue_keeps_the_dsn_requests(self):
        self.replies["later"] = ["451 4.3.0 busy"] * 100
        self.send_dsn({"later@remote.test": ["NOTIFY=SUCCESS,DELAY", "ORCPT=rfc822;later+40remote.test"]},
                      mail_options=["RET=HDRS", "ENVID=keep+2Bme"])
        wait_for(lambda: "451 4.3.0 busy" in self.show_all(), what="a deferred entry")
        shown = self.show_all()
        for line in ["dsn ret: HDRS", "dsn envid: keep+2Bme", "recipient: <later@remote.test> pending",
                     "  dsn notify: SUCCESS,DELAY", "  dsn orcpt: rfc822;later+40remote.test"]:
            self.assertIn(line, shown)
        self.ctl("queue", "delete", self.ctl("queue", "list").split("\t")[0])


class DsnCapableServerTest(QueueBase):
    """A server that offers DSN gets the requests and owns the notices."""

    sink_dsn = True

    def test_dsn_parameters_are_passed_on(self):
        self.send_dsn({"friend@remote.test": ["NOTIFY=SUCCESS", "ORCPT=rfc822;friend+40remote.test"],
                       "other@remote.test": []}, mail_options=["RET=HDRS", "ENVID=abc+2Bdef"])
        wait_for(lambda: self.sink.messages, what="delivery to the sink")
        mail = [c for c in self.sink.commands if c.upper().startswith("MAIL")]
        rcpts = {c.split("<")[1].split(">")[0]: c for c in self.sink.commands if c.upper().startswith("RCPT")}
        self.assertEqual(len(mail), 1)
        self.assertIn(" RET=HDRS", mail[0])
        self.assertIn(" ENVID=abc+2Bdef", mail[0])
        self.assertIn(" NOTIFY=SUCCESS", rcpts["friend@remote.test"])
        self.assertIn(" ORCPT=rfc822;friend+40remote.test", rcpts["friend@remote.test"])
        self.assertEqual(rcpts["other@remote.test"], "RCPT TO:<other@remote.test>", "nothing asked, nothing passed")
        wait_for(lambda: not self.queued(), what="the entry to leave the queue")
        self.assertEqual(self.inbox("alice"), [], "the remote server reports the success, not Gannet")


class GannetToGannetTest(QueueBase):
    """The agent against a second Gannet: STARTTLS on the way."""

    def test_delivery_to_another_gannet_uses_starttls(self):
        other = Gannet(f"""mail {{ ssl_certificate cert.pem; ssl_certificate_key cert.key; server_name mx.other.test;
            server {{ listen 127.0.0.1:{self.other_mx}; protocol smtp; smtp_role mx; }} }}\n""", workers=1)
        self.servers.append(other)
        make_cert(other.dir, "cert", "mx.other.test")
        ctl = os.path.join(os.path.dirname(os.environ.get("GANNET", "")) or ".", "gannetctl")
        run = lambda *a, stdin="": subprocess.run([ctl, "-c", other.conf, *a], input=stdin, capture_output=True,
                                                  text=True, timeout=60, check=True).stdout
        run("domain", "add", "other.test")
        run("user", "add", "carol@other.test", "--password-stdin", stdin="pw\n")
        other.start()
        self.send("carol@other.test", subject="to carol")
        wait_for(lambda: "1 messages" in run("mailbox", "list", "carol@other.test"), what="carol's mail")
        stored = run("message", "show", "carol@other.test", "INBOX", "1")
        self.assertIn("Subject: to carol", stored)
        self.assertRegex(stored, r"Received: from mail\.example\.test \(\[127\.0\.0\.1\]\)\r?\n\s+by mx\.other\.test "
                                 r"\(Gannet\) with ESMTPS")
        wait_for(lambda: not self.queued(), what="the entry to leave the queue")


if __name__ == "__main__":
    main()
