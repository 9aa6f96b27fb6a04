// SASL for SMTP AUTH (RFC 4954): the client's responses decoded and
// checked, with no socket and no password store. The session decides what
// the names and secrets mean.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base64.h"

namespace gannet::sasl {

// RFC 4616 2: authzid, authcid and passwd are 1 to 255 octets each.
inline constexpr size_t kMaxField = 255;
// Decoded octets of one client response; SCRAM's client-final is the
// longest one a sane client sends (~150 octets).
inline constexpr size_t kMaxResponse = 1024;
// SCRAM's client-final repeats the client-first's gs2 header (in base64)
// and nonce, plus the server nonce: with these two bounds any accepted
// client-first leaves room for its client-final within kMaxResponse.
inline constexpr size_t kMaxScramClientFirst = 512;
inline constexpr size_t kMaxScramServerNonce = 128;

// The core's base64 (base64.h), bounded by a SASL response unless told.
inline std::optional<std::string> base64_decode(std::string_view in, size_t max = kMaxResponse) {
  return gannet::base64_decode(in, max);
}
using gannet::base64_encode;

// --- PLAIN (RFC 4616) ---

struct PlainCredentials {
  std::string authzid;  // empty: act as authcid
  std::string authcid;
  std::string password;
};

// The base64 of authzid NUL authcid NUL passwd. Refused: not base64, not
// exactly two NULs, an empty authcid or passwd, a field over kMaxField,
// a field that is not UTF-8.
std::optional<PlainCredentials> decode_plain(std::string_view b64);

// --- LOGIN (draft-murchison-sasl-login) ---

inline constexpr std::string_view kLoginUsernamePrompt = "VXNlcm5hbWU6";  // "Username:"
inline constexpr std::string_view kLoginPasswordPrompt = "UGFzc3dvcmQ6";  // "Password:"

// One step, username or password: 1 to kMaxField octets of UTF-8, no NUL.
std::optional<std::string> decode_login(std::string_view b64);

// --- SCRAM-SHA-256 (RFC 5802, RFC 7677) ---

using ScramKey = std::array<uint8_t, 32>;

struct ScramKeys {
  ScramKey salted_password;  // PBKDF2-HMAC-SHA256(password, salt, iterations)
  ScramKey stored_key;       // H(HMAC(SaltedPassword, "Client Key"))
  ScramKey server_key;       // HMAC(SaltedPassword, "Server Key")
};

// What a password set now gets: RFC 7677 4 asks for at least 4096
// iterations, and a salt of its own per user.
inline constexpr uint32_t kScramIterations = 4096;
inline constexpr size_t kScramSaltLen = 16;

// What a password store keeps instead of the password. The password must
// already be SASLprep'ed (RFC 4013); ASCII passwords are unchanged by it.
ScramKeys scram_sha256_keys(std::string_view password, std::string_view salt, uint32_t iterations);

// kScramSaltLen random octets, for a password being set.
std::string scram_salt();

// A fresh server nonce: 18 random octets in base64, printable and
// comma-free as "r=" needs.
std::string scram_nonce();

// The server's side of one exchange. Messages are the decoded text (the
// session does the base64 of AUTH lines). Steps run in order; a failed or
// out-of-order step moves to State::failed for good.
class ScramServer {
 public:
  enum class State { client_first, server_first, client_final, verify, server_final, done, failed };

  // "n,,n=user,r=nonce": gs2 flag "n" or "y" (we offer no -PLUS, so "y"
  // is honest), an optional "a=" authzid, then the bare message. Refused:
  // channel binding ("p="), a mandatory extension ("m="), a bad saslname,
  // more than kMaxScramClientFirst octets.
  bool client_first(std::string_view msg);
  // "r=<client nonce><server nonce>,s=<base64 salt>,i=<iterations>"; empty
  // if the state is wrong, or server_nonce is empty, longer than
  // kMaxScramServerNonce, or not printable and comma-free.
  std::string server_first(std::string_view salt, uint32_t iterations, std::string_view server_nonce);
  // "c=<base64 gs2 header>,r=<nonce>[,ext],p=<base64 proof>": the channel
  // binding must repeat the gs2 header and the nonce must be the combined one.
  bool client_final(std::string_view msg);
  // Whether the proof shows knowledge of the key behind stored_key.
  bool verify(const ScramKey& stored_key);
  // "v=<base64 ServerSignature>", once verify succeeded; empty otherwise.
  std::string server_final(const ScramKey& server_key);

  State state() const { return state_; }
  const std::string& username() const { return username_; }  // "=2C"/"=3D" decoded
  const std::string& authzid() const { return authzid_; }    // empty if none

 private:
  bool fail();
  std::string auth_message() const;

  State state_ = State::client_first;
  std::string gs2_header_;        // "n,," or "n,a=...,"
  std::string client_first_bare_;
  std::string server_first_msg_;
  std::string final_without_proof_;
  std::string username_, authzid_, client_nonce_, nonce_;
  std::string proof_;  // 32 octets
};

}  // namespace gannet::sasl
