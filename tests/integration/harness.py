"""Starts the real gannet binary on loopback for integration tests.

Every wait is on an observable condition (a log line, a pid, an answer) with
a deadline: no test sleeps to synchronise.
"""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

GANNET = os.environ.get("GANNET", os.path.join(os.path.dirname(__file__), "../../build/gannet"))
MODULES = os.environ.get("GANNET_TEST_MODULES", "")


def wait_for(cond, timeout=10.0, what="condition"):
    """Polls cond() until it returns a true value; fails after timeout."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(delay)  # polling interval, not synchronisation
        delay = min(delay * 2, 0.1)


_ports_given = set()


def free_port():
    """A loopback port nothing listens on, never the same one twice in a
    test run: the kernel may hand a just-closed port out again at once."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _ports_given:
            _ports_given.add(port)
            return port


def make_cert(directory, name, cn, algo="rsa", sans=None):
    """Writes NAME.pem/NAME.key (self-signed) and returns their paths."""
    cert, key = os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".key")
    args = ["openssl", "req", "-x509", "-nodes", "-days", "30", "-subj", "/CN=" + cn,
            "-keyout", key, "-out", cert]
    args += ["-newkey", "rsa:2048"] if algo == "rsa" else ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    if sans:
        args += ["-addext", "subjectAltName=" + ",".join("DNS:" + s for s in sans)]
    subprocess.run(args, check=True, capture_output=True)
    return cert, key


class Gannet:
    """One gannet master with its workers, in a private temp directory."""

    def __init__(self, conf_text, workers=2, directory=None):
        self.dir = directory or tempfile.mkdtemp(prefix="gannet-test-")
        os.chmod(self.dir, 0o755)  # workers may run as another user
        self.conf = os.path.join(self.dir, "gannet.conf")
        self.error_log = os.path.join(self.dir, "error.log")
        self.workers = workers
        self.proc = None
        self.preexec = None  # run in the child before exec, e.g. to set limits
        self.write_conf(conf_text)

    def write_conf(self, body):
        head = (f"worker_processes {self.workers};\nerror_log error.log info;\npid gannet.pid;\n")
        with open(self.conf, "w") as f:
            f.write(head + body)

    def start(self):
        self.proc = subprocess.Popen([GANNET, "-c", self.conf], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     preexec_fn=getattr(self, "preexec", None))
        wait_for(self._started, what="workers to start")
        return self

    def _started(self):
        if self.proc.poll() is not None:
            raise AssertionError("gannet exited: " + self.proc.stdout.read().decode(errors="replace") + self.log())
        return len(self.worker_pids()) == self.workers and self.log().count(" started\n") >= self.workers

    def log(self):
        try:
            with open(self.error_log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def worker_pids(self):
        """Live worker processes (children of the master)."""
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                return [int(p) for p in f.read().split()]
        except FileNotFoundError:
            return []

    def signal(self, signum):
        os.kill(self.proc.pid, signum)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Client:
    """A line client for the echo protocol."""

    def __init__(self, port, host="127.0.0.1", tls=False, server_hostname="localhost", context=None):
        self.sock = socket.create_connection((host, port), timeout=10)
        if tls:
            self.sock = (context or insecure_context()).wrap_socket(self.sock, server_hostname=server_hostname)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed by server; got " + repr(self.buf))
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.line()

    def closed(self):
        """True once the server has closed the connection."""
        try:
            return self.sock.recv(65536) == b""
        except (ConnectionResetError, ssl.SSLError):
            return True

    def close(self):
        self.sock.close()


def insecure_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        m = re.search(r"VmRSS:\s+(\d+)", f.read())
    return int(m.group(1))


class GannetTest(unittest.TestCase):
    """Stops every server a test started, even when it fails."""

    def setUp(self):
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.stop()

    def gannet(self, conf, workers=2, start=True):
        g = Gannet(conf, workers)
        self.servers.append(g)
        return g.start() if start else g


def main():
    unittest.main(verbosity=2, warnings="ignore")  # unclosed test sockets are the GC's to close
