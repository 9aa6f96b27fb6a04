"""SIGKILL of a worker under SMTP load: every 250 is a promise.

Fifty clients send small messages over their own connections, each with a
unique Message-ID. While they run, one worker is killed with SIGKILL, and
after the master respawned it, the other one too. Clients whose connection
dies reconnect and go on. Afterwards every message that got "250 ... queued
as ID" must be in alice's INBOX (and be the one that got that ID); a message
without a 250 may be there too (the kill fell between commit and reply),
but nothing is stored twice, and the store is consistent.
"""
import concurrent.futures
import os
import random
import re
import signal
import smtplib
import subprocess
import threading
import time

from harness import main, wait_for
from smtp_harness import GANNETCTL, SmtpTest

CLIENTS = 50
QUOTA = 20  # acknowledged messages per client
DEADLINE = 40.0  # seconds for the whole load, kills included
QUEUED = re.compile(rb"^2\.0\.0 Ok: queued as (\S+)$")
MSGID = re.compile(rb"^Message-ID: <(c\d+-\d+)@crash\.test>\r$", re.M)
RECEIVED_ID = re.compile(rb"\(Gannet\) with ESMTP id (\S+)")
# A connection cut by the kill (a timeout is not one: that would be a hang).
CUT = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError)


class Load:
    """The clients, and what the server told them."""

    def __init__(self, port):
        self.port = port
        self.lock = threading.Condition()
        self.acked = {}  # Message-ID -> the queue id of its 250
        self.refused = {}  # Message-ID -> a 4xx/5xx reply
        self.unknown = set()  # sent, but the connection died before the reply
        self.connection_errors = 0
        self.errors = []  # anything unexpected
        self.end = time.monotonic() + DEADLINE

    def acks(self):
        with self.lock:
            return len(self.acked)

    def wait_acks(self, n):
        """Waits until n messages are acknowledged; the kills land at a known point of the load."""
        with self.lock:
            if not self.lock.wait_for(lambda: len(self.acked) >= n, timeout=self.end - time.monotonic()):
                raise AssertionError(f"timed out waiting for {n} acknowledged messages; have {len(self.acked)}; "
                                     f"refused {list(self.refused.items())[:5]}; errors {self.errors[:5]}")
            return len(self.acked)

    def client(self, n):
        done, i, s = 0, 0, None
        try:
            while done < QUOTA and time.monotonic() < self.end:
                try:
                    if s is None:
                        s = smtplib.SMTP("127.0.0.1", self.port, timeout=10)
                        s.ehlo("client%d.remote.test" % n)
                    mid = "c%d-%d" % (n, i)
                    i += 1
                    msg = (f"From: x@remote.test\r\nTo: alice@example.test\r\nMessage-ID: <{mid}@crash.test>\r\n"
                           f"Subject: crash {mid}\r\n\r\nbody of {mid}\r\n")
                    try:
                        code, _ = s.mail("x@remote.test")
                        if code == 250:
                            code, _ = s.rcpt("alice@example.test")
                        if code != 250:
                            raise AssertionError(f"{mid}: MAIL/RCPT refused with {code}")
                        code, reply = s.data(msg)
                    except CUT:
                        with self.lock:
                            self.unknown.add(mid)
                        raise
                    m = QUEUED.match(reply)
                    with self.lock:
                        if code == 250 and m:
                            self.acked[mid] = m.group(1).decode()
                            self.lock.notify_all()
                            done += 1
                        else:
                            self.refused[mid] = (code, reply)
                except CUT:
                    with self.lock:
                        self.connection_errors += 1
                    if s is not None:
                        s.close()
                    s = None  # reconnect; the respawned or the other worker answers
            if done < QUOTA:
                self.errors.append(f"client {n}: only {done} of {QUOTA} messages acknowledged by the deadline")
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.errors.append(f"client {n}: {e!r}")
        finally:
            if s is not None:
                try:
                    s.quit()
                except (smtplib.SMTPException, OSError):
                    s.close()


