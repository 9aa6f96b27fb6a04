"""gannetctl import/export: a Dovecot Maildir++ user (as iRedMail keeps
them) moves in and back out byte for byte with flags, keywords and dates; an
mboxrd file comes in with its quoting undone; and the errors an admin meets."""
import collections
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import GANNET, main

GANNETCTL = os.path.join(os.path.dirname(GANNET), "gannetctl")
ALICE, BOB = "alice@example.test", "bob@example.test"
KEYWORDS = "0 $Label1\n1 Work\n"  # dovecot-keywords: a = $Label1, b = Work
FLAG_SETS = ["", "S", "RS", "F", "T", "D", "FS", "Sa", "RSb", "ab", "PS", "DFRST"]
BASE_TIME = 1600000000


def message(i, crlf):
    """Distinct, varied messages: LF and CRLF, 8-bit bytes, mbox-like lines,
    one without a final line break."""
    nl = b"\r\n" if crlf else b"\n"
    lines = [b"From: sender%d@remote.test" % i, b"To: " + ALICE.encode(), b"Subject: message %d" % i,
             b"Date: Thu, 17 Sep 2020 12:00:00 +0000", b"", b"Body of %d." % i, b"From the start of a line",
             b">From quoted already", b"caf\xc3\xa9 \xff\xfe raw bytes"]
    lines += [b"filler line %d" % n for n in range(i % 7)]
    data = nl.join(lines)
    return data if i % 50 == 49 else data + nl


def flag_set(name, table):
    """The flags a Maildir file name spells, with keyword letters resolved and
    P read as $Forwarded (what gannetctl stores it as)."""
    if ":2," not in name:
        return frozenset()
    out = set()
    for ch in name.rsplit(":2,", 1)[1].split(",")[0]:
        if ch == "P":
            out.add("$Forwarded")
        elif "a" <= ch <= "z":
            out.add(table[ord(ch) - ord("a")])
        else:
            out.add(ch)
    return frozenset(out)


def keyword_table(folder):
    table = {}
    try:
        with open(os.path.join(folder, "dovecot-keywords")) as f:
            for line in f:
                index, name = line.rstrip("\n").split(" ", 1)
                table[int(index)] = name
    except FileNotFoundError:
        pass
    return table


def snapshot(root):
    """{folder: Counter((bytes, flags, mtime))} over a Maildir++ tree."""
    folders = {"": root}
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if name.startswith(".") and os.path.isdir(os.path.join(path, "cur")):
            folders[name] = path
    out = {}
    for name, path in folders.items():
        table = keyword_table(path)
        files = collections.Counter()
        for sub in ("cur", "new"):
            for fn in os.listdir(os.path.join(path, sub)):
                full = os.path.join(path, sub, fn)
                with open(full, "rb") as f:
                    files[(f.read(), flag_set(fn, table), int(os.stat(full).st_mtime))] += 1
        out[name] = files
    return out


class ImportTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gannet-import-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.conf = os.path.join(self.dir, "gannet.conf")
        with open(self.conf, "w") as f:
            f.write("store_path data;\nstore_map_size 256m;\nmail { }\n")
        self.ctl("domain", "add", "example.test")
        self.ctl("user", "add", ALICE, "--password-stdin", stdin=b"s3cret\n")
        self.ctl("user", "add", BOB, "--password-stdin", stdin=b"other\n")

    def ctl(self, *args, stdin=b"", ok=True):
        r = subprocess.run([GANNETCTL, "-c", self.conf, *args], input=stdin, capture_output=True, timeout=120)
        if ok:
            self.assertEqual(r.returncode, 0, f"{args}: {r.stderr.decode(errors='replace')}")
        return r

    def error(self, *args):
        r = self.ctl(*args, ok=False)
        self.assertEqual(r.returncode, 1, f"{args} should fail; stderr: {r.stderr!r}")
        return r.stderr.decode(errors="replace")

    def mailbox_counts(self, user):
        out = {}
        for line in self.ctl("mailbox", "list", user).stdout.decode().splitlines():
            name, count = line.split("\t")[:2]
            out[name] = int(count.split()[0])
        return out

    def unsubscribed(self, user):
        lines = self.ctl("mailbox", "list", user).stdout.decode().splitlines()
        return {line.split("\t")[0] for line in lines if "unsubscribed" in line.split("\t")}

    def uid_state(self, user, mailbox):
        """(UIDVALIDITY, UIDNEXT, [UIDs]) of a mailbox."""
        for line in self.ctl("mailbox", "list", user).stdout.decode().splitlines():
            fields = line.split("\t")
            if fields[0] == mailbox:
                uids = [l.split("\t")[0] for l in self.ctl("mailbox", "show", user, mailbox).stdout.decode().splitlines()]
                return fields[3], fields[4], uids
        self.fail(f"{user} has no mailbox {mailbox}")

    def test_dovecot_uids_are_kept(self):
        src = os.path.join(self.dir, "Dovecot")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(src, sub))
        names = ["1700000001.M1P1.host,S=20:2,S", "1700000002.M2P1.host,S=20:2,", "1700000003.M3P1.host,S=20:2,RS"]
        for i, name in enumerate(names):
            with open(os.path.join(src, "cur", name), "wb") as f:
                f.write(b"Subject: m%d\r\n\r\nbody\r\n" % i)
        with open(os.path.join(src, "dovecot-uidlist"), "w") as f:  # the third file is not listed
            f.write("3 V1234567 N50 G3085f01b7f11094c501100008c4a11c1\n"
                    "7 S20 :1700000002.M2P1.host,S=20\n"
                    "3 :1700000001.M1P1.host,S=20\n")
        self.ctl("import", "maildir", ALICE, src)
        self.assertEqual(self.uid_state(ALICE, "INBOX"), ("uidvalidity 1234567", "uidnext 51", ["3", "7", "50"]))
        shown = self.ctl("message", "show", ALICE, "INBOX", "7").stdout
        self.assertIn(b"Subject: m1", shown)
        # The same folder again, with one new file: only that one comes in,
        # under the UID the first import would have given it.
        with open(os.path.join(src, "new", "1700000004.M4P1.host,S=20"), "wb") as f:
            f.write(b"Subject: m3\r\n\r\nbody\r\n")
        out = self.ctl("import", "maildir", ALICE, src).stdout.decode()
        self.assertIn("INBOX\t1 messages\t3 already here, skipped", out)
        self.assertEqual(self.uid_state(ALICE, "INBOX"), ("uidvalidity 1234567", "uidnext 52", ["3", "7", "50", "51"]))
        # A file whose bytes changed is no longer the message stored under its UID.
        with open(os.path.join(src, "cur", names[0]), "ab") as f:
            f.write(b"edited\r\n")
        self.assertIn("INBOX\t1 messages\t3 already here", self.ctl("import", "maildir", ALICE, src).stdout.decode())
        self.assertEqual(self.uid_state(ALICE, "INBOX")[2], ["3", "7", "50", "51", "52"])
        # Into a mailbox with another UIDVALIDITY, UIDs cannot be kept: the
        # files it holds already are known by their size, date and bytes,
        # and a new one gets a new UID.
        self.ctl("import", "maildir", BOB, src)
        with open(os.path.join(src, "dovecot-uidlist"), "w") as f:
            f.write("3 V7654321 N9\n3 :1700000001.M1P1.host,S=20\n")
        with open(os.path.join(src, "new", "1700000005.M5P1.host,S=20"), "wb") as f:
            f.write(b"Subject: m5\r\n\r\nbody\r\n")
        out = self.ctl("import", "maildir", BOB, src).stdout.decode()
        self.assertIn("INBOX\t1 messages\t4 already here, skipped", out)
        self.assertEqual(self.uid_state(BOB, "INBOX"), ("uidvalidity 1234567", "uidnext 53", ["3", "7", "50", "51", "52"]))
        self.assertEqual(self.ctl("store", "check").stdout, b"store is consistent\n")

    def last_txn(self):
        stats = dict(line.split(" ", 1) for line in self.ctl("store", "stats").stdout.decode().splitlines())
        return int(stats["last_txn"])

    def make_maildir(self, root):
        """200 messages: INBOX (cur/ and new/) and three Maildir++ folders, one
        of them modified UTF-7 and one nested; Dovecot's files beside them."""
        layout = [("", 90, 40), (".Work", 30, 0), (".Entw&APw-rfe", 20, 5), (".Archiv.2023", 15, 0)]
        i = 0
        for folder, in_cur, in_new in layout:
            path = os.path.join(root, folder)
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(path, sub))
            with open(os.path.join(path, "dovecot-keywords"), "w") as f:
                f.write(KEYWORDS)
            if folder:
                open(os.path.join(path, "maildirfolder"), "w").close()
            for n in range(in_cur + in_new):
                data = message(i, crlf=i % 3 == 0)
                unique = f"{BASE_TIME + i}.M{i}P4242.mail.example.test,S={len(data)}"
                name = unique + ":2," + FLAG_SETS[i % len(FLAG_SETS)] if n < in_cur else unique
                full = os.path.join(path, "cur" if n < in_cur else "new", name)
                with open(full, "wb") as f:
                    f.write(data)
                os.utime(full, (BASE_TIME + i * 3600, BASE_TIME + i * 3600))
                i += 1
        self.assertEqual(i, 200)
        # What an import must leave alone: a delivery in progress, Dovecot's own files.
        with open(os.path.join(root, "tmp", "1600000000.M0P1.partial"), "wb") as f:
            f.write(b"Subject: half written")
        for name in ("dovecot-uidlist", "dovecot.index", "maildirsize"):
            with open(os.path.join(root, name), "w") as f:
                f.write("3 V1 N1\n")
        # As a fresh Dovecot writes it (version 1): Archiv/2023 is not subscribed.
        with open(os.path.join(root, "subscriptions"), "w") as f:
            f.write("INBOX\nWork\nEntw&APw-rfe\nArchiv\nNo.Such.Folder\n")
        os.makedirs(os.path.join(root, ".not-a-folder"))  # no cur/ or new/

    def test_maildir_round_trip(self):
        src = os.path.join(self.dir, "Maildir")
        self.make_maildir(src)
        before = self.last_txn()
        out = self.ctl("import", "maildir", ALICE, src).stdout.decode()
        self.assertIn("imported 200 messages into 4 mailboxes", out)
        # In batches: far fewer transactions than messages, yet more than one
        # for INBOX's 130 (and one to make each mailbox).
        txns = self.last_txn() - before
        self.assertGreaterEqual(txns, 6)
        self.assertLessEqual(txns, 20)

        counts = self.mailbox_counts(ALICE)
        self.assertEqual(counts, {"INBOX": 130, "Work": 30, "Entwürfe": 25, "Archiv/2023": 15,
                                  "Sent": 0, "Drafts": 0, "Trash": 0, "Junk": 0})
        self.assertEqual(self.unsubscribed(ALICE), {"Archiv/2023"})
        # Run again, nothing doubles: INBOX by its dovecot-uidlist, the
        # folders without one by size, date and bytes.
        out = self.ctl("import", "maildir", ALICE, src).stdout.decode()
        self.assertIn("imported 0 messages into 4 mailboxes", out)
        for mailbox, n in (("INBOX", 130), ("Work", 30), ("Entwürfe", 25), ("Archiv/2023", 15)):
            self.assertIn(f"{mailbox}\t0 messages\t{n} already here, skipped", out)
        self.assertEqual(self.mailbox_counts(ALICE), counts)
        self.assertEqual(self.ctl("store", "check").stdout, b"store is consistent\n")

        dst = os.path.join(self.dir, "export")
        self.ctl("export", "maildir", ALICE, dst)
        for folder in ("", ".Work", ".Entw&APw-rfe", ".Archiv.2023", ".Sent", ".Drafts", ".Trash", ".Junk"):
            for sub in ("cur", "new", "tmp"):
                self.assertTrue(os.path.isdir(os.path.join(dst, folder, sub)), folder + "/" + sub)
            self.assertEqual(os.listdir(os.path.join(dst, folder, "tmp")), [])
            if folder:
                self.assertTrue(os.path.isfile(os.path.join(dst, folder, "maildirfolder")))

        want, got = snapshot(src), snapshot(dst)
        for empty in (".Sent", ".Drafts", ".Trash", ".Junk"):  # the defaults every user has
            self.assertEqual(got.pop(empty), collections.Counter())
        self.assertEqual(sorted(got), sorted(want))
        for folder in want:
            self.assertEqual(got[folder], want[folder], f"folder {folder!r} differs")
        # Every exported file is in cur/ and named like Maildir wants.
        for fn in os.listdir(os.path.join(dst, "cur")):
            self.assertRegex(fn, r"^\d+\.U\d+V\d+\.gannet,S=\d+:2,[A-Za-z]*$")
        # dovecot-uidlist keeps each mailbox's UIDVALIDITY, next UID and UIDs.
        listed = {line.split("\t")[0]: line.split("\t") for line in
                  self.ctl("mailbox", "list", ALICE).stdout.decode().splitlines()}
        for folder, mailbox in (("", "INBOX"), (".Work", "Work"), (".Sent", "Sent")):
            with open(os.path.join(dst, folder, "dovecot-uidlist")) as f:
                header, *entries = f.read().splitlines()
            fields = listed[mailbox]
            self.assertEqual(header, f"3 {fields[3].replace('uidvalidity ', 'V')} {fields[4].replace('uidnext ', 'N')}")
            shown = [line.split("\t")[0] for line in self.ctl("mailbox", "show", ALICE, mailbox).stdout.decode().splitlines()]
            self.assertEqual([e.split(" :")[0] for e in entries], shown)
            files = {fn.split(":2,")[0] for fn in os.listdir(os.path.join(dst, folder, "cur"))}
            self.assertEqual({e.split(" :")[1] for e in entries}, files)

        # Dovecot's subscriptions file, version 2: every mailbox but the unsubscribed one.
        with open(os.path.join(dst, "subscriptions")) as f:
            self.assertEqual(f.read(), "V\t2\n\n" + "".join(n + "\n" for n in sorted(
                ["Drafts", "Entw&APw-rfe", "INBOX", "Junk", "Sent", "Trash", "Work"])))

        # Back in as another user and out again: nothing drifts.
        self.ctl("import", "maildir", BOB, dst)
        self.assertEqual(self.mailbox_counts(BOB), counts)
        self.assertEqual(self.unsubscribed(BOB), {"Archiv/2023"})
        # bob's mailboxes were new, so they took the UIDs from dovecot-uidlist.
        for mailbox in ("INBOX", "Work", "Archiv/2023"):
            self.assertEqual(self.uid_state(BOB, mailbox), self.uid_state(ALICE, mailbox), mailbox)
        again = os.path.join(self.dir, "again")
        self.ctl("export", "maildir", BOB, again)
        self.assertEqual(snapshot(again), snapshot(dst))
        self.assertEqual(self.ctl("store", "check").stdout, b"store is consistent\n")

        self.assertIn("not an empty directory", self.error("export", "maildir", ALICE, dst))

    def test_mbox(self):
        mbox = os.path.join(self.dir, "old.mbox")
        with open(mbox, "wb") as f:
            f.write(b"From alice@example.test Sat Nov 25 12:30:05 2023\n"
                    b"Subject: first\nStatus: RO\n\nHello\n>From the quoted line\n>>From doubly quoted\n\n"
                    b"From bob@example.test Sat Nov 25 12:30:06 2023 +0100\n"
                    b"Subject: second\nX-Status: F\n\nsecond body\n\n")
        crlf = os.path.join(self.dir, "crlf.mbox")
        with open(crlf, "wb") as f:
            f.write(b"From x Sat Nov 25 12:30:07 2023\r\nSubject: third\r\n\r\n>From crlf\r\n\r\n")
        out = self.ctl("import", "mbox", ALICE, "Lists/Old mail", mbox).stdout.decode()
        self.assertIn("imported 2 messages into Lists/Old mail", out)
        self.ctl("import", "mbox", ALICE, "INBOX", crlf)
        self.assertEqual(self.mailbox_counts(ALICE)["Lists/Old mail"], 2)

        first = self.ctl("message", "show", ALICE, "Lists/Old mail", "1").stdout
        self.assertEqual(first, b"Subject: first\nStatus: RO\n\nHello\nFrom the quoted line\n>From doubly quoted\n")
        self.assertEqual(self.ctl("message", "show", ALICE, "Lists/Old mail", "2").stdout,
                         b"Subject: second\nX-Status: F\n\nsecond body\n")
        self.assertEqual(self.ctl("message", "show", ALICE, "INBOX", "1").stdout,
                         b"Subject: third\r\n\r\nFrom crlf\r\n")
        shown = self.ctl("mailbox", "show", ALICE, "Lists/Old mail").stdout.decode().splitlines()
        self.assertIn("flags 1\t", shown[0] + "\t")  # Status: R is \Seen
        self.assertIn("flags 4\t", shown[1] + "\t")  # X-Status: F is \Flagged

        dst = os.path.join(self.dir, "export")
        self.ctl("export", "maildir", ALICE, dst)
        got = snapshot(dst)
        self.assertEqual(got[".Lists.Old mail"], collections.Counter({
            (first, frozenset({"S"}), 1700915405): 1,
            (b"Subject: second\nX-Status: F\n\nsecond body\n", frozenset({"F"}), 1700915406 - 3600): 1}))
        self.assertEqual(got[""], collections.Counter({(b"Subject: third\r\n\r\nFrom crlf\r\n", frozenset(), 1700915407): 1}))
        self.assertEqual(self.ctl("store", "check").stdout, b"store is consistent\n")

    def test_errors(self):
        src = os.path.join(self.dir, "Maildir")
        os.makedirs(os.path.join(src, "cur"))
        missing = os.path.join(self.dir, "missing")
        self.assertIn("user nobody@example.test: not found", self.error("import", "maildir", "nobody@example.test", src))
        self.assertIn(f"{missing}: No such file or directory", self.error("import", "maildir", ALICE, missing))
        self.assertIn("not a Maildir", self.error("import", "maildir", ALICE, self.dir))
        self.assertIn("user nobody@example.test: not found", self.error("import", "mbox", "nobody@example.test", "INBOX", src))
        self.assertIn(f"{missing}: No such file or directory", self.error("import", "mbox", ALICE, "INBOX", missing))
        self.assertIn("not a file", self.error("import", "mbox", ALICE, "INBOX", src))
        not_mbox = os.path.join(self.dir, "mail.eml")
        with open(not_mbox, "w") as f:
            f.write("Subject: one message\n\nnot an mbox\n")
        self.assertIn("not an mbox file", self.error("import", "mbox", ALICE, "INBOX", not_mbox))
        self.assertIn("not UTF-8", self.error("import", "mbox", ALICE, b"Entw\xfcrfe", not_mbox))
        self.assertIn("user nobody@example.test: not found", self.error("export", "maildir", "nobody@example.test", missing))
        self.assertIn("usage: gannetctl import maildir", self.error("import", "maildir", ALICE))
        self.assertFalse(os.path.exists(missing))
        # Nothing failed half-way into the store.
        self.assertEqual(self.mailbox_counts(ALICE)["INBOX"], 0)
        self.assertEqual(self.ctl("store", "check").stdout, b"store is consistent\n")


if __name__ == "__main__":
    main()
