#!/usr/bin/env python3
"""DKIM signing and verifying per second on one core: Gannet's DKIM code
(build/bench/dkim_bench) against dkimpy (Debian's python3-dkim, for scale),
RSA-2048 and Ed25519, on a 4 KiB and a 1 MiB message, in one run. The bare
crypto (sign a 32-octet digest) is printed too: the most any signer gets.

A benchmark, not a test: exits 0 whatever the numbers."""
import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "build", "bench", "dkim_bench")
SYSTEM_PYTHON = "/usr/bin/python3"

# Run by the system's python3, which has dkimpy: sign and verify the same
# kind of message as dkim_bench, for `seconds` each; prints "case\tsign/s\tverify/s".
DKIMPY = r'''
import sys, time, dkim, base64, subprocess, tempfile, os
seconds = float(sys.argv[1])
def message(size):
    m = (b"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: benchmark\r\n"
         b"Date: Tue, 08 Dec 2026 10:00:00 +0000\r\nMessage-ID: <bench@example.org>\r\n\r\n")
    i = 0
    while len(m) < size:
        m += b"line %d of a message that is signed and checked\r\n" % i
        i += 1
    return m
def rate(op):
    n, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < seconds:
        op(); n += 1
    return n / (time.monotonic() - t0)
d = tempfile.mkdtemp()
rsa = os.path.join(d, "rsa.pem")
subprocess.run(["openssl", "genrsa", "-out", rsa, "2048"], check=True, capture_output=True)
spki = subprocess.run(["openssl", "rsa", "-in", rsa, "-pubout", "-outform", "DER"], check=True, capture_output=True).stdout
subprocess.run(["dknewkey", "--ktype", "ed25519", os.path.join(d, "ed")], check=True, capture_output=True)
keys = {"rsa-2048": (open(rsa, "rb").read(), b"rsa-sha256", b"v=DKIM1; k=rsa; p=" + base64.b64encode(spki)),
        "ed25519": (open(os.path.join(d, "ed.key"), "rb").read().strip(), b"ed25519-sha256",
                    open(os.path.join(d, "ed.dns"), "rb").read())}
for name, (priv, alg, record) in keys.items():
    if name == "ed25519":
        import re
        record = re.search(rb"v=DKIM1[^\"]*", record.replace(b'" "', b"")).group(0).strip()
    for size in (4096, 1 << 20):
        m = message(size)
        sign = lambda: dkim.sign(m, b"s1", b"example.org", priv, signature_algorithm=alg,
                                 canonicalize=(b"relaxed", b"relaxed"))
        signed = sign() + m  # dkim.sign gives the DKIM-Signature field only
        dns = lambda qname, timeout=5: record
        assert dkim.verify(signed, dnsfunc=dns), name
        print("%s %d KiB message\t%.0f\t%.0f" % (name, size >> 10, rate(sign), rate(lambda: dkim.verify(signed, dnsfunc=dns))))
'''


def table(text):
    rows = {}
    for line in text.strip().splitlines()[1:] if text.startswith("case") else text.strip().splitlines():
        parts = line.split("\t")
        rows[parts[0]] = parts[1:]
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="seconds per case (default 2)")
    args = ap.parse_args()
    if not os.path.exists(BENCH):
        sys.exit(f"{BENCH} is missing: ninja -C build")
    ours = subprocess.run([BENCH, str(args.seconds)], capture_output=True, text=True, check=True).stdout
    print("gannet (one core):\n" + ours)
    r = subprocess.run([SYSTEM_PYTHON, "-c", DKIMPY, str(args.seconds)], capture_output=True, text=True)
    if r.returncode != 0:
        print("dkimpy: skipped (" + (r.stderr.strip().splitlines() or ["not installed"])[-1] + ")")
        return 0
    print("dkimpy (one core):\ncase\tsign/s\tverify/s\n" + r.stdout)
    g, d = table(ours), table(r.stdout)
    print("gannet/dkimpy:")
    for case in d:
        if case in g:
            s = float(g[case][0]) / float(d[case][0])
            v = float(g[case][1]) / float(d[case][1])
            print(f"  {case}: signing {s:.1f}x, verifying {v:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
