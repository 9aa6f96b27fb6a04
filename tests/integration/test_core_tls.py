"""TLS: implicit TLS, STARTTLS injection, SNI and key type, protocols,
resumption, certificates re-read on reload."""
import os
import signal
import socket
import ssl

from harness import Client, GannetTest, free_port, insecure_context, main, make_cert, wait_for


def peer_cn(client):
    der = client.sock.getpeercert(binary_form=True)
    # Good enough to tell our test certificates apart: the CN is in the DER.
    return der


class TlsTest(GannetTest):
    def setUp(self):
        super().setUp()
        import tempfile
        self.certdir = tempfile.mkdtemp(prefix="gannet-certs-")
        self.rsa = make_cert(self.certdir, "rsa", "mail.a.test", "rsa", ["mail.a.test"])
        self.ec = make_cert(self.certdir, "ec", "mail.a.test", "ec", ["mail.a.test"])
        self.other = make_cert(self.certdir, "other", "mx.b.test", "rsa", ["mx.b.test", "*.b.test"])

    def conf(self, port, tls_port, extra=""):
        pairs = "".join(f"ssl_certificate {c}; ssl_certificate_key {k};\n" for c, k in (self.rsa, self.ec, self.other))
        return f"""
mail {{
    {pairs}
    {extra}
    server {{ listen 127.0.0.1:{port}; protocol echo; }}
    server {{ listen 127.0.0.1:{tls_port} ssl; protocol echo; echo_banner "tls"; }}
}}
"""

    def start(self, extra=""):
        self.port, self.tls_port = free_port(), free_port()
        return self.gannet(self.conf(self.port, self.tls_port, extra))

    def cert_der(self, path):
        return ssl.PEM_cert_to_DER_cert(open(path).read())

    def test_implicit_tls(self):
        self.start()
        c = Client(self.tls_port, tls=True)
        self.assertEqual(c.line(), "+OK tls")
        self.assertEqual(c.cmd("TLS"), "+yes")
        self.assertEqual(c.cmd("ECHO over tls"), "+over tls")

    def test_starttls_discards_pipelined_plaintext(self):
        self.start()
        c = Client(self.port)
        c.line()
        self.assertEqual(c.cmd("TLS"), "+no")
        # CVE-2011-0411: the injected ECHO must never be executed.
        c.send("STARTTLS\r\nECHO injected\r\n")
        self.assertEqual(c.line(), "+OK begin TLS")
        self.assertEqual(c.buf, b"")
        c.sock = insecure_context().wrap_socket(c.sock, server_hostname="mail.a.test")
        self.assertEqual(c.cmd("TLS"), "+yes")
        self.assertEqual(c.cmd("PING"), "+PONG", "the injected line must not have been answered")

    def test_starttls_twice_is_refused(self):
        self.start()
        c = Client(self.tls_port, tls=True)
        c.line()
        self.assertEqual(c.cmd("STARTTLS"), "-ERR TLS not available")

    def test_sni_and_key_type_pick_the_certificate(self):
        self.start()
        # By name.
        c = Client(self.tls_port, tls=True, server_hostname="mx.b.test")
        self.assertEqual(c.sock.getpeercert(binary_form=True), self.cert_der(self.other[0]))
        c = Client(self.tls_port, tls=True, server_hostname="imap.b.test")  # wildcard SAN
        self.assertEqual(c.sock.getpeercert(binary_form=True), self.cert_der(self.other[0]))
        # Same name, two key types: ECDSA when the client takes it, RSA otherwise.
        c = Client(self.tls_port, tls=True, server_hostname="mail.a.test")
        self.assertEqual(c.sock.getpeercert(binary_form=True), self.cert_der(self.ec[0]))
        rsa_only = insecure_context()
        rsa_only.maximum_version = ssl.TLSVersion.TLSv1_2
        rsa_only.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256")
        c = Client(self.tls_port, tls=True, server_hostname="mail.a.test", context=rsa_only)
        self.assertEqual(c.sock.getpeercert(binary_form=True), self.cert_der(self.rsa[0]))
        self.assertEqual(c.line(), "+OK tls")

    def test_ssl_protocols(self):
        self.start("ssl_protocols TLSv1.3;")
        old = insecure_context()
        old.maximum_version = ssl.TLSVersion.TLSv1_2
        with self.assertRaises((ssl.SSLError, ConnectionResetError)):
            Client(self.tls_port, tls=True, context=old).line()
        c = Client(self.tls_port, tls=True)
        self.assertEqual(c.sock.version(), "TLSv1.3")

    def test_session_resumption(self):
        self.start()
        ctx = insecure_context()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # a session is ready right after the handshake
        first = Client(self.tls_port, tls=True, context=ctx)
        first.line()
        session = first.sock.session
        first.cmd("QUIT")
        raw = socket.create_connection(("127.0.0.1", self.tls_port), timeout=10)
        again = ctx.wrap_socket(raw, server_hostname="localhost", session=session)
        self.assertTrue(again.session_reused)
        again.close()

    def test_handshake_garbage_is_dropped(self):
        self.start()
        s = socket.create_connection(("127.0.0.1", self.tls_port), timeout=10)
        s.sendall(b"HELO this is not tls\r\n" * 10)
        self.assertIn(s.recv(4096)[:1], (b"", b"\x15"))  # closed, or a TLS alert
        self.assertEqual(Client(self.tls_port, tls=True).line(), "+OK tls", "the worker survived")

    def test_certificates_reread_on_reload(self):
        g = self.start()
        before = Client(self.tls_port, tls=True, server_hostname="mx.b.test").sock.getpeercert(binary_form=True)
        make_cert(self.certdir, "other", "mx.b.test", "rsa", ["mx.b.test"])  # same files, new certificate
        g.signal(signal.SIGHUP)
        wait_for(lambda: "generation 1" in g.log(), what="reload")
        # The old workers accept until they have seen the new ones start: a
        # connection may still reach one, or be closed by one leaving.
        def peer_cert():
            try:
                return Client(self.tls_port, tls=True, server_hostname="mx.b.test").sock.getpeercert(binary_form=True)
            except (ssl.SSLError, OSError):
                return None
        wait_for(lambda: peer_cert() == self.cert_der(self.other[0]), what="the new certificate")
        self.assertNotEqual(before, self.cert_der(self.other[0]))


if __name__ == "__main__":
    main()
