"""DKIM signing end to end: keys made by `gannetctl dkim keygen` and picked
up on SIGHUP, mail submitted over SMTP signed with both (RSA-2048 and
Ed25519), and every signature checked by two verifiers written elsewhere:
dkimpy (Debian's python3-dkim, under the system's python3) and OpenDKIM
in its test mode (opendkim -t, TestPublicKeys), both fed the records
`gannetctl dns` prints instead of DNS."""
import base64
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

from harness import main, wait_for
from peers import DnsServer
from smtp_harness import GANNETCTL, SmtpTest

SYSTEM_PYTHON = "/usr/bin/python3"
# argv[1]: the TXT records, "name value" a line; stdin: the message.
# Prints pass or fail for each DKIM-Signature, top first.
DKIMPY = r"""
import sys, dkim
records = dict(line.split(" ", 1) for line in sys.argv[1].splitlines())
def dns(name, timeout=5):
    return records.get(name.decode().rstrip("."), "").encode() or None
msg = sys.stdin.buffer.read()
d = dkim.DKIM(msg, minkey=1024)
count = sum(1 for line in msg.split(b"\r\n") if line.lower().startswith(b"dkim-signature:"))
def check(i):
    try:
        return "pass" if d.verify(idx=i, dnsfunc=dns) else "fail"
    except dkim.ValidationError:  # a body hash that does not match, for one
        return "fail"
print(" ".join(check(i) for i in range(count)))
"""


def have_dkimpy():
    return os.path.exists(SYSTEM_PYTHON) and subprocess.run(
        [SYSTEM_PYTHON, "-c", "import dkim"], capture_output=True).returncode == 0


