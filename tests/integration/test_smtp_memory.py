"""A big message costs a worker about its size once, and the memory comes
back: peak RSS (VmHWM, reset before each message) and RSS after, measured
on the real worker for DATA and BDAT."""
import os
import re
import socket
import subprocess
import unittest

from harness import main
from smtp_harness import GANNETCTL, SmtpTest

SIZE = 24 << 20
PEAK_FACTOR = 1.25      # the bar: peak growth per in-flight message
SETTLE_KIB = 5 << 10    # RSS after, within 5 MiB of before


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(rf"^{field}:\s+(\d+)", f.read(), re.M).group(1))


def big_message(size):
    """A plain text message of about size octets, in 78-octet lines, each line different."""
    head = b"From: bob@example.net\r\nTo: alice@example.test\r\nSubject: big\r\n\r\n"
    lines, n = [head], len(head)
    i = 0
    while n < size:
        line = b"%08d " % i + b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.-_+" + b"\r\n"
        lines.append(line)
        n += len(line)
        i += 1
    return b"".join(lines)


class BigMessageTest(SmtpTest):
    workers = 1
    mx_extra = "smtp_max_message_size 64m;"

    def setUp(self):
        super().setUp()
        (self.worker,) = self.g.worker_pids()
        try:
            with open(f"/proc/{self.worker}/clear_refs", "w") as f:
                f.write("5")
        except OSError as e:
            self.skipTest(f"cannot reset the worker's peak RSS ({e})")
        self.msg = big_message(SIZE)

    def reset_peak(self):
        with open(f"/proc/{self.worker}/clear_refs", "w") as f:
            f.write("5")  # VmHWM := VmRSS
        return status_kib(self.worker, "VmRSS")

    def via_data(self):
        with self.smtp() as s:
            s.sendmail("bob@example.net", ["alice@example.test"], self.msg)

    def via_bdat(self):
        with socket.create_connection(("127.0.0.1", self.mx), timeout=60) as sock:
            f = sock.makefile("rb")
            def reply():
                while True:
                    line = f.readline()
                    if line[3:4] != b"-":
                        return line
            reply()
            sock.sendall(b"EHLO client.test\r\nMAIL FROM:<bob@example.net>\r\nRCPT TO:<alice@example.test>\r\n")
            self.assertEqual([reply()[:3] for _ in range(3)], [b"250"] * 3)
            chunk = 1 << 20
            for off in range(0, len(self.msg), chunk):
                part = self.msg[off:off + chunk]
                last = b" LAST" if off + chunk >= len(self.msg) else b""
                sock.sendall(b"BDAT %d%s\r\n" % (len(part), last) + part)
                self.assertEqual(reply()[:3], b"250")
            sock.sendall(b"QUIT\r\n")

    def measure(self, send, rounds=3):
        results = []
        for _ in range(rounds):
            before = self.reset_peak()
            send()
            peak = status_kib(self.worker, "VmHWM")
            after = status_kib(self.worker, "VmRSS")
            results.append((before, peak, after))
        print(f"\n{send.__name__}: size {SIZE >> 10} KiB; before/peak/after KiB:", results)
        for before, peak, after in results:
            self.assertLessEqual((peak - before) * 1024, PEAK_FACTOR * SIZE,
                                 f"peak {peak - before} KiB over {before} KiB for a {SIZE >> 10} KiB message")
            self.assertLessEqual(after - results[0][0], SETTLE_KIB, f"RSS stayed {after - results[0][0]} KiB up")
        stored = self.inbox("alice")
        self.assertEqual(len(stored), rounds)
        for m in stored:
            self.assertTrue(m.endswith(self.msg), "stored byte for byte behind the trace headers")
            self.assertRegex(m[:len(m) - len(self.msg)].decode(), r"^Return-Path: <bob@example.net>\r\nReceived: ")

    def test_data_holds_a_big_message_once_and_gives_the_memory_back(self):
        self.measure(self.via_data)

    def test_bdat_holds_a_big_message_once_and_gives_the_memory_back(self):
        self.measure(self.via_bdat)


if __name__ == "__main__":
    main()
