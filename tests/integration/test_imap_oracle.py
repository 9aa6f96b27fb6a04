"""Dovecot as an oracle: the MIME corpus in tests/corpus/imap is appended
to Gannet and to Debian's Dovecot (unprivileged, loopback, as
bench/imap_bench.py runs it), and every message's BODYSTRUCTURE, BODY,
ENVELOPE and a few sections must read the same from both (letter case
aside). Skipped where Dovecot is not installed."""
import imaplib
import os
import sys
import tempfile
import unittest

from harness import free_port, main
from smtp_harness import SmtpTest

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "bench")
CORPUS = os.path.join(os.path.dirname(__file__), "..", "corpus", "imap")
# Where we differ on purpose: a multipart whose boundary never comes is
# shown as the text/plain it then is, so the mail stays readable; Dovecot
# shows a multipart with one empty part.
ON_PURPOSE = {"08-empty-multipart.eml"}
ITEMS = ["BODYSTRUCTURE", "BODY", "ENVELOPE", "BODY.PEEK[1]", "BODY.PEEK[1.MIME]", "BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]",
         "RFC822.SIZE"]


def answers(port, user, password, messages):
    c = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    c.login(user, password)
    for m in messages:
        typ, _ = c.append("INBOX", None, None, m)
        assert typ == "OK"
    c.select("INBOX")
    out = {}
    for i in range(1, len(messages) + 1):
        for item in ITEMS:
            typ, data = c.fetch(str(i), f"({item})")
            out[(i, item)] = (typ, b"".join(x if isinstance(x, bytes) else b"".join(x) for x in data))
    c.logout()
    return out


@unittest.skipUnless(os.path.exists("/usr/sbin/dovecot"), "dovecot is not installed (apt-get install dovecot-imapd)")
class OracleTest(SmtpTest):
    imap_port = 0

    def conf(self):
        self.imap_port = free_port()
        return super().conf().rstrip().rstrip("}") + f"""
    server {{ listen 127.0.0.1:{self.imap_port}; protocol imap; imap_auth_plaintext on; }}
}}
"""

    def test_structure_and_sections_read_as_dovecot_reads_them(self):
        sys.path.insert(0, BENCH)
        import imap_bench
        names = sorted(os.listdir(CORPUS))
        messages = []
        for name in names:
            with open(os.path.join(CORPUS, name), "rb") as f:
                messages.append(f.read())
        ours = answers(self.imap_port, "alice@example.test", "alice-pw", messages)
        with tempfile.TemporaryDirectory() as d:
            port = free_port()
            dovecot = imap_bench.Dovecot(d, port, 10, 1)
            with dovecot:
                theirs = answers(port, imap_bench.USER, imap_bench.PASSWORD, messages)
        differ = [f"{names[i - 1]} {item}:\n  dovecot {theirs[(i, item)]}\n  gannet  {ours[(i, item)]}"
                  for (i, item) in ours
                  if ours[(i, item)][1].lower() != theirs[(i, item)][1].lower() and names[i - 1] not in ON_PURPOSE]
        self.assertEqual(len(ours), len(names) * len(ITEMS))
        self.assertEqual(differ, [], "\n".join(differ))


if __name__ == "__main__":
    main()
