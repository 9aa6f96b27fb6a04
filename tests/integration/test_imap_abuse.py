"""IMAP under abuse: what a hostile or broken client sends gets a BAD, NO or
BYE, memory stays bounded, and the worker goes on serving others. Also the
back-pressure contract: a FETCH of more than fits in the output queue is
written as the client reads, never built whole in memory."""
import socket
import time

from harness import main, rss_kib, wait_for
from test_imap import ImapBase

MB = 1 << 20


class ImapAbuseTest(ImapBase):
    workers = 1  # one worker: "the worker keeps serving others" is then one process

    def session(self, login=True):
        s, f = self.raw()
        if login:
            s.sendall(b"L LOGIN alice@example.test alice-pw\r\n")
            self.assertTrue(self.until_tagged(f, "L")[-1].startswith("L OK"))
        return s, f

    def others_still_served(self):
        s, f = self.session()
        s.sendall(b"n NOOP\r\n")
        self.assertEqual(self.until_tagged(f, "n")[-1], "n OK NOOP completed")
        s.close()

    def test_a_fetch_bigger_than_the_output_queue_streams_as_the_client_reads(self):
        s, f = self.session()
        body = (b"z" * 1022 + b"\r\n") * 1024  # 1 MiB a message
        count = 24
        for i in range(count):
            s.sendall(b"a%d APPEND INBOX {%d+}\r\n" % (i, len(body)) + body + b"\r\n")
            self.assertIn(" OK [APPENDUID", self.until_tagged(f, "a%d" % i)[-1])
        s.sendall(b"s SELECT INBOX\r\n")
        self.until_tagged(f, "s")
        (worker,) = self.g.worker_pids()
        before = rss_kib(worker)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
        s.sendall(b"f FETCH 1:* (BODY.PEEK[])\r\n")
        # The client reads nothing for a while: the worker must not queue the
        # 24 MiB for it.
        deadline = time.monotonic() + 1.0
        peak = before
        while time.monotonic() < deadline:
            peak = max(peak, rss_kib(worker))
            time.sleep(0.05)
        self.assertLess(peak - before, 8 * 1024, f"worker RSS grew {peak - before} KiB while the client did not read")
        self.others_still_served()
        got = 0
        for line in iter(f.readline, b""):
            if line.startswith(b"f "):
                self.assertEqual(line, b"f OK FETCH completed\r\n")
                break
            if line.endswith(b"{%d}\r\n" % len(body)):
                self.assertEqual(f.read(len(body)), body)
                got += 1
        self.assertEqual(got, count)
        s.close()

    def test_a_big_append_is_held_once_and_the_memory_comes_back(self):
        s, f = self.session()
        (worker,) = self.g.worker_pids()
        msg = b"Subject: big\r\n\r\n" + (b"q" * 998 + b"\r\n") * (24 * 1024)  # 24 MiB
        with open(f"/proc/{worker}/clear_refs", "w") as c:
            c.write("5")  # VmHWM := VmRSS
        before = rss_kib(worker)
        s.sendall(b"a APPEND INBOX {%d}\r\n" % len(msg))
        self.assertEqual(f.readline(), b"+ Ready for literal data\r\n")
        s.sendall(msg + b"\r\n")
        self.assertIn("a OK [APPENDUID", self.until_tagged(f, "a")[-1])
        with open(f"/proc/{worker}/status") as st:
            peak = int(next(l for l in st if l.startswith("VmHWM")).split()[1])
        self.assertLessEqual((peak - before) * 1024, 1.25 * len(msg), f"peak {peak - before} KiB for 24 MiB")
        self.assertLessEqual(rss_kib(worker) - before, 5 * 1024, "RSS back within 5 MiB")
        self.assertEqual(self.inbox("alice")[-1], msg)

    def test_huge_and_broken_literals(self):
        s, f = self.session(login=False)
        s.sendall(b"a LOGIN {4294967296}\r\n")
        self.assertEqual(self.until_tagged(f, "a")[-1], "a NO [TOOBIG] Literal too big")
        s.sendall(b"b LOGIN {18446744073709551616}\r\n")
        self.assertEqual(self.until_tagged(f, "b")[-1], "b BAD Invalid literal")
        # Only an APPEND's message may be big: a 1 MiB password is refused
        # before a byte of it is taken, logged in or not.
        s.sendall(b"p LOGIN alice {1048576}\r\n")
        self.assertEqual(self.until_tagged(f, "p")[-1], "p NO [TOOBIG] Literal too big")
        s.sendall(b"c LOGIN {5}\r\n")
        self.assertEqual(f.readline(), b"+ Ready for literal data\r\n")
        s.close()  # unterminated: the client just goes
        self.others_still_served()

    def test_deep_lists_long_lines_and_garbage(self):
        s, f = self.session()
        s.sendall(b"a FETCH 1 " + b"(" * 5000 + b")" * 5000 + b"\r\n")
        self.assertRegex(self.until_tagged(f, "a")[-1], r"^a BAD ")
        s.sendall(b"b NOOP " + b"x" * 20000 + b"\r\n")
        self.assertEqual(self.until_tagged(f, "b")[-1], "b BAD Line too long")
        s.sendall(b"\xff\xfe\x00garbage \x80\x81\r\n")
        self.assertIn(" BAD ", self.until_tagged(f, "*")[-1])
        s.sendall(b"c SELECT INBOX\r\nd FETCH " + b",".join(b"%d" % i for i in range(1, 200000)) + b" FLAGS\r\n")
        self.until_tagged(f, "c")
        self.assertRegex(self.until_tagged(f, "d")[-1], r"^d BAD ")
        s.sendall(b"e NOOP\r\n")
        self.assertEqual(self.until_tagged(f, "e")[-1], "e OK NOOP completed")

    def test_a_sequence_set_of_a_million_ranges_is_refused_without_growing(self):
        s, f = self.session()
        s.sendall(b"s SELECT INBOX\r\n")
        self.until_tagged(f, "s")
        (worker,) = self.g.worker_pids()
        before = rss_kib(worker)
        ranges = b",".join(b"1:2" for _ in range(1000000))  # 4 MB in literals of 60 KiB
        cmd = b"u UID FETCH "
        # A command line may not be this long at all: BAD, and the line skipped.
        s.sendall(cmd + ranges + b" FLAGS\r\n")
        self.assertEqual(self.until_tagged(f, "u")[-1], "u BAD Line too long")
        self.assertLess(rss_kib(worker) - before, 4 * 1024)
        self.others_still_served()

    def test_commands_before_login_and_ten_thousand_pipelined(self):
        s, f = self.session(login=False)
        s.sendall(b"a SELECT INBOX\r\nb FETCH 1 FLAGS\r\nc LIST \"\" *\r\n")
        self.assertEqual(self.until_tagged(f, "a")[-1], "a BAD Log in first")
        self.assertEqual(self.until_tagged(f, "b")[-1], "b BAD Log in first")
        self.assertEqual(self.until_tagged(f, "c")[-1], "c BAD Log in first")
        s.sendall(b"L LOGIN alice@example.test alice-pw\r\n")
        self.until_tagged(f, "L")
        s.sendall(b"".join(b"p%d NOOP\r\n" % i for i in range(10000)))
        for i in range(10000):
            self.assertEqual(f.readline(), b"p%d OK NOOP completed\r\n" % i)
        self.others_still_served()


if __name__ == "__main__":
    main()
