"""A SCRAM-SHA-256 client (RFC 5802, RFC 7677) made of hashlib and hmac only,
so the server is checked against code written apart from it."""
import base64
import hashlib
import hmac
import secrets


def _hmac(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


def _b64(data):
    return base64.b64encode(data).decode()


def saslname(name):
    return name.replace("=", "=3D").replace(",", "=2C")


class ScramClient:
    """One exchange: first(), final(server_first), then check(server_final)."""

    def __init__(self, user, password, authzid=""):
        self.password = password.encode()
        self.nonce = _b64(secrets.token_bytes(18))
        self.gs2 = "n," + ("a=" + saslname(authzid) if authzid else "") + ","
        self.first_bare = f"n={saslname(user)},r={self.nonce}"
        self.salt = self.iterations = self.server_signature = None

    def first(self):
        return self.gs2 + self.first_bare

    def final(self, server_first):
        attrs = dict(a.split("=", 1) for a in server_first.split(","))
        nonce = attrs["r"]
        if not nonce.startswith(self.nonce) or nonce == self.nonce:
            raise ValueError("the server nonce must extend ours: " + server_first)
        self.salt, self.iterations = base64.b64decode(attrs["s"], validate=True), int(attrs["i"])
        salted = hashlib.pbkdf2_hmac("sha256", self.password, self.salt, self.iterations)
        client_key = _hmac(salted, b"Client Key")
        without_proof = f"c={_b64(self.gs2.encode())},r={nonce}"
        auth_message = f"{self.first_bare},{server_first},{without_proof}".encode()
        signature = _hmac(hashlib.sha256(client_key).digest(), auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        self.server_signature = _hmac(_hmac(salted, b"Server Key"), auth_message)
        return f"{without_proof},p={_b64(proof)}"

    def check(self, server_final):
        """Whether the server proved it knows our keys (RFC 5802 3)."""
        return self.server_signature is not None and hmac.compare_digest(
            server_final.encode(), ("v=" + _b64(self.server_signature)).encode())

    def authobject(self):
        """For smtplib.SMTP.auth: called with None, then with each decoded
        334 challenge; the answer to the server-final is an empty line."""
        self.verified = False

        def step(challenge=None):
            if not challenge:  # None, or the empty 334 without an initial response
                return self.first()
            text = challenge.decode()
            if text.startswith("v="):
                if not self.check(text):
                    raise ValueError("bad server signature: " + text)
                self.verified = True
                return ""
            return self.final(text)

        return step
