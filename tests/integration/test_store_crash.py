"""kill -9 during group commit loses nothing that was acknowledged.

store_writer (tests/tools/store_writer.cc) keeps 10 deliveries in flight and
prints "stored ID" once each is durable. Each round reads a random number of
those lines, SIGKILLs the writer while it is still committing, then checks the
store with gannetctl and lists it: every acknowledged id must be there, intact,
from this round and every round before (the store is reused, so each round
also opens a store that was killed mid-commit).
"""
import os
import random
import select
import signal
import subprocess
import tempfile
import time
import unittest

from harness import GANNET, main

GANNETCTL = os.path.join(os.path.dirname(GANNET), "gannetctl")
STORE_WRITER = os.environ.get("STORE_WRITER", os.path.join(os.path.dirname(GANNET), "tests/store_writer"))
ROUNDS = 20


def read_lines(proc, count, timeout):
    """The first `count` complete stdout lines of proc, waiting at most timeout."""
    deadline = time.monotonic() + timeout
    buf, lines = b"", []
    fd = proc.stdout.fileno()
    while len(lines) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"writer printed {len(lines)} of {count} lines in {timeout}s")
        if not select.select([fd], [], [], left)[0]:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            rc = proc.wait(timeout=10)
            raise AssertionError(f"writer exited (status {rc}) after {len(lines)} lines: "
                                 + proc.stderr.read().decode(errors="replace"))
        buf += chunk
        *done, buf = buf.split(b"\n")
        lines += [line.decode() for line in done]
    return lines[:count]  # what we read past the kill point was not yet acknowledged to us


class StoreCrashTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gannet-crash-")
        self.conf = os.path.join(self.dir, "gannet.conf")
        with open(self.conf, "w") as f:
            f.write("store_map_size 1g;\nmail { }\n")
        self.store = os.path.join(self.dir, "data")
        self.seed = int(os.environ.get("STORE_CRASH_SEED", time.time_ns() % 1000000))
        self.rng = random.Random(self.seed)

    def run_round(self, n):
        target = self.rng.randint(1, 300)
        proc = subprocess.Popen([STORE_WRITER, self.store, "--run", str(n)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            lines = read_lines(proc, target, timeout=20)
        finally:
            proc.kill()
            proc.wait(timeout=10)
            stderr = proc.stderr.read().decode(errors="replace")
            proc.stdout.close()
            proc.stderr.close()
        # Still writing when killed: it had not stopped on an error of its own.
        self.assertEqual(proc.returncode, -signal.SIGKILL, f"seed {self.seed} round {n}: {stderr}")
        self.assertTrue(all(line.startswith("stored ") for line in lines), lines[:5])
        return [line.split()[1] for line in lines]

    def test_kill_during_group_commit(self):
        acked = set()
        for n in range(ROUNDS):
            ids = self.run_round(n)
            acked.update(ids)
            where = f"seed {self.seed} round {n} (killed after {len(ids)} acks)"

            r = subprocess.run([GANNETCTL, "-c", self.conf, "store", "check"], capture_output=True, text=True, timeout=60)
            self.assertEqual((r.returncode, r.stdout), (0, "store is consistent\n"), f"{where}: {r.stdout}{r.stderr}")

            r = subprocess.run([STORE_WRITER, "--list", self.store], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, f"{where}: {r.stderr}")
            listed = r.stdout.split()
            self.assertEqual(len(listed), len(set(listed)), f"{where}: an id is listed twice")
            lost = acked - set(listed)
            self.assertFalse(lost, f"{where}: acknowledged but lost: {sorted(lost)[:10]}")
            # Writes commit in the order they were queued: this round's ids are
            # 1..M with no hole, M at least what was acknowledged.
            mine = sorted(int(i.split(".")[1]) for i in listed if i.startswith(f"{n}."))
            self.assertEqual(mine, list(range(1, len(mine) + 1)), where)
            self.assertGreaterEqual(len(mine), len(ids), where)


if __name__ == "__main__":
    main()
