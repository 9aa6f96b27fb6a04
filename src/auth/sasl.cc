// SASL decoders for SMTP AUTH: PLAIN (RFC 4616), LOGIN, and the server
// side of SCRAM-SHA-256 (RFC 5802, RFC 7677).
#include "sasl.h"

#include <openssl/digest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>

#include "utf8.h"

namespace gannet::sasl {

namespace {

const uint8_t* bytes(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }
std::string_view text(const ScramKey& k) { return {reinterpret_cast<const char*>(k.data()), k.size()}; }

ScramKey hmac(const ScramKey& key, std::string_view msg) {
  ScramKey out;
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), key.size(), bytes(msg), msg.size(), out.data(), &len);
  return out;
}

ScramKey sha256(const ScramKey& in) {
  ScramKey out;
  SHA256(in.data(), in.size(), out.data());
  return out;
}

// A SASL field: 1 to kMaxField octets of UTF-8 without NUL.
bool valid_field(std::string_view s) {
  return !s.empty() && s.size() <= kMaxField && s.find('\0') == std::string_view::npos && valid_utf8(s);
}

// --- SCRAM's attribute syntax (RFC 5802 7) ---

// printable = %x21-2B / %x2D-7E: the characters of a nonce.
bool printable(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x21 && c <= 0x7e && c != ','; });
}

// saslname = 1*(value-safe-char / "=2C" / "=3D"): ',' and '=' only as
// escapes, so a name can sit between commas.
std::optional<std::string> decode_saslname(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == ',' || s[i] == '\0') return std::nullopt;
    if (s[i] != '=') {
      out += s[i];
      continue;
    }
    std::string_view esc = s.substr(i, 3);
    if (esc == "=2C") out += ',';
    else if (esc == "=3D") out += '=';
    else return std::nullopt;
    i += 2;
  }
  if (!valid_field(out)) return std::nullopt;
  return out;
}

// The "x=value" attributes of a comma-separated message, in order.
// value-char is any UTF-8 but NUL and ','; every attribute has a value, so
// a trailing ',' is an error.
struct Attrs {
  std::string_view rest;
  bool more = true;  // false once the last attribute is taken

  bool next(char& name, std::string_view& value) {
    if (!more) return false;
    size_t comma = rest.find(',');
    std::string_view attr = rest.substr(0, comma);
    if (comma == std::string_view::npos) more = false;
    else rest.remove_prefix(comma + 1);
    if (attr.size() < 3 || attr[1] != '=') return false;
    name = attr[0];
    value = attr.substr(2);
    if (!((name >= 'a' && name <= 'z') || (name >= 'A' && name <= 'Z'))) return false;
    return value.find('\0') == std::string_view::npos && valid_utf8(value);
  }

  // Optional extensions: syntax only, their meaning is unknown to us and
  // RFC 5802 5.1 says to ignore them.
  bool skip_extensions() {
    char name;
    std::string_view value;
    while (more)
      if (!next(name, value)) return false;
    return true;
  }
};

}  // namespace

// --- PLAIN and LOGIN ---

