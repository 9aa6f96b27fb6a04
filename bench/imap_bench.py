#!/usr/bin/env python3
"""IMAP benchmark: memory per idle SELECTed session and commands/s, Gannet and Dovecot.

In one run, against Gannet (build/gannet) and a private unprivileged Dovecot
(/usr/sbin/dovecot, started the way idle_connections.py starts it), both on
loopback with the same mailbox (alice@example.test, INBOX of 1,000 small
messages, filled with IMAP APPEND):

1. memory: N sessions logged in with INBOX SELECTed, then idle; the servers'
   PSS before and after gives KiB per session (Gannet in plaintext and over
   TLS, Dovecot in plaintext);
2. throughput: C clients, each logged in with INBOX selected, run a fixed
   cycle of commands (FETCH of all flags, of a header, of a whole message,
   STORE +FLAGS/-FLAGS, NOOP, and UID SEARCH UNSEEN if both servers answer
   it) for a fixed time; then each command alone. Commands/s, the servers'
   CPU and the client's own CPU are printed.

A benchmark, not a test: exits 0 whatever the numbers; 1 on errors (a server
that does not start, a failed login, a command answered NO/BAD, a FETCH that
returned other bytes than were appended). Python 3 standard library only.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime
import email.utils
import multiprocessing
import os
import random
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

# Helpers shared with the idle-connection benchmark: process trees, PSS,
# CPU seconds, fd limit, certificates, Dovecot's unprivileged identity.
from idle_connections import Dovecot as IdleDovecot  # noqa: E402
from idle_connections import (DOVECOT, HOST, BenchError, Server, free_port, make_cert,  # noqa: E402
                              memory_kib, raise_nofile, tail, wait_until)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USER = "alice@example.test"
PASSWORD = "bench-imap-pw"
TARGET_KIB = {"plaintext": 16, "tls": 48}  # KiB per idle SELECTed session (the issue)
TARGET_RATIO = 3.0                          # Gannet/Dovecot commands/s on the mix (the issue)
MAX_LINE = 16 << 20                         # longest response line we accept (bounds memory)
MAX_COMMANDS = 10_000_000                   # per client and run: every loop has a count bound too


# --------------------------------------------------------------------------
# The mailbox: 1,000 deterministic messages, 1-4 KiB, some multipart
# --------------------------------------------------------------------------

WORDS = ("the of and to in is that for it as with was on be at by this had not are but from or have an they "
         "which one you were all we her she there would their will when who him been has more if no out so "
         "said what up its about than into them can only other new some could time these two may then do "
         "first any my now such like our over man me even most made after also did many before must through "
         "mailbox server message folder session commit durable flag header body literal").split()


def text_lines(rng: random.Random, size: int) -> list[str]:
    """Wrapped pseudo-English lines adding up to about `size` bytes."""
    lines, line, total = [], [], 0
    while total < size:
        word = rng.choice(WORDS)
        if sum(len(w) + 1 for w in line) + len(word) > 72:
            lines.append(" ".join(line))
            total += len(lines[-1]) + 2
            line = []
        line.append(word)
    if line:
        lines.append(" ".join(line))
    return lines


def make_message(i: int, rng: random.Random) -> bytes:
    """Message i (0-based): a plain text message, or every 25th a multipart one."""
    head = [f"From: Sender {i % 37} <sender{i % 37}@example.net>",
            f"To: Alice <{USER}>",
            f"Subject: Message {i}: {' '.join(rng.choice(WORDS) for _ in range(5))}",
            "Date: " + email.utils.format_datetime(datetime.datetime(2026, 11, 1 + i % 28, i % 24, i % 60,
                                                                     tzinfo=datetime.timezone.utc)),
            f"Message-ID: <bench.{i}@example.net>",
            "MIME-Version: 1.0"]
    size = rng.randint(800, 3600)
    if i % 25 != 7:
        head.append("Content-Type: text/plain; charset=us-ascii")
        body = text_lines(rng, size)
    else:
        boundary = f"=_bench_{i}"
        head.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
        plain = text_lines(rng, size // 2)
        html = ["<html><body>"] + [f"<p>{line}</p>" for line in text_lines(rng, size // 2)] + ["</body></html>"]
        body = (["This is a multi-part message in MIME format.", f"--{boundary}",
                 "Content-Type: text/plain; charset=us-ascii", ""] + plain
                + [f"--{boundary}", "Content-Type: text/html; charset=us-ascii", ""] + html
                + [f"--{boundary}--"])
    return ("\r\n".join(head) + "\r\n\r\n" + "\r\n".join(body) + "\r\n").encode()


def make_messages(count: int) -> list[bytes]:
    rng = random.Random(20261207)
    return [make_message(i, rng) for i in range(count)]


def header_of(message: bytes) -> bytes:
    """BODY[HEADER]: the header fields and the blank line after them."""
    end = message.find(b"\r\n\r\n")
    return message[:end + 4]


def is_seen(i: int) -> bool:
    """Every third message (0-based i) is appended \\Seen: SEARCH and the
    FLAGS listing get something to tell apart."""
    return i % 3 == 0


# --------------------------------------------------------------------------
# IMAP client: a response reader that handles literals, and a parser
# --------------------------------------------------------------------------

LITERAL_AT_END = re.compile(rb"\{(\d+)\+?\}$")
LITERAL_LINE = re.compile(rb"\{\d+\+?\}\r?\n")  # a line that ends announcing a literal


class ImapError(BenchError):
    """The server said something a correct server would not, or NO/BAD."""


class Imap:
    """One IMAP connection. A response is a list of parts: text, literal,
    text, literal, ..., text; each text part but the last ends in "{n}" and
    the literal after it is exactly n bytes (RFC 3501 4.3)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float):
        self.reader, self.writer, self.timeout = reader, writer, timeout
        self.buf, self.pos = b"", 0
        self.tags = 0
        self.capabilities: set[str] = set()

    @classmethod
    async def connect(cls, port: int, tls: ssl.SSLContext | None, timeout: float) -> "Imap":
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(HOST, port, ssl=tls, server_hostname="localhost" if tls else None,
                                    limit=1 << 20), timeout)
        conn = cls(reader, writer, timeout)
        greeting = await asyncio.wait_for(conn.read_response(), timeout)
        if not greeting[0].startswith(b"* OK"):
            conn.close()
            raise ImapError(f"greeting: {show(greeting)}")
        conn._note_capabilities(greeting)
        return conn

    # -- reading ----------------------------------------------------------

    async def _fill(self) -> None:
        data = await self.reader.read(1 << 18)
        if not data:
            raise ImapError("connection closed by the server")
        self.buf = self.buf[self.pos:] + data
        self.pos = 0

    async def _line(self) -> bytes:
        """The next line, without its CRLF."""
        while True:
            end = self.buf.find(b"\n", self.pos)
            if end >= 0:
                line = self.buf[self.pos:end]
                self.pos = end + 1
                return line[:-1] if line.endswith(b"\r") else line
            if len(self.buf) - self.pos > MAX_LINE:
                raise ImapError(f"response line longer than {MAX_LINE} bytes")
            await self._fill()

    async def _exactly(self, n: int) -> bytes:
        while len(self.buf) - self.pos < n:
            await self._fill()
        data = self.buf[self.pos:self.pos + n]
        self.pos += n
        return data

    def _buffered_lines(self, prefix: bytes) -> list[bytes]:
        """The fast path, for a FETCH of 1,000 flags: the one-line responses
        already buffered, split in one go, up to the tagged reply (included)
        or to a line announcing a literal (excluded: read_response reads
        it). [] when there is none, or a line ends in a bare LF."""
        stop = self.buf.rfind(b"\n", self.pos) + 1
        if stop <= self.pos or self.buf.startswith(prefix, self.pos):
            return []
        m = LITERAL_LINE.search(self.buf, self.pos, stop)
        if m:  # stop at the start of the line that announces it
            stop = self.buf.rfind(b"\n", self.pos, m.start()) + 1
            if stop <= self.pos:
                return []
        tagged = self.buf.find(b"\n" + prefix, self.pos, stop)
        if tagged >= 0:  # what follows the tagged reply is not ours
            stop = self.buf.find(b"\n", tagged + 1) + 1
        chunk = self.buf[self.pos:stop]
        if (chunk.count(b"\n") != chunk.count(b"\r\n") or chunk.startswith(b"+") or b"\n+" in chunk
                or b"* BYE" in chunk):
            return []  # the slow path looks at these line by line
        self.pos = stop
        return chunk[:-2].split(b"\r\n")

    async def read_response(self) -> list[bytes]:
        """One whole response: a line, and for every literal it announces
        the literal's bytes and the rest of the response after it."""
        parts = []
        while True:
            line = await self._line()
            parts.append(line)
            if not line.endswith(b"}"):
                return parts
            m = LITERAL_AT_END.search(line)
            if not m:
                return parts
            n = int(m.group(1))
            if n > MAX_LINE:
                raise ImapError(f"literal of {n} bytes: {line[:100]!r}")
            parts.append(await self._exactly(n))

    # -- commands ---------------------------------------------------------

    def next_tag(self) -> str:
        self.tags += 1
        return f"t{self.tags}"

    async def command(self, text: str, check: bool = True) -> tuple[list[bytes], list[list[bytes]]]:
        """Sends `TAG text` and reads to the tagged reply: (tagged response,
        untagged responses). With check, anything but OK raises ImapError."""
        tag = self.next_tag()
        self.writer.write(f"{tag} {text}\r\n".encode())
        async with deadline(self.timeout):
            return await self._until_tagged(tag, text, check)

    async def _until_tagged(self, tag: str, text: str, check: bool):
        prefix = tag.encode() + b" "
        untagged = []
        for _ in range(MAX_COMMANDS):  # a bound, not a limit anyone reaches
            lines = self._buffered_lines(prefix)
            if lines:  # untagged one-line responses, and maybe the tagged reply last
                if not lines[-1].startswith(prefix):
                    untagged.extend([line] for line in lines)
                    continue
                untagged.extend([line] for line in lines[:-1])
                resp = [lines[-1]]
            else:
                resp = await self.read_response()
            if resp[0].startswith(prefix):
                if check and not resp[0].startswith(prefix + b"OK"):
                    raise ImapError(f"{tag} {text} -> {show(resp)}")
                return resp, untagged
            if resp[0].startswith(b"+"):
                raise ImapError(f"{tag} {text}: unexpected continuation {show(resp)}")
            if resp[0].startswith(b"* BYE"):
                raise ImapError(f"{tag} {text} -> {show(resp)}")
            untagged.append(resp)
        raise ImapError(f"{tag} {text}: no tagged reply in {MAX_COMMANDS} responses")

    def _note_capabilities(self, resp: list[bytes]) -> None:
        m = re.search(rb"\[CAPABILITY ([^\]]*)\]", resp[0])
        if m:
            self.capabilities = set(m.group(1).decode().upper().split())

    async def login(self, user: str, password: str) -> None:
        tagged, untagged = await self.command(f"LOGIN {quote(user)} {quote(password)}")
        self._note_capabilities(tagged)
        for resp in untagged:
            if resp[0].startswith(b"* CAPABILITY "):
                self.capabilities = set(resp[0][13:].decode().upper().split())

    async def select(self, mailbox: str = "INBOX") -> int:
        """SELECTs the mailbox; returns its EXISTS count."""
        _, untagged = await self.command(f"SELECT {quote(mailbox)}")
        for resp in untagged:
            words = resp[0].split()
            if len(words) == 3 and words[2] == b"EXISTS":
                return int(words[1])
        raise ImapError(f"SELECT {mailbox}: no EXISTS in {[show(r) for r in untagged]}")

    async def append(self, mailbox: str, flags: str, message: bytes) -> None:
        """APPEND with a synchronizing literal: waits for the "+" first."""
        tag = self.next_tag()
        self.writer.write(f"{tag} APPEND {quote(mailbox)} ({flags}) {{{len(message)}}}\r\n".encode())
        cont = await asyncio.wait_for(self.read_response(), self.timeout)
        if not cont[0].startswith(b"+"):
            raise ImapError(f"APPEND: expected a continuation, got {show(cont)}")
        self.writer.write(message + b"\r\n")
        await asyncio.wait_for(self._until_tagged(tag, "APPEND", True), self.timeout)

    async def logout(self) -> None:
        try:
            await self.command("LOGOUT", check=False)
        except (ImapError, OSError, asyncio.TimeoutError):
            pass
        self.close()

    def close(self) -> None:
        try:
            self.writer.close()
        except (OSError, RuntimeError):
            pass


