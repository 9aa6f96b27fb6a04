"""IMAP commands that change mail (STORE, EXPUNGE, COPY, MOVE, APPEND,
CREATE, DELETE, RENAME, SUBSCRIBE, STATUS), and sessions seeing each other:
two sessions held by different workers, at NOOP and during IDLE, and a
message delivered over SMTP showing up in an IDLE session."""
import imaplib
import os
import select
import socket
import time

from harness import main, wait_for
import test_imap
from test_imap import MESSAGE


def socket_inode_of_peer(local_port, server_port):
    """The inode of the server's end of our connection, from /proc/net/tcp*."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                parts = line.split()
                lport = int(parts[1].split(":")[1], 16)
                rport = int(parts[2].split(":")[1], 16)
                if lport == server_port and rport == local_port:
                    return parts[9]
    return None


class ImapChangesTest(test_imap.ImapBase):

    def login(self, user="alice"):
        c = imaplib.IMAP4("127.0.0.1", self.imap_plain, timeout=20)
        c.login(f"{user}@example.test", f"{user}-pw")
        return c

    def worker_of(self, client):
        inode = socket_inode_of_peer(client.sock.getsockname()[1], self.imap_plain)
        for pid in self.g.worker_pids():
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                        return pid
                except OSError:
                    pass
        return None

    def two_workers(self):
        """Two logged-in sessions that different workers hold."""
        first = self.login()
        w1 = self.worker_of(first)
        self.assertIsNotNone(w1)
        for _ in range(40):
            c = self.login()
            if self.worker_of(c) != w1:
                return first, c
            c.logout()
        self.skipTest("the kernel gave every connection to one worker")

    def test_store_flags_and_keywords(self):
        self.deliver()
        self.deliver()
        c = self.login()
        c.select("INBOX")
        typ, data = c.store("1:2", "+FLAGS", "(\\Flagged $Work)")
        self.assertEqual(typ, "OK")
        self.assertEqual(data, [b"1 (FLAGS (\\Flagged $Work))", b"2 (FLAGS (\\Flagged $Work))"])
        typ, data = c.store("2", "-FLAGS", "($WORK)")
        self.assertEqual(data, [b"2 (FLAGS (\\Flagged))"])
        typ, data = c.uid("STORE", "1", "FLAGS.SILENT", "(\\Seen)")
        self.assertEqual((typ, data), ("OK", [None]))
        self.assertEqual(c.fetch("1:2", "FLAGS")[1], [b"1 (FLAGS (\\Seen))", b"2 (FLAGS (\\Flagged))"])
        with self.assertRaisesRegex(imaplib.IMAP4.error, "Invalid flag"):
            c.store("1", "+FLAGS", "(\\Recent)")
        c.logout()

    def test_expunge_and_uid_expunge(self):
        for _ in range(4):
            self.deliver()
        c = self.login()
        c.select("INBOX")
        c.store("1,3,4", "+FLAGS", "(\\Deleted)")
        typ, data = c.uid("EXPUNGE", "3")
        self.assertEqual(typ, "OK")
        self.assertEqual(c.untagged_responses.pop("EXPUNGE", None), [b"3"])
        typ, data = c.expunge()
        self.assertEqual(data, [b"3", b"1"], "told from the last down")
        self.assertEqual(c.fetch("1:*", "UID")[1], [b"1 (UID 2)"])
        self.assertEqual(len(self.inbox("alice")), 1)
        c.logout()

    def test_copy_and_move_name_the_new_uids(self):
        for _ in range(3):
            self.deliver()
        c = self.login()
        c.select("INBOX")
        typ, data = c.copy("1:2", "Trash")
        self.assertEqual(typ, "OK")
        validity = c.status("Trash", "(UIDVALIDITY)")[1][0].split()[-1].rstrip(b")")
        self.assertEqual(data[0], b"[COPYUID " + validity + b" 1:2 1:2] COPY completed")
        typ, data = c._simple_command("MOVE", "3", "Trash")
        self.assertEqual(typ, "OK")
        self.assertEqual(c.untagged_responses.pop("OK", None), [b"[COPYUID " + validity + b" 3 3] Moved"])
        self.assertEqual(c.untagged_responses.pop("EXPUNGE", None), [b"3"])
        self.assertEqual(c.copy("1", "Nowhere"), ("NO", [b"[TRYCREATE] No such mailbox"]))
        self.assertEqual(c.status("Trash", "(MESSAGES UIDNEXT)"), ("OK", [b'"Trash" (MESSAGES 3 UIDNEXT 4)']))
        self.assertEqual(len(self.inbox("alice", "Trash")), 3)
        self.assertEqual(len(self.inbox("alice")), 2)
        c.logout()

    def test_append_streams_a_big_message_and_names_its_uid(self):
        c = self.login()
        msg = MESSAGE + b"x" * 998 + b"\r\n"
        big = MESSAGE + (b"y" * 998 + b"\r\n") * 3000  # ~3 MB: spilled to a file on the way
        typ, data = c.append("Drafts", "(\\Draft $Later)", '"01-Feb-2026 10:30:00 +0100"', msg)
        self.assertEqual(typ, "OK")
        self.assertRegex(data[0].decode(), r"^\[APPENDUID \d+ 1\] APPEND completed$")
        typ, data = c.append("Drafts", None, None, big)
        self.assertRegex(data[0].decode(), r"^\[APPENDUID \d+ 2\] APPEND completed$")
        self.assertEqual(self.inbox("alice", "Drafts"), [msg, big])
        c.select("Drafts")
        self.assertEqual(c.fetch("1", "(FLAGS INTERNALDATE)")[1],
                         [b'1 (FLAGS (\\Draft $Later) INTERNALDATE "01-Feb-2026 09:30:00 +0000")'])
        self.assertEqual(c.fetch("2", "(BODY.PEEK[])")[1][0][1], big)
        self.assertEqual(c.append("Nowhere", None, None, msg), ("NO", [b"[TRYCREATE] No such mailbox"]))
        with self.assertRaisesRegex(imaplib.IMAP4.error, r"Invalid date-time"):
            c.append("Drafts", None, '"31-Foo-2026 10:30:00 +0100"', msg)
        c.logout()

    def test_multiappend_in_one_command(self):
        s, f = self.raw()
        s.sendall(b"a1 LOGIN alice@example.test alice-pw\r\n")
        self.until_tagged(f, "a1")
        s.sendall(b"a2 APPEND INBOX (\\Seen) {5+}\r\nhello {6+}\r\nworld! (\\Flagged) {3+}\r\nbye\r\n")
        self.assertRegex(self.until_tagged(f, "a2")[-1], r"^a2 OK \[APPENDUID \d+ 1:3\] APPEND completed$")
        self.assertEqual(self.inbox("alice"), [b"hello", b"world!", b"bye"])

    def test_create_rename_delete_subscribe(self):
        c = self.login()
        self.assertEqual(c.create("Projects/Gannet")[0], "OK")
        typ, data = c.create("Projects")  # made with its child
        self.assertEqual((typ, data), ("NO", [b"[ALREADYEXISTS] Mailbox already exists"]))
        names = [d.decode() for d in c.list('""', "Projects*")[1]]
        self.assertEqual(names, ['(\\HasChildren) "/" "Projects"', '(\\HasNoChildren) "/" "Projects/Gannet"'])
        self.assertEqual(c.list('""', "%")[0], "OK")
        self.assertEqual(c.rename("Projects", "Work")[0], "OK")
        names = sorted(d.decode() for d in c.list('""', "Work*")[1])
        self.assertEqual(names, ['(\\HasChildren) "/" "Work"', '(\\HasNoChildren) "/" "Work/Gannet"'])
        self.assertEqual(c.delete("Work")[0], "NO", "a mailbox with children stays")
        self.assertEqual(c.delete("Work/Gannet")[0], "OK")
        self.assertEqual(c.unsubscribe("Work")[0], "OK")
        lsub = [d.decode() for d in c.lsub('""', "*")[1]]
        self.assertNotIn('(\\HasNoChildren) "/" "Work"', lsub)
        self.assertIn('(\\HasNoChildren) "/" "INBOX"', lsub)
        self.assertEqual(c.delete("INBOX")[0], "NO")
        # Mailbox names are modified UTF-7 on the wire, UTF-8 in the store.
        self.assertEqual(c.create("&AMk-t&AOk-")[0], "OK")
        self.assertIn("Été", self.ctl("mailbox", "list", "alice@example.test"))
        c.logout()

    def test_rename_inbox_moves_its_messages(self):
        self.deliver()
        self.deliver()
        c = self.login()
        self.assertEqual(c.rename("INBOX", "Old")[0], "OK")
        self.assertEqual(c.select("INBOX"), ("OK", [b"0"]))
        self.assertEqual(c.select("Old"), ("OK", [b"2"]))
        c.logout()

    def test_search_by_flags_headers_and_body(self):
        self.deliver()
        self.deliver(MESSAGE.replace(b"Subject: hello", b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=")
                     .replace(b"First line.", b"The invoice is attached."))
        self.deliver(MESSAGE.replace(b"bob@example.net", b"carol@example.org"))
        c = self.login()
        c.select("INBOX")
        c.store("2", "+FLAGS", "(\\Flagged)")
        self.assertEqual(c.search(None, "ALL"), ("OK", [b"1 2 3"]))
        self.assertEqual(c.search(None, "FLAGGED"), ("OK", [b"2"]))
        self.assertEqual(c.search(None, "UNFLAGGED", "FROM", "bob@example"), ("OK", [b"1"]))
        c.literal = b"GR" + "üße".encode()  # a literal, in UTF-8; ASCII letters fold
        self.assertEqual(c.search("UTF-8", "SUBJECT"), ("OK", [b"2"]))
        self.assertEqual(c.search(None, "BODY", "INVOICE"), ("OK", [b"2"]))
        self.assertEqual(c.search(None, "OR", "FROM", "carol", "FLAGGED"), ("OK", [b"2 3"]))
        self.assertEqual(c.search(None, "NOT", "SEEN", "SENTON", "1-Jan-2026"), ("OK", [b"1 2 3"]))
        self.assertEqual(c.uid("SEARCH", "UID", "2:*", "NOT", "FLAGGED"), ("OK", [b"3"]))
        self.assertEqual(c.search(None, "TEXT", "nothing-like-this"), ("OK", [b""]))
        with self.assertRaisesRegex(imaplib.IMAP4.error, "unknown search key BOGUS"):
            c.search(None, "BOGUS")
        self.assertEqual(c.search("KOI8-R", "ALL")[0], "NO")
        c.logout()

    def test_condstore_modseqs_changedsince_and_unchangedsince(self):
        for _ in range(3):
            self.deliver()
        s, f = self.raw()
        s.sendall(b"L LOGIN alice@example.test alice-pw\r\ns SELECT INBOX (CONDSTORE)\r\n")
        self.until_tagged(f, "L")
        sel = self.until_tagged(f, "s")
        highest = int([l for l in sel if "HIGHESTMODSEQ" in l][0].split()[3].rstrip("]"))
        s.sendall(b"a STORE 2 +FLAGS (\\Seen)\r\n")
        lines = self.until_tagged(f, "a")
        self.assertEqual(lines[0], "* 2 FETCH (FLAGS (\\Seen) MODSEQ (%d))" % (highest + 1))
        s.sendall(b"b FETCH 1:* (FLAGS) (CHANGEDSINCE %d)\r\n" % highest)
        self.assertEqual(self.until_tagged(f, "b"),
                         ["* 2 FETCH (FLAGS (\\Seen) MODSEQ (%d))" % (highest + 1), "b OK FETCH completed"])
        # Message 2 changed after `highest`: the conditional STORE leaves it.
        s.sendall(b"c STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Flagged)\r\n" % highest)
        lines = self.until_tagged(f, "c")
        self.assertEqual(lines[-1], "c OK [MODIFIED 2] Conditional STORE failed")
        self.assertEqual(lines[:-1], ["* 1 FETCH (FLAGS (\\Flagged) MODSEQ (%d))" % (highest + 2),
                                      "* 3 FETCH (FLAGS (\\Flagged) MODSEQ (%d))" % (highest + 3)])
        s.sendall(b"d SEARCH MODSEQ %d\r\n" % (highest + 2))
        self.assertEqual(self.until_tagged(f, "d")[0], "* SEARCH 1 3 (MODSEQ %d)" % (highest + 3))
        s.sendall(b"e FETCH 1 (MODSEQ)\r\n")
        self.assertEqual(self.until_tagged(f, "e")[0], "* 1 FETCH (MODSEQ (%d))" % (highest + 2))

    def test_qresync_tells_what_vanished_and_changed_since(self):
        for _ in range(4):
            self.deliver()
        c = self.login()
        c.select("INBOX")
        validity = c.untagged_responses["UIDVALIDITY"][0].decode()
        highest = int(c.untagged_responses["HIGHESTMODSEQ"][0])
        c.store("2", "+FLAGS", "(\\Deleted)")
        c.store("3", "+FLAGS", "(\\Answered)")
        c.expunge()
        c.logout()
        s, f = self.raw()
        s.sendall(b"L LOGIN alice@example.test alice-pw\r\nE ENABLE QRESYNC\r\n")
        self.until_tagged(f, "L")
        self.assertEqual(self.until_tagged(f, "E"), ["* ENABLED QRESYNC", "E OK ENABLE completed"])
        s.sendall(b"s SELECT INBOX (QRESYNC (%s %d 1:4))\r\n" % (validity.encode(), highest))
        lines = self.until_tagged(f, "s")
        self.assertIn("* VANISHED (EARLIER) 2", lines)
        changed = [l for l in lines if "FETCH" in l]
        self.assertEqual(len(changed), 1)
        self.assertRegex(changed[0], r"^\* 2 FETCH \(UID 3 FLAGS \(\\Answered\) MODSEQ \(\d+\)\)$")
        s.sendall(b"u UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)\r\n" % highest)
        lines = self.until_tagged(f, "u")
        self.assertEqual(lines[0], "* VANISHED (EARLIER) 2")
        # Another session's expunge now arrives as VANISHED, not EXPUNGE.
        other = self.login()
        other.select("INBOX")
        other.store("1", "+FLAGS", "(\\Deleted)")
        other.expunge()
        other.logout()
        s.sendall(b"n NOOP\r\n")
        self.assertEqual(self.until_tagged(f, "n"), ["* VANISHED 1", "n OK NOOP completed"])
        s.sendall(b"x SELECT INBOX (QRESYNC (1 1))\r\n")
        lines = self.until_tagged(f, "x")
        self.assertEqual(lines[0], "* OK [CLOSED] Previous mailbox closed")
        self.assertFalse([l for l in lines if "VANISHED" in l], "another UIDVALIDITY: nothing to resync")

    def test_special_use_quota_and_utf8_names(self):
        self.deliver()
        self.ctl("user", "quota", "alice@example.test", "1m", "100")
        s, f = self.raw()
        s.sendall(b"L LOGIN alice@example.test alice-pw\r\n")
        self.assertIn("CREATE-SPECIAL-USE", self.until_tagged(f, "L")[-1])
        s.sendall(b"a CREATE Old (USE (\\Archive))\r\nb CREATE Bad (USE (\\Bogus))\r\n")
        self.assertEqual(self.until_tagged(f, "a")[-1], "a OK CREATE completed")
        self.assertEqual(self.until_tagged(f, "b")[-1], "b NO [USEATTR] Unknown special use")
        s.sendall(b'c LIST "" Old\r\n')
        self.assertEqual(self.until_tagged(f, "c")[0], '* LIST (\\HasNoChildren \\Archive) "/" "Old"')
        size = len(self.inbox("alice")[0])
        s.sendall(b"d GETQUOTAROOT INBOX\r\ne GETQUOTA \"\"\r\nf SETQUOTA \"\" (STORAGE 1)\r\n")
        quota = '* QUOTA "" (STORAGE %d 1024 MESSAGE 1 100)' % ((size + 1023) // 1024)
        self.assertEqual(self.until_tagged(f, "d"), ['* QUOTAROOT "INBOX" ""', quota, "d OK GETQUOTAROOT completed"])
        self.assertEqual(self.until_tagged(f, "e"), [quota, "e OK GETQUOTA completed"])
        self.assertEqual(self.until_tagged(f, "f")[-1], "f NO [NOPERM] Quotas are set by the administrator")
        # UTF8=ACCEPT: names travel as UTF-8, not modified UTF-7.
        s.sendall(b"g ENABLE UTF8=ACCEPT\r\n")
        self.assertEqual(self.until_tagged(f, "g")[0], "* ENABLED UTF8=ACCEPT")
        name = "Grüße".encode()
        s.sendall(b"h CREATE {%d+}\r\n%s\r\n" % (len(name), name))
        self.assertEqual(self.until_tagged(f, "h")[-1], "h OK CREATE completed")
        self.assertIn("Grüße", self.ctl("mailbox", "list", "alice@example.test"))

    def test_esearch_searchres_and_list_status(self):
        for _ in range(5):
            self.deliver()
        s, f = self.raw()
        s.sendall(b"L LOGIN alice@example.test alice-pw\r\ns SELECT INBOX\r\n")
        self.until_tagged(f, "L")
        self.until_tagged(f, "s")
        s.sendall(b"a STORE 2,4:5 +FLAGS (\\Seen)\r\n")
        self.until_tagged(f, "a")
        s.sendall(b"b SEARCH RETURN (MIN MAX COUNT ALL) SEEN\r\n")
        self.assertEqual(self.until_tagged(f, "b")[0], '* ESEARCH (TAG "b") MIN 2 MAX 5 ALL 2,4:5 COUNT 3')
        s.sendall(b"c UID SEARCH RETURN () UNSEEN\r\n")
        self.assertEqual(self.until_tagged(f, "c")[0], '* ESEARCH (TAG "c") UID ALL 1,3')
        s.sendall(b"d SEARCH RETURN (COUNT) DELETED\r\n")
        self.assertEqual(self.until_tagged(f, "d")[0], '* ESEARCH (TAG "d") COUNT 0')
        # SEARCHRES: SAVE, then "$" stands for the result.
        s.sendall(b"e SEARCH RETURN (SAVE) SEEN\r\nf FETCH $ (UID)\r\ng SEARCH $ NOT 2\r\n")
        self.assertEqual(self.until_tagged(f, "e"), ["e OK SEARCH completed"])
        self.assertEqual(self.until_tagged(f, "f"),
                         ["* 2 FETCH (UID 2)", "* 4 FETCH (UID 4)", "* 5 FETCH (UID 5)", "f OK FETCH completed"])
        self.assertEqual(self.until_tagged(f, "g")[0], "* SEARCH 4 5")
        # LIST-EXTENDED and LIST-STATUS.
        s.sendall(b'h UNSUBSCRIBE Junk\r\ni LIST (SUBSCRIBED) "" "*" RETURN (STATUS (MESSAGES UNSEEN))\r\n')
        self.until_tagged(f, "h")
        lines = self.until_tagged(f, "i")
        self.assertIn('* LIST (\\HasNoChildren \\Subscribed) "/" "INBOX"', lines)
        self.assertIn('* STATUS "INBOX" (MESSAGES 5 UNSEEN 2)', lines)
        self.assertFalse([l for l in lines if "Junk" in l])
        s.sendall(b'j LIST (SPECIAL-USE) "" ("S*" "T*")\r\n')
        self.assertEqual(self.until_tagged(f, "j"), ['* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
                                                     '* LIST (\\HasNoChildren \\Trash) "/" "Trash"',
                                                     "j OK LIST completed"])

    def test_binary_and_imap4rev2(self):
        import base64
        payload = bytes(range(256)) * 4  # NULs and every other octet
        msg = (b"From: a@example.net\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"
               b"--x\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
               b"caf=C3=A9=\r\n au lait\r\n--x\r\nContent-Type: application/octet-stream\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(payload).replace(b"\n", b"\r\n") +
               b"--x--\r\n")
        self.deliver(msg)
        s, f = self.raw()
        s.sendall(b"L LOGIN alice@example.test alice-pw\r\nE ENABLE IMAP4rev2\r\ns SELECT INBOX\r\n")
        self.until_tagged(f, "L")
        self.assertEqual(self.until_tagged(f, "E")[0], "* ENABLED IMAP4rev2")
        lines = self.until_tagged(f, "s")
        self.assertIn('* LIST () "/" "INBOX"', lines)
        self.assertFalse([l for l in lines if "RECENT" in l])
        s.sendall(b"a FETCH 1 (BINARY.SIZE[2] BINARY.PEEK[1])\r\n")
        self.assertEqual(f.readline(), b"* 1 FETCH (BINARY.SIZE[2] %d BINARY[1] {13}\r\n" % len(payload))
        self.assertEqual(f.read(13), "café au lait".encode())
        self.assertEqual(f.readline(), b")\r\n")
        self.until_tagged(f, "a")
        s.sendall(b"b FETCH 1 (BINARY.PEEK[2]<0.300>)\r\n")
        self.assertEqual(f.readline(), b"* 1 FETCH (BINARY[2]<0> ~{300}\r\n")
        self.assertEqual(f.read(300), payload[:300])
        self.assertEqual(f.readline(), b")\r\n")
        self.until_tagged(f, "b")
        s.sendall(b"c SEARCH ALL\r\n")
        self.assertEqual(self.until_tagged(f, "c")[0], '* ESEARCH (TAG "c") ALL 1')
        s.sendall(b"d APPEND INBOX ~{5+}\r\na\x00b\r\n\r\n")
        self.assertIn("d OK [APPENDUID", self.until_tagged(f, "d")[-1])
        self.assertEqual(self.inbox("alice")[-1], b"a\x00b\r\n")

    def compressed_dialogue(self, s, f, first_commands=b""):
        """COMPRESS DEFLATE, then (pipelined in the same write) first_commands
        compressed; returns send(bytes) and a line reader over inflated input."""
        import zlib
        out = zlib.compressobj(wbits=-15)
        inf = zlib.decompressobj(wbits=-15)
        pending = first_commands and out.compress(first_commands) + out.flush(zlib.Z_SYNC_FLUSH)
        s.sendall(b"z COMPRESS DEFLATE\r\n" + (pending or b""))
        self.assertEqual(f.readline(), b"z OK DEFLATE active\r\n")
        plain = [b""]  # f is unbuffered: nothing after the OK was read yet

        def send(data):
            s.sendall(out.compress(data) + out.flush(zlib.Z_SYNC_FLUSH))

        def line():
            while b"\r\n" not in plain[0]:
                chunk = s.recv(65536)
                self.assertTrue(chunk, "closed")
                plain[0] += inf.decompress(chunk)
            l, plain[0] = plain[0].split(b"\r\n", 1)
            return l.decode()
        return send, line

    def test_compress_deflate_both_ways_plain_and_over_tls(self):
        for _ in range(3):
            self.deliver()
        for tls in (False, True):
            if tls:
                import ssl
                raw = socket.create_connection(("127.0.0.1", self.imaps_port), timeout=20)
                s = self.tls().wrap_socket(raw)
            else:
                s = socket.create_connection(("127.0.0.1", self.imap_plain), timeout=20)
            f = s.makefile("rb", buffering=0)
            self.assertTrue(f.readline().startswith(b"* OK"))
            s.sendall(b"L LOGIN alice@example.test alice-pw\r\n")
            self.assertIn("COMPRESS=DEFLATE", self.until_tagged(f, "L")[-1])
            send, line = self.compressed_dialogue(s, f, b"a SELECT INBOX\r\n")
            while not (l := line()).startswith("a "):
                pass
            self.assertEqual(l, "a OK [READ-WRITE] SELECT completed")
            send(b"b FETCH 1:3 (UID RFC822.SIZE)\r\nc COMPRESS DEFLATE\r\n")
            got = [line() for _ in range(5)]
            self.assertEqual(got[3], "b OK FETCH completed")
            self.assertEqual(got[4], "c NO [COMPRESSIONACTIVE] Already compressing")
            s.close()

    def test_status_counts_from_the_store(self):
        self.deliver()
        self.deliver()
        c = self.login()
        c.select("INBOX")
        c.store("1", "+FLAGS", "(\\Seen)")
        typ, data = c.status("INBOX", "(MESSAGES UNSEEN UIDNEXT RECENT)")
        self.assertEqual(data, [b'"INBOX" (MESSAGES 2 UNSEEN 1 UIDNEXT 3 RECENT 0)'])
        with self.assertRaisesRegex(imaplib.IMAP4.error, "Unknown STATUS item"):
            c.status("INBOX", "(BOGUS)")
        c.logout()

    def test_sessions_in_two_workers_see_each_others_changes_at_noop(self):
        self.deliver()
        a, b = self.two_workers()
        a.select("INBOX")
        b.select("INBOX")
        a.store("1", "+FLAGS", "(\\Flagged)")
        a.append("INBOX", None, None, MESSAGE)
        b.untagged_responses.clear()
        typ, data = b.noop()
        self.assertEqual(b.untagged_responses.pop("FETCH", None), [b"1 (UID 1 FLAGS (\\Flagged))"])
        self.assertEqual(b.untagged_responses.pop("EXISTS", None), [b"2"])
        a.store("1", "+FLAGS", "(\\Deleted)")
        a.expunge()
        b.noop()
        self.assertEqual(b.untagged_responses.pop("EXPUNGE", None), [b"1"])
        self.assertEqual(b.fetch("1:*", "UID")[1], [b"1 (UID 2)"])
        # No EXPUNGE while answering FETCH (RFC 3501 7.4.1): it waits.
        a.store("1", "+FLAGS", "(\\Deleted)")
        a.expunge()
        b.untagged_responses.clear()
        typ, data = b.fetch("1", "FLAGS")
        self.assertNotIn("EXPUNGE", b.untagged_responses)
        b.noop()
        self.assertEqual(b.untagged_responses.pop("EXPUNGE", None), [b"1"])
        a.logout()
        b.logout()

    def idle(self, c, tag=b"i1"):
        c.send(tag + b" IDLE\r\n")
        self.assertEqual(c.readline(), b"+ idling\r\n")

    def read_until(self, c, want, timeout):
        """Lines from an IDLE session until one equals want; how long it took."""
        start = time.monotonic()
        c.sock.settimeout(timeout)
        while True:
            line = c.readline()
            self.assertTrue(line, "closed")
            if line == want:
                return time.monotonic() - start

    def test_idle_hears_another_worker_and_smtp_within_a_second(self):
        a, b = self.two_workers()
        a.select("INBOX")
        b.select("INBOX")
        self.idle(b)
        a.append("INBOX", None, None, MESSAGE)
        self.assertLess(self.read_until(b, b"* 1 EXISTS\r\n", 5), 1.0)
        a.store("1", "+FLAGS", "(\\Answered)")
        self.assertLess(self.read_until(b, b"* 1 FETCH (UID 1 FLAGS (\\Answered))\r\n", 5), 1.0)
        started = time.monotonic()
        self.deliver()
        self.read_until(b, b"* 2 EXISTS\r\n", 5)
        self.assertLess(time.monotonic() - started, 1.5, "SMTP's commit seen while idling")
        b.send(b"DONE\r\n")
        self.assertEqual(b.readline(), b"i1 OK IDLE terminated\r\n")
        self.assertEqual(b.noop()[0], "OK")
        a.logout()
        b.logout()


if __name__ == "__main__":
    main()
