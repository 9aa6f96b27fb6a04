"""gannetctl dkim keygen and dns: the key files, and the records printed
for them checked against what openssl reads back from those files."""
import base64
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

from harness import GANNET, main

GANNETCTL = os.path.join(os.path.dirname(GANNET), "gannetctl")
DOMAIN = "example.test"


def openssl_public_der(key_path):
    r = subprocess.run(["openssl", "pkey", "-in", key_path, "-pubout", "-outform", "DER"], capture_output=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError("openssl pkey -pubout failed: " + r.stderr.decode(errors="replace"))
    return r.stdout


def txt_strings(line):
    """The quoted strings of one zone-file TXT line."""
    return re.findall(r'"([^"]*)"', line)


def tags(value):
    return dict(t.split("=", 1) for t in value.split("; ") if t)


class DnsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gannet-dns-")
        self.write_conf("mail { }\n")
        self.ctl("domain", "add", DOMAIN)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write_conf(self, mail_block):
        self.conf = os.path.join(self.dir, "gannet.conf")
        with open(self.conf, "w") as f:
            f.write("store_map_size 64m;\n" + mail_block)

    def ctl(self, *args, stdin="", ok=True):
        r = subprocess.run([GANNETCTL, "-c", self.conf, *args], input=stdin, capture_output=True, text=True, timeout=60)
        if ok:
            self.assertEqual(r.returncode, 0, f"{args}: {r.stderr}")
        return r

    def error(self, *args):
        r = self.ctl(*args, ok=False)
        self.assertEqual(r.returncode, 1, f"{args} should fail: {r.stdout}")
        return r.stderr

    def key_path(self, selector):
        return os.path.join(self.dir, "dkim", DOMAIN, selector + ".key")

    def dkim_line(self, output, selector):
        prefix = f"{selector}._domainkey.{DOMAIN}. IN TXT "
        lines = [l for l in output.splitlines() if l.startswith(prefix)]
        self.assertEqual(len(lines), 1, f"one DKIM record for {selector} in:\n{output}")
        return lines[0]

    def assert_strings_fit(self, output):
        for line in output.splitlines():
            if line.startswith(";"):
                continue
            for s in txt_strings(line):
                self.assertLessEqual(len(s), 255, line)

    def keygen(self, *args):
        """Runs keygen; returns the p= and k= it printed."""
        out = self.ctl("dkim", "keygen", DOMAIN, *args).stdout
        self.assert_strings_fit(out)
        selector = next((a.split("=", 1)[1] for a in args if a.startswith("--selector=")), "s1")
        t = tags("".join(txt_strings(self.dkim_line(out, selector))))
        self.assertEqual(t["v"], "DKIM1")
        return t["p"], t["k"]

    def assert_key_file(self, selector, p, algo):
        path = self.key_path(selector)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        for d in (os.path.dirname(path), os.path.dirname(os.path.dirname(path))):
            self.assertEqual(stat.S_IMODE(os.stat(d).st_mode), 0o700, d)
        with open(path) as f:
            self.assertTrue(f.read().startswith("-----BEGIN PRIVATE KEY-----\n"), "PEM PKCS#8")
        r = subprocess.run(["openssl", "pkey", "-in", path, "-noout"], capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        der = openssl_public_der(path)
        # RFC 6376: RSA publishes the DER SubjectPublicKeyInfo; RFC 8463:
        # Ed25519 the bare 32-byte key, which ends its SPKI.
        expected = der if algo == "rsa" else der[-32:]
        self.assertEqual(p, base64.b64encode(expected).decode())
        if algo == "ed25519":
            self.assertEqual(len(base64.b64decode(p)), 32)

    def test_keygen_rsa_by_default(self):
        p, k = self.keygen()
        self.assertEqual(k, "rsa")
        self.assert_key_file("s1", p, "rsa")
        r = subprocess.run(["openssl", "pkey", "-in", self.key_path("s1"), "-noout", "-text"], capture_output=True, text=True)
        self.assertIn("2048 bit", r.stdout)
        self.assertEqual(os.listdir(os.path.dirname(self.key_path("s1"))), ["s1.key"], "no temp file left")

    def test_keygen_ed25519(self):
        p, k = self.keygen("--selector=ed1", "--algo=ed25519")
        self.assertEqual(k, "ed25519")
        self.assert_key_file("ed1", p, "ed25519")

    def test_keygen_splits_long_record_into_strings(self):
        out = self.ctl("dkim", "keygen", DOMAIN).stdout
        line = self.dkim_line(out, "s1")
        strings = txt_strings(line)
        self.assertGreater(len("".join(strings)), 255)
        self.assertEqual(strings[0], "v=DKIM1; k=rsa; ")
        self.assertRegex(line, r'IN TXT \( (".*" )+\)$')

    def test_keygen_refuses_to_overwrite_without_force(self):
        p1, _ = self.keygen()
        with open(self.key_path("s1"), "rb") as f:
            before = f.read()
        self.assertIn("exists already", self.error("dkim", "keygen", DOMAIN))
        self.assertIn("exists already", self.error("dkim", "keygen", DOMAIN, "--selector=s1", "--algo=ed25519"))
        with open(self.key_path("s1"), "rb") as f:
            self.assertEqual(f.read(), before)
        p2, k = self.keygen("--force", "--algo=ed25519")
        self.assertEqual(k, "ed25519")
        self.assertNotEqual(p1, p2)
        self.assert_key_file("s1", p2, "ed25519")
        self.assertEqual(os.listdir(os.path.dirname(self.key_path("s1"))), ["s1.key"], "no temp file left")

    def test_unknown_domain_is_refused(self):
        for args in (("dkim", "keygen", "nosuch.test"), ("dns", "nosuch.test")):
            with self.subTest(args=args):
                err = self.error(*args)
                self.assertIn("domain nosuch.test is not in the store", err)
                self.assertIn("gannetctl domain add nosuch.test", err)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "dkim", "nosuch.test")))

    def test_bad_options_are_refused(self):
        self.assertIn("selector", self.error("dkim", "keygen", DOMAIN, "--selector=../../etc"))
        self.assertIn("expected rsa2048 or ed25519", self.error("dkim", "keygen", DOMAIN, "--algo=dsa"))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "dkim")))

    def test_dns_prints_every_record(self):
        rsa_p, _ = self.keygen()
        ed_p, _ = self.keygen("--selector=ed1", "--algo=ed25519")
        out = self.ctl("dns", DOMAIN).stdout
        self.assert_strings_fit(out)
        lines = out.splitlines()
        self.assertIn(f"{DOMAIN}. IN MX 10 mail.{DOMAIN}.", lines)
        self.assertIn(f";   mail.{DOMAIN}. IN A    <IPv4 address>", lines)
        self.assertIn(f'{DOMAIN}. IN TXT "v=spf1 mx -all"', lines)
        self.assertIn(f'_dmarc.{DOMAIN}. IN TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@{DOMAIN}"', lines)
        self.assertIn(f'_smtp._tls.{DOMAIN}. IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@{DOMAIN}"', lines)
        self.assertRegex(out, rf'(?m)^_mta-sts\.{re.escape(DOMAIN)}\. IN TXT "v=STSv1; id=\d{{14}}"$')
        self.assertIn(f"; https://mta-sts.{DOMAIN}/.well-known/mta-sts.txt:", lines)
        policy = lines[lines.index(f"; https://mta-sts.{DOMAIN}/.well-known/mta-sts.txt:") + 1:]
        self.assertEqual(policy, ["version: STSv1", "mode: testing", f"mx: mail.{DOMAIN}", "max_age: 604800"])
        for selector, p, k in (("s1", rsa_p, "rsa"), ("ed1", ed_p, "ed25519")):
            t = tags("".join(txt_strings(self.dkim_line(out, selector))))
            self.assertEqual((t["v"], t["k"], t["p"]), ("DKIM1", k, p))
        self.assertNotIn("no DKIM key yet", out)

    def test_dns_without_keys_says_how_to_make_one(self):
        out = self.ctl("dns", DOMAIN).stdout
        self.assertNotIn("_domainkey", out)
        self.assertIn(f"; no DKIM key yet: gannetctl dkim keygen {DOMAIN}", out)

    def test_dns_mx_is_the_mail_blocks_server_name(self):
        self.write_conf("mail { server_name MX1.Example.NET; }\n")
        out = self.ctl("dns", DOMAIN).stdout
        self.assertIn(f"{DOMAIN}. IN MX 10 mx1.example.net.", out.splitlines())
        self.assertIn("mx: mx1.example.net", out.splitlines())
        self.write_conf("mail { server_name localhost; }\n")
        self.assertIn(f"{DOMAIN}. IN MX 10 mail.{DOMAIN}.", self.ctl("dns", DOMAIN).stdout.splitlines())

    def test_dns_notes_report_addresses_nobody_receives(self):
        out = self.ctl("dns", DOMAIN).stdout
        self.assertIn(f"DMARC reports go to postmaster@{DOMAIN}, which no local user receives", out)
        self.assertIn(f"TLS reports go to tlsrpt@{DOMAIN}, which no local user receives", out)
        self.ctl("user", "add", f"postmaster@{DOMAIN}", "--password-stdin", stdin="s3cret\n")
        self.ctl("alias", "add", f"tlsrpt@{DOMAIN}", f"postmaster@{DOMAIN}")
        self.assertNotIn("no local user receives", self.ctl("dns", DOMAIN).stdout)

    def test_dns_refuses_a_broken_key_file(self):
        self.keygen()
        bad = self.key_path("bad")
        with open(bad, "w") as f:
            f.write("not a key\n")
        err = self.error("dns", DOMAIN)
        self.assertIn(f'"{bad}" is not a PEM private key', err)


if __name__ == "__main__":
    main()