def deadline(seconds: float):
    """A time bound for an await: asyncio.timeout where there is one (3.11;
    no task per command, which matters to a client doing 10,000 a second)."""
    if hasattr(asyncio, "timeout"):
        return asyncio.timeout(seconds)
    return _WaitFor(seconds)


class _WaitFor:
    """asyncio.timeout for Python < 3.11: cancels the task at the deadline."""

    def __init__(self, seconds: float):
        self.seconds, self.handle, self.fired = seconds, None, False

    async def __aenter__(self):
        task = asyncio.current_task()
        self.handle = asyncio.get_running_loop().call_later(self.seconds, self._fire, task)

    def _fire(self, task):
        self.fired = True
        task.cancel()

    async def __aexit__(self, exc_type, exc, tb):
        self.handle.cancel()
        if self.fired and exc_type is asyncio.CancelledError:
            raise asyncio.TimeoutError()
        return False


def quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def show(resp: list[bytes], limit: int = 200) -> str:
    """A response for a message: literals shown as their size."""
    out = []
    for i, part in enumerate(resp):
        out.append(part.decode(errors="replace") if i % 2 == 0 else f"<{len(part)} bytes>")
    text = "".join(out)
    return text if len(text) <= limit else text[:limit] + "..."


class _Parser:
    """Turns a response's parts into values: atoms as str, quoted strings
    and literals as bytes, NIL as None, parenthesized lists as lists. An
    atom keeps its [section] and <partial> (BODY[HEADER.FIELDS (A B)]<0>)."""

    def __init__(self, parts: list[bytes]):
        self.parts, self.k = parts, 0
        self.s, self.i = parts[0], 0

    def values(self, depth: int = 0) -> list:
        out = []
        while True:
            self._skip_spaces()
            if self.i >= len(self.s):
                if depth:
                    raise ImapError(f"unclosed list in {show(self.parts)}")
                return out
            c = self.s[self.i:self.i + 1]
            if c == b")":
                if not depth:
                    raise ImapError(f"unbalanced ')' in {show(self.parts)}")
                self.i += 1
                return out
            if c == b"(":
                if depth >= 64:
                    raise ImapError("lists nested too deep")
                self.i += 1
                out.append(self.values(depth + 1))
            elif c == b'"':
                out.append(self._quoted())
            elif c == b"{":
                out.append(self._literal())
            else:
                atom = self._atom()
                out.append(None if atom.upper() == "NIL" else atom)

    def _skip_spaces(self) -> None:
        while self.i < len(self.s) and self.s[self.i] == 0x20:
            self.i += 1

    def _quoted(self) -> bytes:
        out, i = bytearray(), self.i + 1
        while i < len(self.s):
            c = self.s[i]
            if c == 0x5C:  # backslash quotes the next character
                out.append(self.s[i + 1])
                i += 2
            elif c == 0x22:
                self.i = i + 1
                return bytes(out)
            else:
                out.append(c)
                i += 1
        raise ImapError(f"unterminated string in {show(self.parts)}")

    def _literal(self) -> bytes:
        m = LITERAL_AT_END.match(self.s, self.i)
        if not m or m.end() != len(self.s) or self.k + 2 >= len(self.parts):
            raise ImapError(f"bad literal at {self.s[self.i:self.i + 20]!r}")
        data = self.parts[self.k + 1]
        if len(data) != int(m.group(1)):
            raise ImapError("literal length mismatch")
        self.k += 2
        self.s, self.i = self.parts[self.k], 0
        return data

    def _atom(self) -> str:
        start, i = self.i, self.i
        while i < len(self.s) and self.s[i] not in b" ()\"{":
            if self.s[i] == 0x5B:  # '[': a section runs to its ']', spaces and parens included
                close = self.s.find(b"]", i)
                if close < 0:
                    raise ImapError(f"unclosed '[' in {show(self.parts)}")
                i = close
            i += 1
        if i == start:
            raise ImapError(f"unexpected {self.s[i:i + 1]!r} in {show(self.parts)}")
        self.i = i
        return self.s[start:i].decode("latin-1")