@unittest.skipUnless(have_dkimpy(), "python3-dkim is not installed (tools/install-test-deps)")
class DkimSignTest(SmtpTest):
    submission_extra = "smtp_auth_plaintext on; dkim_sign on;"
    canon = b"relaxed/relaxed"

    MESSAGE = ("From: Alice <alice@example.test>\r\nTo: bob@example.test, friend@remote.test\r\n"
               "Subject: signed\r\nDate: Tue, 08 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@example.test>\r\n\r\n"
               "Hello,  with   spaces \r\n\r\n.a line with a dot\r\n\r\n\r\n")

    def setUp(self):
        super().setUp()
        for selector, algo in (("r1", "rsa2048"), ("e1", "ed25519")):
            self.ctl("dkim", "keygen", "example.test", f"--selector={selector}", f"--algo={algo}")
        self.reload()

    def reload(self):
        """SIGHUP, and wait for the new workers (which have the keys)."""
        old = set(self.g.worker_pids())
        self.g.signal(signal.SIGHUP)
        wait_for(lambda: len(self.g.worker_pids()) == 2 and not old & set(self.g.worker_pids()),
                 what="the reload's new workers")

    def records(self):
        out = []
        for m in re.finditer(r'^(\S+)\. IN TXT (.*)$', self.ctl("dns", "example.test"), re.M):
            if "._domainkey." in m.group(1):
                out.append(m.group(1) + " " + "".join(re.findall(r'"([^"]*)"', m.group(2))))
        return "\n".join(sorted(set(out)))

    def verify(self, message, records=None):
        r = subprocess.run([SYSTEM_PYTHON, "-c", DKIMPY, records or self.records()], input=message,
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return r.stdout.decode().split()

    def opendkim(self, message):
        """OpenDKIM's verdict on each signature: {selector: pass|fail|...}."""
        with tempfile.TemporaryDirectory(prefix="gannet-opendkim-") as d:
            keys, conf, msg = (os.path.join(d, n) for n in ("keys", "opendkim.conf", "msg.eml"))
            with open(keys, "w") as f:
                f.write(self.records() + "\n")
            with open(conf, "w") as f:
                f.write(f"TestPublicKeys {keys}\nMode v\nSyslog no\nAlwaysAddARHeader yes\n")
            with open(msg, "wb") as f:
                f.write(message)
            r = subprocess.run(["opendkim", "-x", conf, "-t", msg, "-vv"], capture_output=True, text=True, timeout=60)
        results = re.findall(r"dkim=(\w+)[^;]*?header\.s=(\w+)", r.stdout + r.stderr)
        self.assertTrue(results, r.stdout + r.stderr)
        return {selector: result for result, selector in results}

    def submit(self, message=None, sender="alice@example.test", rcpts=("bob@example.test",)):
        with self.smtp(self.sub) as s:
            s.login("alice@example.test", "alice-pw")
            s.sendmail(sender, list(rcpts), (message or self.MESSAGE).encode())

    def signatures(self, message):
        return re.findall(rb"(?im)^DKIM-Signature:[^\r\n]*(?:\r\n[ \t][^\r\n]*)*", message)

    def test_both_keys_sign_and_dkimpy_verifies_the_stored_and_the_queued_copy(self):
        self.submit(rcpts=("bob@example.test", "friend@remote.test"))
        stored = self.inbox("bob")[0]
        sigs = self.signatures(stored)
        self.assertEqual(len(sigs), 2, stored[:1500])
        self.assertIn(b"a=rsa-sha256; c=" + self.canon + b"; d=example.test; s=r1;", sigs[0] + sigs[1])
        self.assertIn(b"a=ed25519-sha256; c=" + self.canon + b"; d=example.test; s=e1;", sigs[0] + sigs[1])
        # From, To and Subject oversigned: signed once more than present.
        h = re.search(rb"h=([^;]*);", b"".join(sigs[0].split())).group(1)
        self.assertEqual(h.split(b":").count(b"from"), 2, h)
        self.assertEqual(h.split(b":").count(b"subject"), 2, h)
        self.assertEqual(self.verify(stored), ["pass", "pass"])
        qid = self.ctl("queue", "list").split("\t")[0]
        queued = subprocess.run([GANNETCTL, "-c", self.g.conf, "queue", "show", qid], capture_output=True,
                                timeout=60).stdout.split(b"\n\n", 1)[1]
        self.assertEqual(self.verify(queued), ["pass", "pass"])
        if shutil.which("opendkim"):
            self.assertEqual(self.opendkim(stored), {"r1": "pass", "e1": "pass"})
            self.assertEqual(self.opendkim(stored.replace(b"with   spaces", b"with   spices")),
                             {"r1": "fail", "e1": "fail"})
        # The verifier is real: a changed body or header fails it.
        self.assertEqual(self.verify(stored.replace(b"with   spaces", b"with   spices")), ["fail", "fail"])
        self.assertEqual(self.verify(stored.replace(b"Subject: signed", b"Subject: forged")), ["fail", "fail"])

    def test_what_is_not_signed(self):
        # Mail from outside (the MX, no login) is not ours to sign.
        with self.smtp() as s:
            s.sendmail("carol@example.net", ["bob@example.test"], self.MESSAGE.replace("alice@example.test", "carol@example.net"))
        # A From domain without a key (a remote one), or authors of two
        # domains, gets no signature.
        self.submit(self.MESSAGE.replace("From: Alice <alice@example.test>", "From: Alice <alice@remote.test>"))
        self.submit(self.MESSAGE.replace("From: Alice <alice@example.test>",
                                         'From: alice@example.test, "Carol, C." <carol@remote.test>'))
        for message in self.inbox("bob"):
            self.assertEqual(self.signatures(message), [], re.findall(rb"(?m)^From:.*", message))

    def test_the_empty_body_and_a_message_without_a_final_crlf(self):
        self.submit(self.MESSAGE.split("\r\n\r\n", 1)[0] + "\r\n\r\n")
        # Two authors of one domain: signed for it.
        self.submit(self.MESSAGE.replace("From: Alice <alice@example.test>",
                                         'From: alice@example.test, "Bob (B)" <bob@example.test>'))
        self.submit(self.MESSAGE.rstrip("\r\n") + "\r\nno final line end")
        for message in self.inbox("bob"):
            self.assertEqual(self.verify(message), ["pass", "pass"])


@unittest.skipUnless(have_dkimpy(), "python3-dkim is not installed (tools/install-test-deps)")
class DkimSimpleTest(DkimSignTest):
    submission_extra = "smtp_auth_plaintext on; dkim_sign on; dkim_canonicalization simple/simple; dkim_signature_expire 1d;"
    canon = b"simple/simple"

    def test_simple_canonicalization_and_expiry(self):
        self.submit()
        stored = self.inbox("bob")[0]
        sigs = b"".join(self.signatures(stored))
        self.assertEqual(sigs.count(b"c=simple/simple;"), 2)
        t = int(re.search(rb"t=(\d+)", sigs).group(1))
        x = int(re.search(rb"x=(\d+)", sigs).group(1))
        self.assertEqual(x - t, 86400)
        self.assertEqual(self.verify(stored), ["pass", "pass"])
        # simple counts whitespace: what relaxed forgives, simple does not.
        self.assertEqual(self.verify(stored.replace(b"with   spaces", b"with spaces")), ["fail", "fail"])


def openssl(*args, stdin=None):
    return subprocess.run(["openssl", *args], input=stdin, capture_output=True, check=True, timeout=60).stdout


@unittest.skipUnless(have_dkimpy() and shutil.which("dkimsign"), "python3-dkim is not installed (tools/install-test-deps)")
class DkimVerifyTest(SmtpTest):
    """Inbound mail signed by dkimpy's dkimsign, keys served by a DNS server
    on loopback: each case's Authentication-Results as stored."""
    mx_extra = "dkim_verify on; smtp_max_message_size 1m;"

    MESSAGE = (b"From: Carol <carol@signer.test>\r\nTo: bob@example.test\r\nSubject: from outside\r\n"
               b"Date: Tue, 08 Dec 2026 10:00:00 +0000\r\nMessage-ID: <2@signer.test>\r\n\r\nHello Bob.\r\n")

    @classmethod
    def setUpClass(cls):
        cls.keys = tempfile.mkdtemp(prefix="gannet-dkim-keys-")
        records = {}
        for bits in (2048, 1024, 512):
            path = os.path.join(cls.keys, f"rsa{bits}.pem")
            openssl("genrsa", "-out", path, str(bits))
            spki = openssl("rsa", "-in", path, "-pubout", "-outform", "DER")
            records[f"rsa{bits}"] = "v=DKIM1; k=rsa; p=" + base64.b64encode(spki).decode()
        subprocess.run(["dknewkey", "--ktype", "ed25519", os.path.join(cls.keys, "ed")], check=True,
                       capture_output=True, timeout=60)
        with open(os.path.join(cls.keys, "ed.dns")) as f:
            records["ed"] = re.search(r"v=DKIM1[^\"]*", f.read().replace('" "', "")).group(0).strip()
        records["revoked"] = "v=DKIM1; k=rsa; p="
        records["cached"] = records["rsa1024"]  # asked for by one test only, to count the asking
        cls.dns = DnsServer({f"{sel}._domainkey.signer.test": {"TXT": [txt]} for sel, txt in records.items()})

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()
        shutil.rmtree(cls.keys, ignore_errors=True)

    def conf(self):
        return f"resolver 127.0.0.1:{self.dns.port};\n" + super().conf()

    def signed(self, selector, key, message=None, signalg="rsa-sha256"):
        r = subprocess.run(["dkimsign", "--signalg", signalg, selector, "signer.test", os.path.join(self.keys, key)],
                           input=message or self.MESSAGE, capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def results(self, message):
        """What the stored copy of `message`, sent in over the MX, says."""
        before = len(self.inbox("bob"))
        with self.smtp() as s:
            s.sendmail("carol@signer.test", ["bob@example.test"], message)
        stored = self.inbox("bob")[before]
        found = re.findall(rb"(?m)^Authentication-Results: ([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", stored)
        self.assertEqual(len(found), 1, stored[:800])
        return [" ".join(part.split()) for part in found[0].decode().replace("\r\n", "").split(";")]

    def test_each_case(self):
        ok = self.signed("rsa2048", "rsa2048.pem")
        ed = self.signed("ed", "ed.key", signalg="ed25519-sha256")
        no_t = re.sub(rb"t=\d+;", b"x=1000;", ok)
        cases = {
            "rsa-sha256 and ed25519-sha256": (self.signed("ed", "ed.key", ok, "ed25519-sha256"), ["pass", "pass"]),
            "body changed": (ok.replace(b"Hello Bob.", b"Hello Rob."), ['fail reason="body hash did not verify"']),
            "header changed": (ok.replace(b"from outside", b"from inside"), ['fail reason="signature did not verify"']),
            "expired": (no_t, ['fail reason="signature expired"']),
            "revoked key": (self.signed("revoked", "rsa2048.pem"), ['fail reason="key revoked"']),
            "unknown algorithm": (self.signed("rsa2048", "rsa2048.pem", signalg="rsa-sha1"),
                                  ['permerror reason="unknown algorithm rsa-sha1"']),
            "1024-bit RSA": (self.signed("rsa1024", "rsa1024.pem"), ["pass"]),
            "512-bit RSA": (self.signed("rsa512", "rsa512.pem"), ['policy reason="an RSA key of 512 bits"']),
            "no key published": (self.signed("nokey", "rsa2048.pem"), ['permerror reason="no key for signature"']),
            "ed25519": (ed, ["pass"]),
            "not signed": (self.MESSAGE, None),
        }
        for name, (message, want) in cases.items():
            with self.subTest(name):
                got = self.results(message)
                self.assertEqual(got[0], "mail.example.test")
                if want is None:
                    self.assertEqual(got[1:], ["dkim=none"])
                    continue
                verdicts = [re.sub(r" header\..*", "", g)[len("dkim="):] for g in got[1:]]
                self.assertEqual(verdicts, want)

    def test_key_records_are_cached_for_their_ttl(self):
        signed = self.signed("cached", "rsa1024.pem")
        for _ in range(4):
            self.assertEqual(self.results(signed)[1].split()[0], "dkim=pass")
        asked = self.dns.queries.count(("cached._domainkey.signer.test", 16))
        self.assertGreaterEqual(asked, 1)
        self.assertLessEqual(asked, self.workers)  # once a worker at most: the record's TTL is 60 s

    def test_a_good_signature_passes_with_its_properties(self):
        signed = self.signed("rsa2048", "rsa2048.pem")
        b = re.search(rb"\bb=([^;]*)", re.sub(rb"\s", b"", signed.split(b"\nFrom:")[0])).group(1)[:8].decode()
        self.assertEqual(self.results(signed)[1:],
                         [f"dkim=pass header.d=signer.test header.s=rsa2048 header.a=rsa-sha256 header.b={b}"])


if __name__ == "__main__":
    main()
