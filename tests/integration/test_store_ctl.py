"""gannetctl end to end: domains, users, aliases, quota, mailboxes, queue,
store check/backup, and the errors an admin meets."""
import os
import subprocess
import tempfile
import unittest

from harness import GANNET, main

GANNETCTL = os.path.join(os.path.dirname(GANNET), "gannetctl")


class CtlTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gannet-ctl-")
        self.conf = os.path.join(self.dir, "gannet.conf")
        with open(self.conf, "w") as f:
            f.write("store_path data;\nstore_map_size 64m;\nmail { }\n")

    def ctl(self, *args, stdin="", ok=True):
        r = subprocess.run([GANNETCTL, "-c", self.conf, *args], input=stdin, capture_output=True, text=True, timeout=60)
        if ok:
            self.assertEqual(r.returncode, 0, f"{args}: {r.stderr}")
        return r

    def error(self, *args, stdin=""):
        r = self.ctl(*args, stdin=stdin, ok=False)
        self.assertEqual(r.returncode, 1, f"{args} should fail")
        return r.stderr

    def test_accounts(self):
        self.ctl("domain", "add", "Example.TEST")
        self.assertEqual(self.ctl("domain", "list").stdout, "example.test\n")
        self.ctl("user", "add", "Alice@example.test", "--password-stdin", stdin="s3cret\n")
        self.ctl("user", "add", "bob@example.test", "--password-stdin", stdin="other\n")
        self.assertIn("already exists", self.error("user", "add", "alice@example.test", "--password-stdin", stdin="x\n"))
        self.assertIn("no such domain", self.error("user", "add", "carol@nowhere.test", "--password-stdin", stdin="x\n"))
        self.assertIn("not an address", self.error("user", "add", "not-an-address", "--password-stdin", stdin="x\n"))
        users = self.ctl("user", "list").stdout
        self.assertIn("alice@example.test", users)
        self.assertIn("bob@example.test", users)

        mailboxes = self.ctl("mailbox", "list", "alice@example.test").stdout
        for name, special in [("INBOX", ""), ("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Trash", "\\Trash"), ("Junk", "\\Junk")]:
            self.assertRegex(mailboxes, rf"(?m)^{name}\t0 messages.*\t{special.replace(chr(92), chr(92) * 2)}$")

        self.ctl("alias", "add", "team@example.test", "alice@example.test")
        self.ctl("alias", "add", "team@example.test", "bob@example.test")
        self.ctl("alias", "add", "@example.test", "alice@example.test")
        self.assertIn("exists already", self.error("alias", "add", "team@example.test", "bob@example.test"))
        self.assertEqual(self.ctl("alias", "list").stdout.count("\n"), 3)
        self.ctl("alias", "del", "team@example.test", "bob@example.test")
        self.assertEqual(self.ctl("alias", "list").stdout.count("\n"), 2)

        self.ctl("user", "quota", "alice@example.test", "10m", "1000")
        self.assertIn("bytes 0/10485760\tmessages 0/1000", self.ctl("user", "quota", "alice@example.test").stdout)
        self.ctl("user", "passwd", "alice@example.test", "--password-stdin", stdin="new\n")
        self.assertIn("still has users or aliases", self.error("domain", "del", "example.test"))
        self.ctl("user", "del", "bob@example.test")
        self.assertNotIn("bob@", self.ctl("user", "list").stdout)
        self.assertIn("not found", self.error("user", "del", "bob@example.test"))
        self.assertEqual(self.ctl("store", "check").stdout, "store is consistent\n")

    def test_passwd_file_import_and_export(self):
        self.ctl("domain", "add", "example.test")
        path = os.path.join(self.dir, "users")
        with open(path, "w") as f:
            f.write("# from Dovecot\n\na@example.test:{PLAIN}pw a:1000:1000::/home/a::\n"
                    "B@Example.test:{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2g\n")
        self.assertIn("2 users imported", self.ctl("import", "passwd-file", path).stdout)
        exported = self.ctl("export", "passwd-file").stdout.splitlines()
        self.assertEqual(len(exported), 2)
        self.assertRegex(exported[0], r"^a@example\.test:\{ARGON2ID\}\$argon2id\$v=19\$m=19456,t=2,p=1\$")  # hashed here
        self.assertEqual(exported[1], "b@example.test:{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2g")
        self.assertIn("INBOX", self.ctl("mailbox", "list", "b@example.test").stdout)

        # All or nothing, each error at FILE:LINE.
        with open(path, "w") as f:
            f.write("c@example.test:{PLAIN}ok\nd@example.test:{SHA512-CRYPT}$6$x$y\nno colon\n"
                    "e@example.test:\nf@example.test:{ARGON2ID}not-a-hash\n")
        err = self.error("import", "passwd-file", path)
        for line in (":2: {SHA512-CRYPT}", ":3: expected ADDRESS:PASSWORD", ":4: empty password", ":5: not an argon2id"):
            self.assertIn(line, err)
        self.assertIn("nobody imported", err)
        with open(path, "w") as f:
            f.write("c@example.test:{PLAIN}ok\na@example.test:{PLAIN}again\n")
        self.assertIn("users:2: a@example.test: the user exists already; nobody imported", self.error("import", "passwd-file", path))
        self.assertNotIn("c@example.test", self.ctl("user", "list").stdout)
        self.assertIn("cannot read", self.error("import", "passwd-file", os.path.join(self.dir, "missing")))

        # What export wrote, another store imports: the same hashes.
        with open(path, "w") as f:
            f.write("\n".join(exported) + "\n")
        self.conf = os.path.join(self.dir, "other.conf")
        with open(self.conf, "w") as f:
            f.write("store_path other;\nstore_map_size 64m;\nmail { }\n")
        self.ctl("domain", "add", "example.test")
        self.ctl("import", "passwd-file", path)
        self.assertEqual(self.ctl("export", "passwd-file", "example.test").stdout.splitlines(), exported)

    def test_queue(self):
        self.ctl("domain", "add", "example.test")
        msg = "From: a@example.test\r\nSubject: out\r\n\r\nhello\r\n"
        first = self.ctl("queue", "add", "--from=a@example.test", "x@remote.test", "y@remote.test", stdin=msg).stdout
        qid = first.split()[-1]
        self.ctl("queue", "add", "z@remote.test", stdin=msg)  # a null sender
        listing = self.ctl("queue", "list").stdout
        self.assertIn("2 queued", listing)
        self.assertIn("<a@example.test>\t2/2 pending", listing)
        shown = self.ctl("queue", "show", qid).stdout
        self.assertIn("recipient: <x@remote.test> pending", shown)
        self.assertIn("Subject: out", shown)
        self.ctl("queue", "hold", qid)
        self.assertIn("held", self.ctl("queue", "list").stdout)
        self.ctl("queue", "release", qid)
        self.assertNotIn("held", self.ctl("queue", "list").stdout)
        self.ctl("queue", "flush")
        self.ctl("queue", "delete", qid)
        self.assertIn("1 queued", self.ctl("queue", "list").stdout)
        self.assertIn("not found", self.error("queue", "show", qid))
        self.assertIn("not a queue id", self.error("queue", "delete", "abc"))
        self.assertIn("not an address", self.error("queue", "add", "bad address", stdin=msg))
        stats = self.ctl("store", "stats").stdout
        self.assertIn("queued 1\n", stats)
        self.assertIn("bodies 1\n", stats)
        self.assertEqual(self.ctl("store", "check").stdout, "store is consistent\n")

    def test_backup_is_a_usable_store(self):
        self.ctl("domain", "add", "example.test")
        backup = os.path.join(self.dir, "backup")
        self.ctl("store", "backup", backup)
        conf2 = os.path.join(self.dir, "restored.conf")
        with open(conf2, "w") as f:
            f.write(f"store_path {backup};\nmail {{ }}\n")
        r = subprocess.run([GANNETCTL, "-c", conf2, "domain", "list"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.stdout, "example.test\n")

    def test_errors(self):
        self.assertIn("unknown command", self.error("frob", "nicate"))
        self.assertIn("usage: gannetctl domain add DOMAIN", self.error("domain", "add"))
        with open(self.conf, "a") as f:
            f.write("bogus;\n")
        self.assertIn(f'unknown directive "bogus" in {self.conf}:4', self.error("domain", "list"))

    def test_map_full_names_the_directive(self):
        with open(self.conf, "w") as f:
            f.write("store_path data;\nstore_map_size 1m;\nmail { }\n")
        self.ctl("domain", "add", "example.test")
        big = "x" * (400 << 10)
        err = ""
        for _ in range(5):
            r = self.ctl("queue", "add", "a@remote.test", stdin=big, ok=False)
            if r.returncode:
                err = r.stderr
                break
        self.assertIn('raise "store_map_size"', err)


if __name__ == "__main__":
    main()
