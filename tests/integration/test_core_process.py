"""The process model: workers, spreading, reload, respawn, signals, filters."""
import os
import signal
import socket
import threading

from harness import Client, GannetTest, free_port, main, rss_kib, wait_for


def echo_conf(port, banner="one", extra=""):
    return f"""
worker_shutdown_timeout 20s;
mail {{
    session_log session.log;
    {extra}
    server {{ listen 127.0.0.1:{port}; listen [::1]:{port}; protocol echo; echo_banner "{banner}"; }}
}}
"""


class ProcessTest(GannetTest):
    def test_connections_spread_over_both_workers(self):
        port = free_port()
        g = self.gannet(echo_conf(port))
        slots, refused = {}, 0
        for i in range(200):
            c = Client(port, host="::1" if i % 2 else "127.0.0.1")
            self.assertEqual(c.line(), "+OK one")
            who = c.cmd("WHO").split()
            slots[who[1]] = slots.get(who[1], 0) + 1
            c.close()
        self.assertEqual(sorted(slots), ["0", "1"], f"both workers must answer: {slots}")
        self.assertEqual(sum(slots.values()), 200)
        self.assertEqual(len(g.worker_pids()), 2)

    def test_reload_keeps_old_sessions_and_refuses_nothing(self):
        port = free_port()
        g = self.gannet(echo_conf(port, "one"))
        old = Client(port)
        self.assertEqual(old.line(), "+OK one")
        old_pid = old.cmd("WHO").split()[3]

        # A client hammers the port during the whole reload.
        stop, results = threading.Event(), {"ok": 0, "failed": []}

        def hammer():
            while not stop.is_set():
                try:
                    c = Client(port)
                    banner = c.line()
                    assert banner in ("+OK one", "+OK two"), banner
                    c.close()
                    results["ok"] += 1
                except Exception as e:  # refused, reset, bad banner: all count
                    results["failed"].append(repr(e))

        t = threading.Thread(target=hammer)
        t.start()
        try:
            wait_for(lambda: results["ok"] > 20, what="hammer to start")
            g.write_conf(echo_conf(port, "two"))
            g.signal(signal.SIGHUP)
            wait_for(lambda: "generation 1" in g.log(), what="reload")
            wait_for(lambda: Client(port).line() == "+OK two", what="new banner")
            seen = results["ok"]
            wait_for(lambda: results["ok"] > seen + 20, what="more connections after reload")
        finally:
            stop.set()
            t.join(30)
        self.assertEqual(results["failed"], [], "no connection may be refused during a reload")

        # The old session is still served by its old worker, with the old config.
        self.assertEqual(old.cmd("PING"), "+PONG")
        self.assertEqual(old.cmd("WHO").split()[3], old_pid)
        self.assertIn(int(old_pid), g.worker_pids())
        self.assertEqual(old.cmd("QUIT"), "+BYE")
        # Once its last session ends the old worker exits.
        wait_for(lambda: int(old_pid) not in g.worker_pids(), what="old worker to exit")
        self.assertEqual(len(g.worker_pids()), 2)

    def test_broken_reload_keeps_old_config(self):
        port = free_port()
        g = self.gannet(echo_conf(port, "one"))
        pids = sorted(g.worker_pids())
        with open(g.conf, "a") as f:
            f.write("\nmail { server { listen 127.0.0.1:1; protocol nosuch; } }\n")
        g.signal(signal.SIGHUP)
        wait_for(lambda: "keeping the old configuration" in g.log(), what="reload error")
        self.assertRegex(g.log(), r"gannet\.conf:\d+; keeping the old configuration")
        self.assertEqual(Client(port).line(), "+OK one")
        self.assertEqual(sorted(g.worker_pids()), pids, "the old workers keep serving")

    def test_killed_worker_is_replaced(self):
        port = free_port()
        g = self.gannet(echo_conf(port))
        victim = g.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: len(g.worker_pids()) == 2 and victim not in g.worker_pids(), what="respawn")
        # The log is written off the master's loop: wait for the lines too.
        wait_for(lambda: "exited on signal 9" in g.log() and "respawning worker" in g.log(), what="the log lines")
        slots = set()
        for _ in range(60):
            c = Client(port)
            c.line()
            slots.add(c.cmd("WHO").split()[1])
        self.assertEqual(slots, {"0", "1"})

    def test_quit_is_graceful_and_stop_is_fast(self):
        port = free_port()
        g = self.gannet(echo_conf(port))
        c = Client(port)
        c.line()
        g.signal(signal.SIGQUIT)
        wait_for(lambda: "draining" in g.log(), what="drain")
        self.assertEqual(c.cmd("PING"), "+PONG", "a draining worker finishes open sessions")
        self.assertTrue(os.path.exists(os.path.join(g.dir, "gannet.pid")))
        c.cmd("QUIT")
        g.proc.wait(10)
        self.assertEqual(g.proc.returncode, 0)
        self.assertFalse(os.path.exists(os.path.join(g.dir, "gannet.pid")))

        port = free_port()
        g = self.gannet(echo_conf(port))
        c = Client(port)
        c.line()
        g.signal(signal.SIGTERM)
        g.proc.wait(10)
        self.assertTrue(c.closed())

    def test_shutdown_timeout_closes_lingering_sessions(self):
        port = free_port()
        g = self.gannet(echo_conf(port).replace("worker_shutdown_timeout 20s", "worker_shutdown_timeout 300ms"))
        c = Client(port)
        c.line()
        g.signal(signal.SIGQUIT)
        g.proc.wait(10)
        self.assertTrue(c.closed())
        self.assertIn("worker_shutdown_timeout", g.log())

    def test_reopen_logs(self):
        port = free_port()
        g = self.gannet(echo_conf(port))
        Client(port).cmd("QUIT")
        session_log = os.path.join(g.dir, "session.log")
        wait_for(lambda: os.path.exists(session_log) and "result=ok" in open(session_log).read(), what="session log")
        os.rename(session_log, session_log + ".1")
        os.rename(g.error_log, g.error_log + ".1")
        g.signal(signal.SIGUSR1)
        wait_for(lambda: os.path.exists(session_log) and os.path.exists(g.error_log), what="reopened files")
        c = Client(port)
        c.line()
        c.cmd("QUIT")
        wait_for(lambda: "result=ok" in open(session_log).read(), what="line in the new session log")

    def test_session_log_line(self):
        port = free_port()
        g = self.gannet(echo_conf(port))
        c = Client(port)
        c.line()
        c.cmd("ECHO hello")
        c.cmd("QUIT")
        path = os.path.join(g.dir, "session.log")
        line = wait_for(lambda: os.path.exists(path) and open(path).read(), what="session log")
        self.assertRegex(line, r"client=127\.0\.0\.1:\d+ protocol=echo tls=no user=- in=\d+ out=\d+ "
                               r"duration=\d+\.\d{3} result=ok")

    def test_filter_phase_waits_rejects_and_rewrites(self):
        port = free_port()
        self.gannet(echo_conf(port, extra="testfilter on; testfilter_delay 20ms;"))
        c = Client(port)
        c.line()
        # Pipelined: the commands after MSG wait for the filter, order is kept.
        c.send("MSG hello\r\nPING\r\nMSG buy spam now\r\nECHO after\r\nMSG try later\r\nMSG junk\r\n")
        seen = "client=127.0.0.1; helo=; from=<>; rcpts=0; user="
        self.assertEqual(c.line(), f"+stored [X-Testfilter: n=1; {seen}] hello")
        self.assertEqual(c.line(), "+PONG")
        self.assertEqual(c.line(), "-ERR spam refused")
        self.assertEqual(c.line(), "+after")
        self.assertEqual(c.line(), "-TEMP try later")
        # The filter's per-session count goes on; a verdict can file a message.
        self.assertEqual(c.line(), f"+stored in Junk [X-Testfilter: n=2; {seen}] junk")
        # A client that leaves while a filter waits must not crash the worker.
        d = Client(port)
        d.line()
        d.send("MSG bye\r\n")
        d.close()
        self.assertEqual(c.cmd("PING"), "+PONG")

    def test_half_close_is_answered_then_closed(self):
        # The client sends its last commands and shuts its side: what it sent
        # whole is answered, even behind a paused session, then the server
        # closes; half a line at the end is dropped, not waited for.
        port = free_port()
        self.gannet(echo_conf(port, extra="testfilter on; testfilter_delay 50ms; timeout 30s;"))
        c = Client(port)
        c.line()
        c.send("MSG hello\r\nPING\r\nECHO last\r\nECHO unfinish")
        c.sock.shutdown(socket.SHUT_WR)
        self.assertEqual(c.line(), "+stored [X-Testfilter: n=1; client=127.0.0.1; helo=; from=<>; rcpts=0; user=] hello")
        self.assertEqual(c.line(), "+PONG")
        self.assertEqual(c.line(), "+last")
        self.assertTrue(c.closed())  # at once: the 10 s socket timeout would fail it
        d = Client(port)
        d.line()
        d.send("PING\r\nECHO unfinish")
        d.sock.shutdown(socket.SHUT_WR)
        self.assertEqual(d.line(), "+PONG")
        self.assertTrue(d.closed())

    def test_long_line_refused_with_bounded_memory(self):
        port = free_port()
        g = self.gannet(echo_conf(port), workers=1)
        pid = g.worker_pids()[0]
        before = rss_kib(pid)
        c = Client(port)
        c.line()
        chunk = b"x" * 65536
        for _ in range(16):  # 1 MiB without a line end
            c.send(chunk)
        c.send(b"\r\nPING\r\n")
        self.assertEqual(c.line(), "-ERR line too long")
        self.assertEqual(c.line(), "+PONG")
        grown = rss_kib(pid) - before
        self.assertLess(grown, 512, f"worker grew by {grown} KiB reading a 1 MiB line")

    def test_load_module(self):
        modules = os.environ.get("GANNET_TEST_MODULES")
        if not modules:
            self.skipTest("GANNET_TEST_MODULES not set")
        port = free_port()
        g = self.gannet(f"load_module {modules}/mod_hello.so;\n"
                        f"mail {{ server {{ listen 127.0.0.1:{port}; protocol hello; hello_text \"hi there\"; }} }}\n")
        self.assertEqual(Client(port).line(), "+hi there")

    def test_filters_run_in_the_order_named(self):
        modules = os.environ.get("GANNET_TEST_MODULES")
        if not modules:
            self.skipTest("GANNET_TEST_MODULES not set")
        a, b = free_port(), free_port()
        self.gannet(f"""load_module {modules}/mod_tagfilter.so;
mail {{
    testfilter on;
    filters tagfilter testfilter;
    server {{ listen 127.0.0.1:{a}; protocol echo; }}
    server {{ listen 127.0.0.1:{b}; protocol echo; filters testfilter; }}
}}
""")
        seen = "n=1; client=127.0.0.1; helo=; from=<>; rcpts=0; user="
        c = Client(a)
        c.line()
        self.assertEqual(c.cmd("MSG hello"), f"+stored [X-Tag: tagged] [X-Testfilter: {seen}] hello")
        self.assertEqual(c.cmd("MSG stop-tag spam"), "-ERR stopped by tagfilter")  # the first to refuse answers
        d = Client(b)
        d.line()
        self.assertEqual(d.cmd("MSG hello"), f"+stored [X-Testfilter: {seen}] hello")  # tagfilter not named here
        self.assertEqual(d.cmd("MSG stop-tag spam"), "-ERR spam refused")


if __name__ == "__main__":
    main()
