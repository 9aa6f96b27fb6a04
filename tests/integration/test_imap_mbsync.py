"""mbsync (Debian's isync) against Gannet's IMAP: a 1,000-message INBOX
pulled into a local Maildir; then new mail, flag changes and deletions on
both sides synced both ways; and a run after that changes nothing."""
import os
import shutil
import subprocess
import unittest

from harness import main
from test_imap import ImapBase

MBSYNC = shutil.which("mbsync")


@unittest.skipUnless(MBSYNC, "mbsync is not installed (apt-get install isync)")
class MbsyncTest(ImapBase):
    workers = 2

    def setUp(self):
        super().setUp()
        self.home = os.path.join(self.g.dir, "mbsync")
        os.makedirs(os.path.join(self.home, "mail"))
        self.rc = os.path.join(self.home, "mbsyncrc")
        with open(self.rc, "w") as f:
            f.write(f"""IMAPAccount gannet
Host 127.0.0.1
Port {self.imap_plain}
User alice@example.test
Pass alice-pw
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account gannet

MaildirStore local
Path {self.home}/mail/
Inbox {self.home}/mail/INBOX
SubFolders Verbatim

Channel inbox
Far :remote:INBOX
Near :local:INBOX
Create Both
Expunge Both
Sync All
SyncState *
""")

    def sync(self):
        r = subprocess.run([MBSYNC, "-c", self.rc, "-a"], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "HOME": self.home})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout + r.stderr

    def local(self):
        """The local Maildir: {file base name (up to ':'): flags}."""
        out = {}
        for sub in ("cur", "new"):
            d = os.path.join(self.home, "mail", "INBOX", sub)
            for name in os.listdir(d):
                base, _, info = name.partition(":2,")
                out[base] = info
        return out

    def file_of_uid(self, uid):
        """The Maildir file mbsync named after the server's UID (",U=n")."""
        for sub in ("cur", "new"):
            d = os.path.join(self.home, "mail", "INBOX", sub)
            for name in os.listdir(d):
                if f",U={uid}:" in name or name.endswith(f",U={uid}"):
                    return os.path.join(d, name)
        self.fail(f"no local file for UID {uid}: {os.listdir(d)[:3]}")

    def fill(self, n):
        s, f = self.raw()
        s.sendall(b"L LOGIN alice@example.test alice-pw\r\n")
        self.until_tagged(f, "L")
        batch = b""
        for i in range(n):
            msg = (b"From: sender%d@example.net\r\nTo: alice@example.test\r\nSubject: message %d\r\n"
                   b"Message-ID: <m%d@example.net>\r\n\r\nBody of message %d.\r\n" % (i, i, i, i))
            batch += b"a%d APPEND INBOX {%d+}\r\n" % (i, len(msg)) + msg + b"\r\n"
        s.sendall(batch)
        for i in range(n):
            self.assertIn(" OK [APPENDUID", self.until_tagged(f, "a%d" % i)[-1])
        s.close()

    def test_a_thousand_messages_both_ways_then_nothing(self):
        self.fill(1000)
        self.sync()
        self.assertEqual(len(self.local()), 1000)

        # Both sides change: new mail here and there, a flag set locally, a
        # message deleted locally, a flag set and a message expunged remotely.
        self.deliver()
        first, second = self.file_of_uid(1), self.file_of_uid(2)
        cur = os.path.join(self.home, "mail", "INBOX", "cur")
        os.rename(first, os.path.join(cur, os.path.basename(first).split(":2,")[0] + ":2,FS"))
        os.unlink(second)
        with open(os.path.join(self.home, "mail", "INBOX", "new", "local.1.host"), "wb") as f:
            f.write(b"From: me@example.test\r\nSubject: written locally\r\n\r\nhi\r\n")
        c = self.login()
        c.select("INBOX")
        c.store("10", "+FLAGS", "(\\Answered)")
        c.store("20", "+FLAGS", "(\\Deleted)")
        c.expunge()
        c.logout()
        self.sync()

        c = self.login()
        c.select("INBOX")
        typ, data = c.search(None, "ALL")
        total = len(data[0].split())
        # 1000 + 1 delivered + 1 written locally - 1 deleted locally - 1 expunged remotely
        self.assertEqual(total, 1000)
        self.assertEqual(c.search(None, "FLAGGED")[1], [b"1"], "the local flag reached the server")
        self.assertEqual(c.search(None, "SUBJECT", '"written locally"')[0], "OK")
        self.assertEqual(len(c.search(None, "SUBJECT", '"written locally"')[1][0].split()), 1)
        c.logout()
        self.assertEqual(len(self.local()), 1000)
        answered = [base for base, info in self.local().items() if "R" in info]
        self.assertEqual(len(answered), 1, "the server's \\Answered reached the Maildir")

        before_local, before_remote = self.local(), self.ctl("mailbox", "show", "alice@example.test", "INBOX")
        self.sync()
        self.assertEqual(self.local(), before_local)
        self.assertEqual(self.ctl("mailbox", "show", "alice@example.test", "INBOX"), before_remote)

    def login(self):
        import imaplib
        c = imaplib.IMAP4("127.0.0.1", self.imap_plain, timeout=20)
        c.login("alice@example.test", "alice-pw")
        return c


if __name__ == "__main__":
    main()
