"""The connection layer through the real binary: timeouts, back-pressure,
limits, privilege drop, byte runs."""
import os
import pwd
import select
import socket
import unittest

from harness import Client, GannetTest, free_port, main, rss_kib, wait_for


def conf(port, mail="", main_ctx=""):
    return f"""{main_ctx}
mail {{
    {mail}
    server {{ listen 127.0.0.1:{port}; protocol echo; }}
}}
"""


class ConnectionTest(GannetTest):
    def test_idle_timeout(self):
        port = free_port()
        self.gannet(conf(port, "timeout 300ms;"))
        c = Client(port)
        c.line()
        self.assertEqual(c.line(), "-ERR timeout")
        self.assertTrue(c.closed())

    def test_command_timeout_for_a_stalled_payload(self):
        port = free_port()
        self.gannet(conf(port, "timeout 30s; command_timeout 300ms;"))
        c = Client(port)
        c.line()
        c.send("BYTES 100\r\n0123456789")
        self.assertEqual(c.line(), "-ERR timeout")
        self.assertTrue(c.closed())

    def test_byte_runs_are_not_read_as_lines(self):
        port = free_port()
        self.gannet(conf(port))
        c = Client(port)
        c.line()
        payload = b"QUIT\r\n" * 20000  # 120000 bytes that look like commands
        c.send(b"BYTES %d\r\n" % len(payload) + payload + b"PING\r\n")
        self.assertEqual(c.line(), f"+got {len(payload)}")
        self.assertEqual(c.line(), "+PONG")

    def test_back_pressure_stops_reading_a_client_that_does_not_read(self):
        port = free_port()
        g = self.gannet(conf(port, "send_buffer_limit 64k;"), workers=1)
        pid = g.worker_pids()[0]
        before = rss_kib(pid)
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        command = b"ECHO " + b"y" * 4000 + b"\r\n"
        limit, sent = 64 << 20, 0
        while sent < limit:
            _, writable, _ = select.select([], [s], [], 1.0)
            if not writable:
                break  # the server stopped reading us
            try:
                sent += s.send(command * 16)
            except BlockingIOError:
                continue
        self.assertLess(sent, limit, "the server kept reading although nobody read its output")
        grown = rss_kib(pid) - before
        self.assertLess(grown, 4096, f"worker grew by {grown} KiB")
        # Reading everything back drains the queue and the server reads on.
        s.setblocking(True)
        s.settimeout(10)
        expected = sent // len(command)
        got = b""
        while got.count(b"\r\n") < expected + 1:  # + the greeting
            got += s.recv(1 << 20)
        self.assertTrue(got.startswith(b"+OK"))
        self.assertEqual(got.count(b"+" + b"y" * 4000 + b"\r\n"), expected)

    def test_worker_connections_limit(self):
        port = free_port()
        g = self.gannet(conf(port, main_ctx="events { worker_connections 2; }"), workers=1)
        a, b = Client(port), Client(port)
        a.line(), b.line()
        c = Client(port)
        self.assertEqual(c.line(), "-ERR busy")  # told, then closed
        self.assertTrue(c.closed())
        wait_for(lambda: "worker_connections (2) reached" in g.log(), what="limit log line")
        a.close()
        wait_for(lambda: self._greets(port), what="a free slot again")

    def _greets(self, port):
        c = Client(port)
        try:
            return c.line().startswith("+OK")
        except ConnectionError:
            return False

    @unittest.skipUnless(os.geteuid() == 0, "needs root")
    def test_workers_drop_to_user(self):
        port = free_port()
        nobody = pwd.getpwnam("nobody")
        g = self.gannet(conf(port, main_ctx="user nobody;"))
        for pid in g.worker_pids():
            with open(f"/proc/{pid}/status") as f:
                uid_line = next(l for l in f if l.startswith("Uid:"))
            self.assertEqual(int(uid_line.split()[1]), nobody.pw_uid)
        self.assertEqual(Client(port).line(), "+OK gannet echo ready")
        self.assertEqual(os.stat(g.proc.pid and f"/proc/{g.proc.pid}").st_uid, 0, "the master stays root")


if __name__ == "__main__":
    main()