def parse(parts: list[bytes]) -> list:
    """`* 5 FETCH (UID 5 BODY[] {12}` + literal + `)` -> ['*', '5', 'FETCH', ['UID', '5', 'BODY[]', b'...']]"""
    return _Parser(parts).values()


def fetch_items(resp: list[bytes]) -> dict[str, object]:
    """The items of an untagged FETCH response, by upper-case name."""
    values = parse(resp)
    if len(values) != 4 or values[2] != "FETCH" or not isinstance(values[3], list):
        raise ImapError(f"not a FETCH response: {show(resp)}")
    items = values[3]
    return {str(items[j]).upper(): items[j + 1] for j in range(0, len(items) - 1, 2)}


# --------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------

class Gannet(Server):
    """build/gannet with 2 workers, a store in DIR/store and two IMAP
    servers: plaintext (LOGIN allowed, loopback) and implicit TLS; then
    `more_servers`, server blocks for the mail block."""

    def __init__(self, binary: str, directory: str, workers: int, port: int, tls_port: int,
                 cert: tuple[str, str], more_servers: str = ""):
        super().__init__()
        self.binary, self.dir, self.workers, self.port = binary, directory, workers, port
        self.conf = os.path.join(directory, "gannet.conf")
        with open(self.conf, "w") as f:
            f.write(f"""worker_processes {workers};
error_log error.log notice;
pid gannet.pid;
store_path {os.path.join(directory, 'store')};
events {{ worker_connections 100000; }}
mail {{
  server_name localhost;
  server {{ listen {HOST}:{port}; protocol imap; imap_auth_plaintext on; }}
  server {{ listen {HOST}:{tls_port} ssl; protocol imap;
           ssl_certificate {cert[0]}; ssl_certificate_key {cert[1]}; }}
{more_servers}}}
""")

    def ctl(self, *args: str, stdin: str = "") -> str:
        ctl = os.path.join(os.path.dirname(self.binary), "gannetctl")
        r = subprocess.run([ctl, "-c", self.conf, *args], input=stdin, capture_output=True, text=True,
                           timeout=120, cwd=self.dir)
        if r.returncode:
            raise BenchError(f"gannetctl {' '.join(args)}: {r.stderr.strip() or r.stdout.strip()}")
        return r.stdout

    def create_user(self, user: str = USER, password: str = PASSWORD) -> None:
        with contextlib.suppress(BenchError):  # the domain may be there already
            self.ctl("domain", "add", user.split("@")[1])
        self.ctl("user", "add", user, "--password-stdin", stdin=password + "\n")

    def measured_pids(self) -> list[int]:
        return tree(self.proc.pid)  # the workers; the master holds no sessions

    def start(self) -> None:
        with open(os.path.join(self.dir, "stderr.log"), "ab") as log:
            self.proc = subprocess.Popen([self.binary, "-c", self.conf], cwd=self.dir,
                                         stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._ready, 30, "gannet's workers to start")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise BenchError(f"gannet exited with status {self.proc.returncode}:\n"
                             + tail(os.path.join(self.dir, "stderr.log")) + tail(os.path.join(self.dir, "error.log")))
        return len(self.pids()) == self.workers and greets(self.port)

    def _graceful_stop(self):
        subprocess.run([self.binary, "-c", self.conf, "-s", "stop"], cwd=self.dir,
                       capture_output=True, timeout=15)


