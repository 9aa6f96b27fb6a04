// dkim_bench: what DKIM costs one core, with the DKIM module's own code:
// signatures and verifications per second for RSA-2048 and Ed25519, on a
// 4 KiB and a 1 MiB message (body hash, header canonicalization and the
// public-key operation, as the module does each message), plus the bare
// crypto alone (sign or verify a 32-octet digest) as the ceiling. One
// thread; loopback and disk are not involved.
//
//   dkim_bench [SECONDS_PER_CASE]
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../modules/dkim/dkim_canon.h"
#include "../modules/dkim/dkim_sign.h"
#include "../modules/dkim/dkim_tags.h"
#include "../modules/dkim/dkim_verify.h"
#include "base64.h"
#include "dkim_keys.h"

using namespace gannet;
using namespace gannet::dkim;
using Clock = std::chrono::steady_clock;

namespace {

std::string message(size_t size) {
  std::string m =
      "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: benchmark\r\n"
      "Date: Tue, 08 Dec 2026 10:00:00 +0000\r\nMessage-ID: <bench@example.org>\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n\r\n";
  for (int i = 0; m.size() < size; i++) m += "line " + std::to_string(i) + " of a message that is signed and checked\r\n";
  return m;
}

// What the module does for one outgoing message: body hash, fields, signature.
std::string sign_one(const std::string& m, const EVP_PKEY* key) {
  size_t end = *header_end(m);
  auto fields = split_header(std::string_view(m).substr(0, end));
  BodyHasher h(Canon::relaxed);
  h.update(std::string_view(m).substr(end + 2));
  SignParams p;
  p.domain = "example.org";
  p.selector = "s1";
  p.key = key;
  p.names = names_to_sign(fields, {"from", "to", "subject", "date", "message-id", "mime-version", "content-type"},
                          {"from", "to", "subject"});
  p.now = 1796700000;
  return "DKIM-Signature: " + signature(p, fields, h.finish()) + "\r\n" + m;
}

// What the module does for one incoming signature once its key has come.
bool verify_one(const std::string& m, const KeyRecord& key) {
  size_t end = *header_end(m);
  auto fields = split_header(std::string_view(m).substr(0, end));
  auto sig = std::get<Signature>(parse_signature(fields[0].raw.substr(fields[0].raw.find(':') + 1)));
  BodyHasher h(sig.body_canon, sig.length);
  h.update(std::string_view(m).substr(end + 2));
  auto d = h.finish();
  return verify(fields, fields[0], sig, key, std::string(reinterpret_cast<const char*>(d.data()), d.size()), 1796700000)
             .result == Result::pass;
}

template <class F>
double rate(double seconds, F op) {
  long n = 0;
  auto start = Clock::now();
  auto stop = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (Clock::now() < stop) {
    for (int i = 0; i < 4; i++) op();
    n += 4;
  }
  return n / std::chrono::duration<double>(Clock::now() - start).count();
}

KeyRecord key_record(const EVP_PKEY* key) {
  std::string txt = dkim_txt_value(key);
  return std::get<KeyRecord>(parse_key_record(txt));
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 2.0;
  struct Algo {
    const char* name;
    bssl::UniquePtr<EVP_PKEY> key;
  };
  Algo algos[] = {{"rsa-2048", dkim_generate(DkimAlgo::rsa2048)}, {"ed25519", dkim_generate(DkimAlgo::ed25519)}};
  printf("case\tsign/s\tverify/s\n");
  for (auto& a : algos) {
    std::string digest(32, 'x');
    printf("%s bare crypto (32 octets)\t%.0f\t-\n", a.name, rate(seconds, [&] { sign_data(a.key.get(), digest); }));
    KeyRecord k = key_record(a.key.get());
    for (size_t size : {size_t{4096}, size_t{1} << 20}) {
      std::string m = message(size);
      std::string s = sign_one(m, a.key.get());
      if (!verify_one(s, k)) {
        fprintf(stderr, "dkim_bench: %s does not verify its own signature\n", a.name);
        return 1;
      }
      double sr = rate(seconds, [&] { sign_one(m, a.key.get()); });
      double vr = rate(seconds, [&] { verify_one(s, k); });
      printf("%s %zu KiB message\t%.0f\t%.0f\n", a.name, size >> 10, sr, vr);
    }
  }
  // The body hash alone, for scale: what a 1 MiB message costs before any key is used.
  std::string big = message(1 << 20);
  double hr = rate(seconds, [&] {
    BodyHasher h(Canon::relaxed);
    h.update(big);
    h.finish();
  });
  printf("relaxed body hash, 1 MiB\t%.0f/s\t(%.0f MiB/s)\n", hr, hr);
  return 0;
}