class WorkerCrashTest(SmtpTest):
    def kill_worker(self, victim):
        """SIGKILLs a worker; returns the pids once the master has respawned it."""
        os.kill(victim, signal.SIGKILL)

        def respawned():
            pids = self.g.worker_pids()
            return len(pids) == 2 and victim not in pids and pids

        return wait_for(respawned, timeout=10, what=f"the master to respawn worker {victim}")

    def stored(self):
        """Alice's INBOX: (Message-ID, queue id from Received) per message, fetched in parallel."""
        uids = [line.split("\t")[0] for line in self.ctl("mailbox", "show", "alice@example.test", "INBOX").splitlines()]

        def show(uid):
            r = subprocess.run([GANNETCTL, "-c", self.g.conf, "message", "show", "alice@example.test", "INBOX", uid],
                               capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            mid, qid = MSGID.search(r.stdout), RECEIVED_ID.search(r.stdout)
            self.assertTrue(mid and qid, f"uid {uid}: unexpected message {r.stdout[:300]!r}")
            return mid.group(1).decode(), qid.group(1).decode()

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            return list(pool.map(show, uids))

    def test_kill_9_of_workers_under_load_loses_no_acknowledged_message(self):
        load = Load(self.mx)
        threads = [threading.Thread(target=load.client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        try:
            first = self.g.worker_pids()
            random.shuffle(first)
            load.wait_acks(200)
            pids = self.kill_worker(first[0])
            load.wait_acks(load.acks() + 300)
            second = self.kill_worker(first[1])
            acks_at_second = load.acks()
        finally:
            for t in threads:
                t.join(DEADLINE + 30)
        self.assertFalse(any(t.is_alive() for t in threads), "a client hung")
        self.assertEqual(load.errors, [])
        self.assertEqual(load.refused, {}, "no message is refused: the store is never full or broken")
        self.assertEqual(len(load.acked), CLIENTS * QUOTA)
        self.assertGreater(len(load.acked), acks_at_second, "the respawned workers serve mail")
        self.assertGreater(load.connection_errors, 0, "the kills cut connections")

        # The master: both kills seen, both slots respawned, each new worker serving.
        log = self.g.log()
        self.assertEqual(log.count("exited on signal 9"), 2, log)
        self.assertEqual(log.count("respawning worker"), 2, log)
        self.assertEqual(len(self.g.worker_pids()), 2)
        self.assertNotIn(first[0], self.g.worker_pids())
        self.assertNotIn(first[1], self.g.worker_pids())
        self.assertEqual(sorted(self.g.worker_pids()), sorted(second))
        self.assertTrue(set(pids) & set(second), "the worker respawned first still serves after the second kill")

        stored = self.stored()
        by_mid = {}
        for mid, qid in stored:
            by_mid.setdefault(mid, []).append(qid)
        twice = {mid: q for mid, q in by_mid.items() if len(q) > 1}
        self.assertEqual(twice, {}, "one DATA, one copy")
        missing = sorted(mid for mid in load.acked if mid not in by_mid)
        self.assertEqual(missing, [], f"acknowledged but not stored; log:\n{log}")
        wrong = {mid: (qid, by_mid[mid][0]) for mid, qid in load.acked.items() if by_mid[mid][0] != qid}
        self.assertEqual(wrong, {}, "the stored copy carries the queue id its 250 gave")
        # Stored without a 250: only messages whose connection died waiting for the reply.
        self.assertLessEqual(set(by_mid) - set(load.acked), load.unknown)

        self.assertEqual(self.ctl("store", "check"), "store is consistent\n")
        stats = self.ctl("store", "stats")
        self.assertIn(f"messages {len(stored)}\n", stats)
        self.assertIn("queued 0\n", stats)

        # And the store still takes mail after all this.
        with self.smtp() as s:
            s.sendmail("x@remote.test", ["bob@example.test"], "Subject: after\r\n\r\nstill here\r\n")
        self.assertEqual(len(self.inbox("bob")), 1)


if __name__ == "__main__":
    main()