class Dovecot(IdleDovecot):
    """idle_connections.py's private Dovecot (unprivileged, loopback,
    passwd-file, Maildir, high-performance login processes), logging in our
    user, with mail_fsync at its default, optimized, and measured as a whole
    process tree."""

    def __init__(self, directory: str, port: int, sessions: int, login_processes: int):
        super().__init__(directory, port, sessions, login_processes, login=(USER, PASSWORD), mail_fsync="optimized")

    def measured_pids(self) -> list[int]:
        return [self.proc.pid, *tree(self.proc.pid)] if self.proc else []  # the whole tree


def greets(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=2) as s:
            return s.recv(64).startswith(b"* OK")
    except OSError:
        return False


def tree(root: int) -> list[int]:
    """The descendants of root, from every process's parent in /proc/*/stat.
    (/proc/PID/task/*/children can miss children while others exit, as
    Dovecot's imap processes do all the time.)"""
    parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    parent[int(name)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass  # exited meanwhile
    kids: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    for _ in range(len(parent) + 1):  # a bound: each pid is visited once
        if not todo:
            break
        for kid in kids.get(todo.pop(), []):
            out.append(kid)
            todo.append(kid)
    return out


def server_memory(server) -> dict[str, int]:
    return memory_kib(server.measured_pids())


def process_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process, None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def server_cpu(server) -> dict[int, float]:
    """CPU seconds of each live process of the tree (master included)."""
    times = {pid: process_cpu_seconds(pid) for pid in [server.proc.pid, *tree(server.proc.pid)]}
    return {pid: t for pid, t in times.items() if t is not None}


def machine_busy() -> float:
    """CPU seconds all CPUs spent busy since boot (/proc/stat: all but idle
    and iowait), to see how much of the machine others took."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the live processes used between the two readings: a
    process that exited meanwhile (Dovecot's imap of a closed session) must
    not count as negative time."""
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


# --------------------------------------------------------------------------
# Setup: fill INBOX, see whether SEARCH works
# --------------------------------------------------------------------------

async def open_session(port: int, tls: ssl.SSLContext | None, timeout: float, select: bool = True) -> Imap:
    conn = await Imap.connect(port, tls, timeout)
    try:
        await conn.login(USER, PASSWORD)
        if select:
            await conn.select()
    except BaseException:
        conn.close()
        raise
    return conn


async def populate(port: int, messages: list[bytes], timeout: float) -> float:
    """APPENDs the messages to INBOX in order (so message n has UID n on
    both servers); returns the seconds it took."""
    t0 = time.monotonic()
    conn = await open_session(port, None, timeout, select=False)
    try:
        for i, msg in enumerate(messages):
            await conn.append("INBOX", "\\Seen" if is_seen(i) else "", msg)
        exists = await conn.select()
        if exists != len(messages):
            raise ImapError(f"INBOX holds {exists} messages after {len(messages)} APPENDs")
    finally:
        await conn.logout()
    return time.monotonic() - t0


async def probe_search(port: int, messages: list[bytes], timeout: float) -> tuple[bool, str, bool]:
    """Whether `UID SEARCH SEEN` answers OK, what it said, and whether it
    was wrong (OK, but not exactly the messages appended \\Seen)."""
    conn = await open_session(port, None, timeout)
    try:
        tagged, untagged = await conn.command("UID SEARCH SEEN", check=False)
        status = tagged[0].split(b" ", 2)[1] if b" " in tagged[0] else b""
        if status != b"OK":
            return False, f"UID SEARCH SEEN -> {show(tagged)}", False
        found = set()
        for resp in untagged:
            if resp[0].startswith(b"* SEARCH"):
                found.update(int(w) for w in resp[0].split()[2:])
        want = {i + 1 for i in range(len(messages)) if is_seen(i)}
        if found != want:
            return True, (f"UID SEARCH SEEN answered OK but found {len(found)} UIDs, {len(want)} expected "
                          f"(missing e.g. {sorted(want - found)[:5]}, extra e.g. {sorted(found - want)[:5]})"), True
        return True, f"UID SEARCH SEEN -> OK, {len(found)} UIDs, as appended", False
    finally:
        await conn.logout()


# --------------------------------------------------------------------------
# Memory per idle SELECTed session
# --------------------------------------------------------------------------

@dataclasses.dataclass
class MemResult:
    name: str
    sessions: int
    seconds: float
    before_kib: int
    after_kib: int
    target: float | None

    @property
    def kib_per_session(self) -> float:
        return (self.after_kib - self.before_kib) / max(self.sessions, 1)

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "-"
        return "PASS" if self.kib_per_session <= self.target else "OVER"


async def open_sessions(port: int, tls, count: int, window: int, timeout: float) -> list[Imap]:
    """Opens `count` sessions (login + SELECT INBOX), at most `window` at
    a time. On any failure closes what it opened and raises."""
    sem = asyncio.Semaphore(window)

    async def one() -> Imap:
        async with sem:
            return await open_session(port, tls, timeout)

    results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    conns = [r for r in results if isinstance(r, Imap)]
    errors = [r for r in results if not isinstance(r, Imap)]
    if errors:
        for c in conns:
            c.close()
        raise BenchError(f"{len(errors)} of {count} sessions failed; first: {type(errors[0]).__name__}: {errors[0]}")
    return conns


async def measure_idle(server, name: str, port: int, tls, count: int, target, args) -> MemResult:
    """Warm-up sessions opened and closed, PSS, N idle sessions, PSS."""
    warm = await open_sessions(port, tls, args.warmup, args.window, args.timeout)
    await asyncio.gather(*(c.logout() for c in warm))
    await asyncio.sleep(args.settle)
    before = server_memory(server)
    t0 = time.monotonic()
    conns = await open_sessions(port, tls, count, args.window, args.timeout)
    seconds = time.monotonic() - t0
    try:
        await asyncio.sleep(args.settle)
        after = server_memory(server)
        # The sessions must still be there: the first 50 answer a NOOP.
        alive = await asyncio.gather(*(c.command("NOOP") for c in conns[:50]), return_exceptions=True)
        bad = [a for a in alive if isinstance(a, BaseException)]
        if bad:
            raise BenchError(f"{name}: idle sessions failed NOOP: {bad[0]}")
    finally:
        for c in conns:
            c.close()
    result = MemResult(name, count, seconds, before["Pss"], after["Pss"], target)
    print(f"  {name}: {count} sessions logged in and SELECTed in {seconds:.1f}s; PSS {before['Pss']} -> "
          f"{after['Pss']} KiB (RSS {before['Rss']} -> {after['Rss']}) over {len(server.measured_pids())} "
          f"processes: {result.kib_per_session:.1f} KiB/session", flush=True)
    return result


# --------------------------------------------------------------------------
# Throughput: clients running a command mix (in client processes)
# --------------------------------------------------------------------------

# name -> how to make the command; n is a random message number (also its UID)
COMMANDS = {
    "UID FETCH 1:* (FLAGS)": lambda n: "UID FETCH 1:* (FLAGS)",
    "FETCH n (BODY.PEEK[HEADER])": lambda n: f"FETCH {n} (BODY.PEEK[HEADER])",
    "FETCH n (BODY.PEEK[])": lambda n: f"FETCH {n} (BODY.PEEK[])",
    "UID STORE n +FLAGS (\\Flagged)": lambda n: f"UID STORE {n} +FLAGS (\\Flagged)",
    "UID STORE n -FLAGS (\\Flagged)": lambda n: f"UID STORE {n} -FLAGS (\\Flagged)",
    "NOOP": lambda n: "NOOP",
    "UID SEARCH UNSEEN": lambda n: "UID SEARCH UNSEEN",
}


def check_reply(name: str, n: int, untagged: list[list[bytes]], messages: list[bytes]) -> str:
    """What is wrong with a command's untagged replies ("" if nothing):
    fetched bytes must be those appended; the flag listing must cover
    every message; SEARCH UNSEEN must list at least the never-seen ones."""
    if name.startswith("FETCH n"):
        want = messages[n - 1] if name.endswith("[])") else header_of(messages[n - 1])
        key = "BODY[]" if name.endswith("[])") else "BODY[HEADER]"
        for resp in untagged:
            if resp[0].startswith(f"* {n} FETCH".encode()):
                got = fetch_items(resp).get(key)
                if got == want:
                    return ""
                if isinstance(got, bytes):
                    return f"{key} of message {n}: {len(got)} bytes, {len(want)} appended"
        return f"no {key} for message {n} in {[show(r, 120) for r in untagged[:3]]}"
    if name == "UID FETCH 1:* (FLAGS)":  # counted, not parsed: 1,000 lines cost the client more than the server
        if len(untagged) < len(messages) or any(b" FETCH " not in r[0] for r in (untagged[0], untagged[-1])):
            return f"{len(untagged)} responses, {len(messages)} FETCHes expected; first: {show(untagged[0]) if untagged else '-'}"
        return ""
    if name == "UID SEARCH UNSEEN":
        found = set()
        for resp in untagged:
            if resp[0].startswith(b"* SEARCH"):
                found.update(int(w) for w in resp[0].split()[2:])
        missing = [i + 1 for i in range(len(messages)) if not is_seen(i) and i + 1 not in found]
        return f"UIDs never seen missing: {missing[:5]}..." if missing else ""
    return ""


@dataclasses.dataclass
class ClientStats:
    """What one client process measured in the timed window."""
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    latency: dict[str, float] = dataclasses.field(default_factory=dict)
    errors: dict[str, int] = dataclasses.field(default_factory=dict)
    first_errors: list[str] = dataclasses.field(default_factory=list)
    cpu: float = 0.0
    wall: float = 0.0
    fatal: str = ""

    def error(self, name: str, text: str) -> None:
        self.errors[name] = self.errors.get(name, 0) + 1
        if len(self.first_errors) < 5:
            self.first_errors.append(text)

    def merge(self, other: "ClientStats") -> None:
        for d, o in ((self.counts, other.counts), (self.latency, other.latency), (self.errors, other.errors)):
            for k, v in o.items():
                d[k] = d.get(k, 0) + v
        self.first_errors.extend(other.first_errors[:5 - len(self.first_errors)])
        self.cpu += other.cpu
        self.wall = max(self.wall, other.wall)
        self.fatal = self.fatal or other.fatal


def process_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def client_loop(conn: Imap, mix: list[str], offset: int, seed: int, start: float, end: float,
                      messages: list[bytes], stats: ClientStats) -> None:
    """Runs the mix in order from `offset` until `end`; counts what completes
    in [start, end]. A NO/BAD or wrong data is counted and the loop goes on;
    a dropped connection ends it."""
    rng = random.Random(seed)
    last_flagged = rng.randint(1, len(messages))
    for k in range(MAX_COMMANDS):
        t0 = time.monotonic()
        if t0 >= end:
            return
        name = mix[(offset + k) % len(mix)]
        if name.startswith("UID STORE n -"):
            n = last_flagged  # unflag what this client flagged: the flags stay as appended
        else:
            n = rng.randint(1, len(messages))
        if name.startswith("UID STORE n +"):
            last_flagged = n
        text = COMMANDS[name](n)
        try:
            tagged, untagged = await conn.command(text, check=False)
        except (ImapError, OSError, asyncio.TimeoutError) as e:
            stats.error(name, f"{text}: {type(e).__name__}: {e}")
            return
        t1 = time.monotonic()
        problem = ""
        if tagged[0].split(b" ", 2)[1:2] != [b"OK"]:
            problem = f"{text} -> {show(tagged)}"
        elif name != "NOOP" and not name.startswith("UID STORE"):
            problem = check_reply(name, n, untagged, messages)
            problem = problem and f"{text}: {problem}"
        if problem:
            stats.error(name, problem)
        elif start <= t0 and t1 <= end:
            stats.counts[name] = stats.counts.get(name, 0) + 1
            stats.latency[name] = stats.latency.get(name, 0.0) + (t1 - t0)


async def run_clients(port: int, clients: list[int], mix: list[str], warmup: float, seconds: float,
                      messages: list[bytes], timeout: float, ready, go, measured) -> ClientStats:
    """One client process: logs its clients in, says ready, waits for go,
    runs them for warmup + seconds, and keeps the sessions open until the
    parent has read the servers' CPU (a Dovecot session's CPU leaves with
    its process); returns what it measured."""
    stats = ClientStats()
    conns = await asyncio.gather(*(open_session(port, None, timeout) for _ in clients), return_exceptions=True)
    failed = [c for c in conns if not isinstance(c, Imap)]
    if failed:
        stats.fatal = f"login/SELECT failed: {type(failed[0]).__name__}: {failed[0]}"
        for c in conns:
            if isinstance(c, Imap):
                c.close()
        return stats
    ready()
    await asyncio.get_running_loop().run_in_executor(None, go)
    start = time.monotonic() + warmup
    end = start + seconds

    async def cpu_window():
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        cpu0, t0 = process_cpu(), time.monotonic()
        await asyncio.sleep(max(0.0, end - time.monotonic()))
        stats.cpu, stats.wall = process_cpu() - cpu0, time.monotonic() - t0

    await asyncio.gather(cpu_window(), *(client_loop(c, mix, i, 1000 + i, start, end, messages, stats)
                                          for c, i in zip(conns, clients)))
    await asyncio.get_running_loop().run_in_executor(None, measured)
    await asyncio.gather(*(c.logout() for c in conns))
    return stats


def client_process(port, clients, mix, warmup, seconds, messages, timeout, barrier, measured, queue) -> None:
    """Entry point of a forked client process: results go back through `queue`."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def ready():  # tell the parent this process's sessions are open
        queue.put(("ready", None))

    def go():  # then wait for every process and the parent
        barrier.wait(timeout + 60)

    try:
        stats = asyncio.run(run_clients(port, clients, mix, warmup, seconds, messages, timeout, ready, go,
                                        lambda: measured.wait(timeout + 60)))
    except Exception as e:  # reported by the parent
        stats = ClientStats(fatal=f"{type(e).__name__}: {e}")
        barrier.abort()
    if stats.fatal:
        barrier.abort()
    queue.put(("done", stats))


@dataclasses.dataclass
class RunResult:
    server: str
    label: str
    stats: ClientStats
    seconds: float
    server_cpu: float
    machine_cpu: float  # every process on the machine, ours and anyone else's

    @property
    def others_cpu(self) -> float:
        """CPU seconds neither the server nor the client used (someone's build)."""
        return max(0.0, self.machine_cpu - self.server_cpu - self.stats.cpu)

    @property
    def total(self) -> int:
        return sum(self.stats.counts.values())

    def rate(self, name: str | None = None) -> float:
        n = self.total if name is None else self.stats.counts.get(name, 0)
        return n / self.seconds


def run_throughput(server, port: int, mix: list[str], label: str, seconds: float, args,
                   messages: list[bytes]) -> RunResult:
    """C clients spread over client processes, running `mix` for warm-up +
    seconds; the servers' CPU is read over the same timed window."""
    ctx = multiprocessing.get_context("fork")
    procs = max(1, min(args.client_procs, args.clients))
    barrier, measured, queue = ctx.Barrier(procs + 1), ctx.Event(), ctx.Queue()
    workers = []
    for p in range(procs):
        clients = list(range(p, args.clients, procs))
        w = ctx.Process(target=client_process, args=(port, clients, mix, args.mix_warmup, seconds, messages,
                                                     args.timeout, barrier, measured, queue), daemon=True)
        w.start()
        workers.append(w)
    stats, done, cpu, machine = ClientStats(), 0, 0.0, 0.0

    def receive(timeout: float) -> str:
        nonlocal done
        kind, value = queue.get(timeout=timeout)
        if kind == "done":
            done += 1
            stats.merge(value)
        return kind

    try:
        # Every process's sessions open (or one failed)...
        ready = 0
        while ready < procs and done == 0:
            ready += receive(args.timeout + 30) == "ready"
        if done == 0:
            barrier.wait(args.timeout)  # ...then all start at once
            time.sleep(args.mix_warmup)
            cpu0, machine0 = server_cpu(server), machine_busy()
            time.sleep(seconds)
            cpu, machine = cpu_used(cpu0, server_cpu(server)), machine_busy() - machine0
            measured.set()
        while done < procs:
            receive(args.timeout + 30)
    except (threading.BrokenBarrierError, EOFError, OSError) as e:
        stats.fatal = stats.fatal or f"{type(e).__name__}: {e}"
    except Exception as e:  # queue.Empty: a client process hung or died
        stats.fatal = stats.fatal or f"no result from a client process ({type(e).__name__})"
    finally:
        measured.set()
        for w in workers:
            w.join(timeout=10)
            if w.is_alive():
                w.terminate()
                w.join(timeout=5)
    if stats.fatal:
        raise BenchError(f"{server.__class__.__name__} {label}: client failed: {stats.fatal}")
    result = RunResult(server.__class__.__name__.lower(), label, stats, seconds, cpu, machine)
    err = sum(stats.errors.values())
    print(f"  {result.server} {label}: {result.total} commands in {seconds:g}s = {result.rate():,.0f}/s; "
          f"CPU: server {cpu:.1f}s, client {stats.cpu:.1f}s ({procs} processes), others {result.others_cpu:.1f}s"
          + (f"; {err} errors, first: {stats.first_errors[0]}" if err else ""), flush=True)
    return result


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def table(rows: list[tuple]) -> None:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


def print_memory(results: list[MemResult]) -> None:
    print("\nmemory per idle SELECTed session (PSS):")
    rows = [("server / mode", "sessions", "PSS before", "PSS after", "KiB/session", "target", "result", "logins/s")]
    for r in results:
        rows.append((r.name, r.sessions, f"{r.before_kib:,}", f"{r.after_kib:,}", f"{r.kib_per_session:.1f}",
                     f"<= {r.target:g}" if r.target else "-", r.verdict, f"{r.sessions / r.seconds:,.0f}"))
    table(rows)


def print_throughput(mix_runs: list[tuple[RunResult, RunResult]], alone: list[tuple[RunResult, RunResult]],
                     mix: list[str]) -> None:
    for g, d in mix_runs:
        print(f"\nthe mix ({g.label}), {ARGS.clients} clients, {g.seconds:.0f}s; "
              "each client cycles through the commands in order:")
        rows = [("command", "gannet/s", "dovecot/s", "ratio", "gannet ms", "dovecot ms")]
        for name in mix:
            rows.append((name, f"{g.rate(name):,.0f}", f"{d.rate(name):,.0f}", "",  # same cycle: same ratio
                         latency_ms(g, name), latency_ms(d, name)))
        rows.append(("total", f"{g.rate():,.0f}", f"{d.rate():,.0f}", ratio(g.rate(), d.rate()), "", ""))
        table(rows)
        verdict = "PASS" if d.rate() and g.rate() / d.rate() >= TARGET_RATIO else "BELOW"
        print(f"gannet/dovecot on the mix: {ratio(g.rate(), d.rate())} (target >= {TARGET_RATIO:g}x): {verdict}")
        print_cpu(g, d)
    if alone:
        print("\neach command alone (every client sends only it; STORE alternates +FLAGS and -FLAGS):")
        rows = [("command", "gannet/s", "dovecot/s", "ratio", "G srv µs", "D srv µs", "D/G µs",
                 "cores G srv/cli/oth", "cores D srv/cli/oth")]
        for g, d in alone:
            rows.append((g.label, f"{g.rate():,.0f}", f"{d.rate():,.0f}", ratio(g.rate(), d.rate()),
                         cpu_per_command(g), cpu_per_command(d), cpu_ratio(g, d), cores(g), cores(d)))
        table(rows)
        print("(srv µs: server CPU per command; cores: server / client / other processes over the run)")


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def latency_ms(r: RunResult, name: str) -> str:
    n = r.stats.counts.get(name, 0)
    return f"{1000 * r.stats.latency.get(name, 0.0) / n:.2f}" if n else "-"


def cpu_ratio(g: RunResult, d: RunResult) -> str:
    if not (g.total and d.total and g.server_cpu):
        return "-"
    return f"{(d.server_cpu / d.total) / (g.server_cpu / g.total):.2f}x"


def cores(r: RunResult) -> str:
    return f"{r.server_cpu / r.seconds:.2f}/{r.stats.cpu / r.seconds:.2f}/{r.others_cpu / r.seconds:.2f}"


def cpu_per_command(r: RunResult) -> str:
    return f"{1e6 * r.server_cpu / r.total:,.0f}" if r.total else "-"


def print_cpu(g: RunResult, d: RunResult) -> None:
    """Who was busy: server CPU per command says what each server costs
    whatever the client did; client cores near its process count would
    mean the client was the limit; "others" is CPU neither used."""
    procs = max(1, min(ARGS.client_procs, ARGS.clients))
    for r in (g, d):
        print(f"  {r.server}: server {r.server_cpu / r.seconds:.2f} cores ({cpu_per_command(r)} µs/command), "
              f"client {r.stats.cpu / r.seconds:.2f} cores (of {procs} processes, "
              f"{1e6 * r.stats.cpu / max(r.total, 1):,.0f} µs/command), "
              f"others {r.others_cpu / r.seconds:.2f} cores, of {os.cpu_count()} CPUs")
    if g.total and d.total and g.server_cpu and d.server_cpu:
        print(f"  server CPU per command, dovecot/gannet: {(d.server_cpu / d.total) / (g.server_cpu / g.total):.2f}x")
    for r in (g, d):
        print(f"  {r.server}: {bottleneck(r)}")


def bottleneck(r: RunResult) -> str:
    """A plain reading of the CPU figures of one run."""
    procs = max(1, min(ARGS.client_procs, ARGS.clients))
    ncpu = os.cpu_count() or 1
    busy = (r.server_cpu + r.stats.cpu + r.others_cpu) / r.seconds
    client = r.stats.cpu / r.seconds
    if client >= 0.9 * min(procs, ncpu):
        return f"client-bound: its {procs} processes were busy {client:.2f} cores"
    if busy >= 0.9 * ncpu:
        who = "the client" if client > r.server_cpu / r.seconds else "the server"
        return (f"CPU-bound: the {ncpu} CPUs were {100 * busy / ncpu:.0f}% busy, {who} using the most "
                f"(others {r.others_cpu / r.seconds:.2f} cores)")
    return (f"not CPU-bound ({100 * busy / ncpu:.0f}% of {ncpu} CPUs busy): the clients wait on replies "
            f"(latency: locks, fsync)")


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

ARGS: argparse.Namespace


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gannet", default=os.environ.get("GANNET", os.path.join(ROOT, "build", "gannet")),
                   help="gannet binary (default build/gannet, or $GANNET); gannetctl is beside it")
    p.add_argument("--workers", type=int, default=2, help="gannet worker_processes, dovecot imap-login processes (2)")
    p.add_argument("--messages", type=int, default=1000, help="messages in INBOX (default 1000)")
    p.add_argument("--sessions", type=int, default=2000, help="idle sessions for Gannet (default 2000; 0 skips)")
    p.add_argument("--dovecot-sessions", type=int, default=300, help="idle sessions for Dovecot (default 300; 0 skips)")
    p.add_argument("--no-tls", action="store_true", help="skip Gannet's idle TLS sessions")
    p.add_argument("--window", type=int, default=64, help="sessions being opened at once (default 64)")
    p.add_argument("--warmup", type=int, default=16, help="sessions opened and closed before the PSS baseline (16)")
    p.add_argument("--settle", type=float, default=1.0, help="seconds to wait before reading memory (1)")
    p.add_argument("--clients", type=int, default=20, help="throughput clients (default 20)")
    p.add_argument("--client-procs", type=int, default=2, help="processes the clients are spread over (default 2)")
    p.add_argument("--seconds", type=float, default=10.0, help="timed seconds of the mix (default 10)")
    p.add_argument("--mix-warmup", type=float, default=1.0, help="untimed seconds before each timed run (1)")
    p.add_argument("--rounds", type=int, default=1, help="mix runs per server, alternating (default 1)")
    p.add_argument("--alone-seconds", type=float, default=3.0,
                   help="timed seconds of each command alone (default 3; 0 skips)")
    p.add_argument("--timeout", type=float, default=120.0, help="bound on any one command or batch of logins (120)")
    p.add_argument("--no-dovecot", action="store_true", help="Gannet only")
    p.add_argument("--keep", action="store_true", help="keep the temp directory (configs, logs, stores)")
    return p.parse_args()


def on_sigterm(*_) -> None:
    print("stopping on SIGTERM", file=sys.stderr)
    sys.exit(143)  # unwinds through the finally blocks: servers stopped, temp dir removed


def ensure_dovecot() -> None:
    """Dovecot must be installed: the comparison is half the point."""
    if not os.path.exists(DOVECOT):
        raise BenchError(f"{DOVECOT} is missing: apt-get install -y dovecot-imapd (or --no-dovecot)")


def setup(servers: dict, messages, args) -> tuple[bool, list[str]]:
    """Fills both INBOXes and probes SEARCH; returns whether the mix
    includes UID SEARCH UNSEEN (only if every server answers it), and the
    wrong answers seen."""
    search_ok, wrong = True, []
    for name, (server, port) in servers.items():
        with server:
            seconds = asyncio.run(populate(port, messages, args.timeout))
            print(f"{name}: {len(messages)} messages APPENDed in {seconds:.1f}s", flush=True)
            ok, note, bad = asyncio.run(probe_search(port, messages, args.timeout))
            print(f"{name}: {note}", flush=True)
            search_ok = search_ok and ok
            if bad:
                wrong.append(f"{name}: {note}")
    return search_ok, wrong


def snapshot_gannet(args, tmp: str, tries: int = 6) -> bool:
    """Copies gannet and gannetctl into the temp dir, so that a rebuild in
    build/ during the run cannot swap the binary between two phases. A
    binary missing or being linked is waited for, a few times."""
    os.makedirs(os.path.join(tmp, "bin"))
    for attempt in range(tries):
        try:
            copies = []
            for name in ("gannet", "gannetctl"):
                src = os.path.join(os.path.dirname(args.gannet), name)
                dst = os.path.join(tmp, "bin", name)
                shutil.copy2(src, dst)
                subprocess.run([dst, "-h"], capture_output=True, timeout=30)  # runs at all: not half-written
                copies.append(dst)
            args.gannet = copies[0]
            return True
        except (OSError, subprocess.SubprocessError) as e:
            print(f"gannet binaries not usable yet ({e}); retrying in 10s", flush=True)
            if attempt + 1 < tries:
                time.sleep(10)
    return False


def main() -> int:
    global ARGS
    args = ARGS = parse_args()
    args.gannet = os.path.abspath(args.gannet)
    signal.signal(signal.SIGTERM, on_sigterm)
    tmp = tempfile.mkdtemp(prefix="gannet-imap-bench-")
    os.chmod(tmp, 0o755)  # Dovecot runs as nobody below it
    try:
        if not snapshot_gannet(args, tmp):
            print(f"error: no {args.gannet} and gannetctl beside it (build them: ninja -C build)", file=sys.stderr)
            return 2
        return run(args, tmp)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"files kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run(args, tmp: str) -> int:
    if not args.no_dovecot:
        ensure_dovecot()
    limit = raise_nofile(max(args.sessions, args.dovecot_sessions) + args.warmup + 512)
    messages = make_messages(args.messages)
    sizes = [len(m) for m in messages]
    print(f"{time.strftime('%Y-%m-%d %H:%M')}: {len(messages)} messages ({min(sizes)}-{max(sizes)} bytes, "
          f"{sum(sizes) // 1024} KiB, {sum(1 for m in messages if b'multipart/' in m)} multipart), "
          f"fd limit {limit}, temp dir {tmp}", flush=True)

    gdir, ddir = os.path.join(tmp, "gannet"), os.path.join(tmp, "dovecot")
    os.makedirs(gdir)
    os.makedirs(ddir)
    cert = make_cert(gdir, "rsa", "rsa")
    gport, gtls_port, dport = free_port(), free_port(), free_port()
    gannet = Gannet(args.gannet, gdir, args.workers, gport, gtls_port, cert)
    gannet.create_user()
    servers = {"gannet": (gannet, gport)}
    if not args.no_dovecot:
        dovecot = Dovecot(ddir, dport, max(args.dovecot_sessions, args.clients), args.workers)
        servers["dovecot"] = (dovecot, dport)
    with_search, wrong = setup(servers, messages, args)
    mix = [n for n in COMMANDS if with_search or n != "UID SEARCH UNSEEN"]
    if not with_search:
        print("the mix leaves out UID SEARCH UNSEEN (not every server answers UID SEARCH)", flush=True)

    # 1. Memory: each mode on a freshly started server.
    memory: list[MemResult] = []
    tls = ssl.create_default_context(cafile=cert[0])
    modes = [("gannet plaintext", gannet, gport, None, args.sessions, TARGET_KIB["plaintext"])]
    if not args.no_tls:
        modes.append(("gannet TLS", gannet, gtls_port, tls, args.sessions, TARGET_KIB["tls"]))
    if not args.no_dovecot:
        modes.append(("dovecot plaintext", dovecot, dport, None, args.dovecot_sessions, None))
    print("\nmemory per idle SELECTed session:", flush=True)
    for name, server, port, ctx, count, target in modes:
        if count > 0:
            with server:
                memory.append(asyncio.run(measure_idle(server, name, port, ctx, count, target, args)))

    # 2. Throughput: both servers up; each measurement is a pair, Gannet and
    # Dovecot back to back (in turn first), so that whatever else the machine
    # does at the time weighs on both.
    print(f"\nthroughput: {args.clients} clients over {args.client_procs} processes, "
          f"mix of {len(mix)} commands", flush=True)
    mix_runs, alone = [], []
    if not args.no_dovecot:
        groups = [[n] for n in mix if not n.startswith("UID STORE")] + [[n for n in mix if n.startswith("UID STORE")]]
        with contextlib.ExitStack() as up:
            for server, _ in servers.values():
                up.enter_context(server)
            for r in range(args.rounds):
                mix_runs.append(run_pair(servers, mix, f"mix round {r + 1}", args.seconds, r, args, messages))
            if args.alone_seconds > 0:
                for k, group in enumerate(groups):
                    alone.append(run_pair(servers, group, label_of(group), args.alone_seconds, k, args, messages))
    else:
        with gannet:
            run_throughput(gannet, gport, mix, "mix", args.seconds, args, messages)

    print_memory(memory)
    if mix_runs:
        print_throughput(mix_runs, alone, mix)
    errors = sum(sum(r.stats.errors.values()) for pair in mix_runs + alone for r in pair)
    for w in wrong:
        print(f"\nwrong answer: {w}")
    if errors:
        print(f"\n{errors} commands failed or returned wrong data; first ones:")
        for pair in mix_runs + alone:
            for r in pair:
                for e in r.stats.first_errors[:3]:
                    print(f"  {r.server} {r.label}: {e}")
        return 1
    return 1 if wrong else 0


def run_pair(servers: dict, mix: list[str], label: str, seconds: float, turn: int, args,
             messages: list[bytes]) -> tuple[RunResult, RunResult]:
    """The same run on Gannet and on Dovecot, one after the other; which
    goes first alternates with `turn`. Returns (gannet, dovecot)."""
    names = ["gannet", "dovecot"] if turn % 2 == 0 else ["dovecot", "gannet"]
    runs = {}
    for name in names:
        server, port = servers[name]
        runs[name] = run_throughput(server, port, mix, label, seconds, args, messages)
    return runs["gannet"], runs["dovecot"]


def label_of(group: list[str]) -> str:
    return "UID STORE n +/-FLAGS (\\Flagged)" if len(group) > 1 else group[0]


if __name__ == "__main__":
    sys.exit(main())