std::optional<PlainCredentials> decode_plain(std::string_view b64) {
  auto msg = base64_decode(b64, 3 * kMaxField + 2);
  if (!msg) return std::nullopt;
  std::string_view m = *msg;
  size_t a = m.find('\0');
  if (a == std::string_view::npos) return std::nullopt;
  size_t b = m.find('\0', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  PlainCredentials c{std::string(m.substr(0, a)), std::string(m.substr(a + 1, b - a - 1)), std::string(m.substr(b + 1))};
  // valid_field refuses a third NUL, inside the password.
  if ((!c.authzid.empty() && !valid_field(c.authzid)) || !valid_field(c.authcid) || !valid_field(c.password))
    return std::nullopt;
  return c;
}

std::optional<std::string> decode_login(std::string_view b64) {
  auto s = base64_decode(b64, kMaxField);
  if (!s || !valid_field(*s)) return std::nullopt;
  return s;
}

// --- SCRAM-SHA-256 ---

ScramKeys scram_sha256_keys(std::string_view password, std::string_view salt, uint32_t iterations) {
  ScramKeys k;
  PKCS5_PBKDF2_HMAC(password.data(), password.size(), bytes(salt), salt.size(), iterations, EVP_sha256(),
                    k.salted_password.size(), k.salted_password.data());
  k.stored_key = sha256(hmac(k.salted_password, "Client Key"));
  k.server_key = hmac(k.salted_password, "Server Key");
  return k;
}

std::string scram_salt() {
  std::string salt(kScramSaltLen, '\0');
  RAND_bytes(reinterpret_cast<uint8_t*>(salt.data()), salt.size());
  return salt;
}

std::string scram_nonce() {
  uint8_t raw[18];
  RAND_bytes(raw, sizeof raw);
  return base64_encode({reinterpret_cast<const char*>(raw), sizeof raw});
}

bool ScramServer::fail() {
  state_ = State::failed;
  return false;
}

// client-first-message = gs2-header client-first-message-bare
// gs2-header = gs2-cbind-flag "," [ authzid ] ","
// client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
bool ScramServer::client_first(std::string_view msg) {
  if (state_ != State::client_first || msg.size() > kMaxScramClientFirst) return fail();
  // gs2-cbind-flag: "p=" asks for channel binding, which we do not offer.
  if (msg.size() < 3 || (msg[0] != 'n' && msg[0] != 'y') || msg[1] != ',') return fail();
  std::string_view rest = msg.substr(2);
  if (!rest.empty() && rest[0] != ',') {
    size_t comma = rest.find(',');
    if (comma == std::string_view::npos || !rest.starts_with("a=")) return fail();
    auto authzid = decode_saslname(rest.substr(2, comma - 2));
    if (!authzid) return fail();
    authzid_ = std::move(*authzid);
    rest.remove_prefix(comma);
  }
  if (rest.empty() || rest[0] != ',') return fail();
  rest.remove_prefix(1);
  gs2_header_ = msg.substr(0, msg.size() - rest.size());
  client_first_bare_ = rest;

  Attrs attrs{rest};
  char name;
  std::string_view value;
  if (!attrs.next(name, value) || name != 'n') return fail();  // a mandatory extension "m=" lands here too
  auto user = decode_saslname(value);
  if (!user) return fail();
  username_ = std::move(*user);
  if (!attrs.next(name, value) || name != 'r' || !printable(value)) return fail();
  client_nonce_ = value;
  if (!attrs.skip_extensions()) return fail();
  state_ = State::server_first;
  return true;
}

// server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]
std::string ScramServer::server_first(std::string_view salt, uint32_t iterations, std::string_view server_nonce) {
  if (state_ != State::server_first || !printable(server_nonce) || server_nonce.size() > kMaxScramServerNonce ||
      salt.empty() || iterations == 0) {
    fail();
    return {};
  }
  nonce_ = client_nonce_ + std::string(server_nonce);
  server_first_msg_ = "r=" + nonce_ + ",s=" + base64_encode(salt) + ",i=" + std::to_string(iterations);
  state_ = State::client_final;
  return server_first_msg_;
}

// client-final-message = channel-binding "," nonce ["," extensions] "," proof
bool ScramServer::client_final(std::string_view msg) {
  if (state_ != State::client_final || msg.size() > kMaxResponse) return fail();
  size_t p = msg.rfind(",p=");
  if (p == std::string_view::npos) return fail();
  std::string_view without_proof = msg.substr(0, p);

  Attrs attrs{without_proof};
  char name;
  std::string_view value;
  // cbind-input is the gs2 header alone: no channel binding data.
  if (!attrs.next(name, value) || name != 'c' || base64_decode(value) != gs2_header_) return fail();
  if (!attrs.next(name, value) || name != 'r' || value != nonce_) return fail();
  if (!attrs.skip_extensions()) return fail();
  auto proof = base64_decode(msg.substr(p + 3));
  if (!proof || proof->size() != ScramKey().size()) return fail();
  proof_ = std::move(*proof);
  final_without_proof_ = without_proof;
  state_ = State::verify;
  return true;
}

std::string ScramServer::auth_message() const {
  return client_first_bare_ + "," + server_first_msg_ + "," + final_without_proof_;
}

// ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); the client
// knew it if H(ClientKey) is StoredKey.
bool ScramServer::verify(const ScramKey& stored_key) {
  if (state_ != State::verify) return fail();
  ScramKey key = hmac(stored_key, auth_message());
  for (size_t i = 0; i < key.size(); i++) key[i] ^= static_cast<uint8_t>(proof_[i]);
  ScramKey stored = sha256(key);
  if (CRYPTO_memcmp(stored.data(), stored_key.data(), stored.size()) != 0) return fail();
  state_ = State::server_final;
  return true;
}

std::string ScramServer::server_final(const ScramKey& server_key) {
  if (state_ != State::server_final) {
    fail();
    return {};
  }
  state_ = State::done;
  return "v=" + base64_encode(text(hmac(server_key, auth_message())));
}

}  // namespace gannet::sasl
