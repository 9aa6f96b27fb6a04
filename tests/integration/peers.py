"""Fake remote peers on loopback for the delivery agent's tests: an SMTP
sink whose replies a test scripts, and a tiny DNS server."""
import socket
import socketserver
import struct
import threading


class SmtpSink:
    """Accepts SMTP; rcpt_reply(attempt, address) picks each RCPT's reply
    (attempt counts connections from 1); stores what it accepted. With dsn,
    it advertises DSN (RFC 3461), with smtputf8 SMTPUTF8 (RFC 6531); it
    records every MAIL and RCPT line."""

    def __init__(self, rcpt_reply=None, starttls=False, dsn=False, smtputf8=False):
        self.rcpt_reply = rcpt_reply or (lambda attempt, rcpt: "250 2.1.5 Ok")
        self.attempts = 0
        self.messages = []  # (sender, [rcpts], data)
        self.commands = []  # "MAIL FROM:<...> ...", "RCPT TO:<...> ..." as received (UTF-8)
        ehlo = (b"250-sink.test\r\n250-8BITMIME\r\n" + (b"250-DSN\r\n" if dsn else b"") +
                (b"250-SMTPUTF8\r\n" if smtputf8 else b"") + b"250 SIZE 10000000\r\n")
        self.lock = threading.Lock()
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                with sink.lock:
                    sink.attempts += 1
                    attempt = sink.attempts
                self.wfile.write(b"220 sink.test ESMTP\r\n")
                sender, rcpts, accepted = None, [], []
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    cmd = line.decode(errors="replace").rstrip("\r\n")
                    verb = cmd[:4].upper()
                    if verb in ("MAIL", "RCPT"):
                        with sink.lock:
                            sink.commands.append(cmd)
                    if verb == "EHLO":
                        self.wfile.write(ehlo)
                    elif verb == "HELO":
                        self.wfile.write(b"250 sink.test\r\n")
                    elif verb == "MAIL":
                        sender, rcpts, accepted = cmd[10:].split(">")[0].lstrip("<"), [], []
                        self.wfile.write(b"250 2.1.0 Ok\r\n")
                    elif verb == "RCPT":
                        rcpt = cmd[8:].split(">")[0].lstrip("<")
                        reply = sink.rcpt_reply(attempt, rcpt)
                        if reply.startswith("2"):
                            accepted.append(rcpt)
                        self.wfile.write(reply.encode() + b"\r\n")
                    elif verb == "DATA":
                        self.wfile.write(b"354 go\r\n")
                        data = b""
                        while True:
                            l = self.rfile.readline()
                            if not l or l == b".\r\n":
                                break
                            data += l[1:] if l.startswith(b"..") else l
                        with sink.lock:
                            sink.messages.append((sender, accepted, data))
                        self.wfile.write(b"250 2.0.0 Ok: queued\r\n")
                    elif verb == "QUIT":
                        self.wfile.write(b"221 2.0.0 Bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 2.0.0 Ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class DnsServer:
    """Answers MX, A and TXT queries from a table; NXDOMAIN for unknown names.
    records: {name: {"MX": [(pref, host)], "A": ["127.0.0.1"], "TXT": ["v=..."]}}
    (a TXT value is sent as strings of at most 255 octets); a name
    with {} exists without records (NODATA for every type), and
    {"RCODE": 2} answers every query for it with that rcode (SERVFAIL)."""

    def __init__(self, records):
        self.records = {k.lower().rstrip("."): v for k, v in records.items()}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.queries = []  # (name, qtype) as asked, for tests of caching
        threading.Thread(target=self.serve, daemon=True).start()

    @staticmethod
    def encode_name(name):
        out = b""
        for label in name.rstrip(".").split("."):
            if label:
                out += bytes([len(label)]) + label.encode()
        return out + b"\0"

    def serve(self):
        while self.running:
            try:
                data, peer = self.sock.recvfrom(512)
            except OSError:
                return
            qid, flags, qd = struct.unpack(">HHH", data[:6])
            pos, labels = 12, []
            while data[pos]:
                labels.append(data[pos + 1:pos + 1 + data[pos]].decode())
                pos += 1 + data[pos]
            qtype = struct.unpack(">H", data[pos + 1:pos + 3])[0]
            question = data[12:pos + 5]
            name = ".".join(labels).lower()
            self.queries.append((name, qtype))
            entry = self.records.get(name)
            answers = []
            if entry is not None:
                if qtype == 15:
                    for pref, host in entry.get("MX", []):
                        rdata = struct.pack(">H", pref) + self.encode_name(host)
                        answers.append(struct.pack(">HHHIH", 0xC00C, 15, 1, 60, len(rdata)) + rdata)
                elif qtype == 16:
                    for text in entry.get("TXT", []):
                        raw = text.encode()
                        rdata = b"".join(bytes([len(raw[i:i + 255])]) + raw[i:i + 255] for i in range(0, len(raw), 255))
                        answers.append(struct.pack(">HHHIH", 0xC00C, 16, 1, 60, len(rdata)) + rdata)
                elif qtype == 1:
                    for a in entry.get("A", []):
                        rdata = socket.inet_aton(a)
                        answers.append(struct.pack(">HHHIH", 0xC00C, 1, 1, 60, 4) + rdata)
            rcode = 3 if entry is None else entry.get("RCODE", 0)
            header = struct.pack(">HHHHHH", qid, 0x8180 | rcode, 1, len(answers), 0, 0)
            try:
                self.sock.sendto(header + question + b"".join(answers), peer)
            except OSError:
                return  # stopped

    def stop(self):
        self.running = False
        self.sock.close()
