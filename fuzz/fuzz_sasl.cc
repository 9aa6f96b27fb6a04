// SASL decoders on arbitrary input: base64 both ways, PLAIN and LOGIN
// (raw and base64-wrapped, so the field checks are reached), and the SCRAM
// server. The input's first line is a client-first message, the rest a
// client-final one. Whenever a client-first is accepted, an honest client
// computing its proof from RFC 5802's formulas must then succeed.
#include <openssl/hmac.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "auth/sasl.h"

using namespace gannet::sasl;

namespace {

void check(bool ok) {
  if (!ok) abort();
}

const std::string kSalt = "fuzz salt";
constexpr uint32_t kIterations = 4096;

const ScramKeys& keys() {
  static const ScramKeys k = scram_sha256_keys("pencil", kSalt, kIterations);
  return k;
}

std::string hmac(const ScramKey& key, std::string_view msg) {
  uint8_t out[32];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), key.size(), reinterpret_cast<const uint8_t*>(msg.data()), msg.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

void check_base64(std::string_view in) {
  if (auto decoded = base64_decode(in)) {
    check(decoded->size() <= kMaxResponse);
    check(base64_decode(base64_encode(*decoded)) == *decoded);
  }
  std::string encoded = base64_encode(in);
  check(encoded.size() % 4 == 0 && encoded.size() >= in.size());
  check(base64_decode(encoded, in.size()) == std::string(in));
  if (in.size() > 0) check(!base64_decode(encoded, in.size() - 1));
}

void check_plain(std::string_view b64) {
  auto c = decode_plain(b64);
  if (!c) return;
  check(!c->authcid.empty() && !c->password.empty());
  check(c->authzid.size() <= kMaxField && c->authcid.size() <= kMaxField && c->password.size() <= kMaxField);
  for (auto* f : {&c->authzid, &c->authcid, &c->password}) check(f->find('\0') == std::string::npos);
  auto again = decode_plain(base64_encode(c->authzid + '\0' + c->authcid + '\0' + c->password));
  check(again && again->authzid == c->authzid && again->authcid == c->authcid && again->password == c->password);
}

void check_login(std::string_view b64) {
  auto s = decode_login(b64);
  if (!s) return;
  check(!s->empty() && s->size() <= kMaxField && s->find('\0') == std::string::npos);
  check(decode_login(base64_encode(*s)) == *s);
}

void check_scram(std::string_view first, std::string_view final) {
  ScramServer s;
  if (s.client_first(first)) {
    check(!s.username().empty() && s.username().size() <= kMaxField);
    check(s.state() == ScramServer::State::server_first);
    std::string server_first = s.server_first(kSalt, kIterations, "snonce");
    check(server_first.starts_with("r=") && server_first.find(",s=") != std::string::npos);
    if (s.client_final(final)) s.verify(keys().stored_key);  // a fuzzed proof cannot be right; it must not crash

    // The honest client. Its gs2 header ends at the second comma (an
    // authzid cannot hold one), the nonce is what the server sent.
    size_t header_end = first.find(',', first.find(',') + 1) + 1;
    std::string_view header = first.substr(0, header_end), bare = first.substr(header_end);
    std::string nonce = server_first.substr(2, server_first.find(',') - 2);
    std::string without_proof = "c=" + base64_encode(header) + ",r=" + nonce;
    std::string auth_message = std::string(bare) + "," + server_first + "," + without_proof;
    std::string proof = hmac(keys().salted_password, "Client Key");
    std::string signature = hmac(keys().stored_key, auth_message);
    for (size_t i = 0; i < proof.size(); i++) proof[i] ^= signature[i];

    ScramServer honest;
    check(honest.client_first(first));
    check(honest.server_first(kSalt, kIterations, "snonce") == server_first);
    check(honest.client_final(without_proof + ",p=" + base64_encode(proof)));
    check(honest.verify(keys().stored_key));
    std::string v = "v=" + base64_encode(hmac(keys().server_key, auth_message));
    check(honest.server_final(keys().server_key) == v);
    check(honest.state() == ScramServer::State::done);
  } else {
    check(s.state() == ScramServer::State::failed);
  }

  // The client-final parser on its own, after a fixed first round.
  ScramServer t;
  check(t.client_first("n,,n=user,r=cnonce"));
  check(!t.server_first(kSalt, kIterations, "snonce").empty());
  if (t.client_final(final)) {
    check(t.state() == ScramServer::State::verify);
    check(!t.verify(keys().stored_key) || final.find(",p=") != std::string_view::npos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  keys();  // the PBKDF2 rounds, once
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return -1;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  check_base64(in);
  check_plain(in);
  check_plain(base64_encode(in));
  check_login(in);
  check_login(base64_encode(in));
  size_t nl = in.find('\n');
  std::string_view first = in.substr(0, nl), final = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  check_scram(first, final);
  return 0;
}
