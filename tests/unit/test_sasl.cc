// SASL decoders: base64, PLAIN, LOGIN and SCRAM-SHA-256, with the RFC
// 4648 and RFC 7677 test vectors.
#include <catch2/catch.hpp>

#include <openssl/hmac.h>

#include <string>

#include "auth/sasl.h"

using namespace gannet::sasl;
using namespace std::string_literals;

namespace {

std::string hex(const ScramKey& k) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : k) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

// RFC 7677 3: user "user", password "pencil".
const std::string kSalt = *base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==");
constexpr std::string_view kClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view kNonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view kServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view kClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view kServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

std::string hmac(const ScramKey& key, std::string_view msg) {
  uint8_t out[32];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), key.size(), reinterpret_cast<const uint8_t*>(msg.data()), msg.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

// The client's side of RFC 5802 3: ClientKey XOR HMAC(StoredKey, AuthMessage).
std::string client_proof(const ScramKeys& keys, std::string_view auth_message) {
  std::string client_key = hmac(keys.salted_password, "Client Key");
  std::string signature = hmac(keys.stored_key, auth_message);
  for (size_t i = 0; i < client_key.size(); i++) client_key[i] ^= signature[i];
  return base64_encode(client_key);
}

// A server that has answered kClientFirst with kServerFirst.
ScramServer after_server_first() {
  ScramServer s;
  REQUIRE(s.client_first(kClientFirst));
  REQUIRE(s.server_first(kSalt, 4096, kServerNonce) == kServerFirst);
  return s;
}

}  // namespace

TEST_CASE("base64: RFC 4648 10 vectors both ways", "[sasl]") {
  std::pair<std::string, std::string> rows[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}, {"\0\xff\x10"s, "AP8Q"},
  };
  for (auto& [plain, encoded] : rows) {
    INFO("plain: " << plain);
    CHECK(base64_encode(plain) == encoded);
    CHECK(base64_decode(encoded) == plain);
  }
}

TEST_CASE("base64: strict decoding and the size bound", "[sasl]") {
  for (std::string bad : {"Zg", "Zg=", "Zm9", "Zm9v\r\n", "Zm 9v", " Zm9v", "Zm9v!", "Zm9v====", "====", "Z===",
                          "Zm9-", "Zm9_", "*", "=", "Zg==Zg=="}) {
    INFO("input: " << bad);
    CHECK_FALSE(base64_decode(bad));
  }
  std::string ten = base64_encode("0123456789");
  CHECK(base64_decode(ten, 10) == "0123456789");
  CHECK_FALSE(base64_decode(ten, 9));
  CHECK_FALSE(base64_decode(base64_encode(std::string(kMaxResponse + 1, 'x'))));
  CHECK(base64_decode(base64_encode(std::string(kMaxResponse, 'x'))));
}

TEST_CASE("PLAIN: authzid NUL authcid NUL passwd", "[sasl]") {
  struct Row {
    std::string message, authzid, authcid, password;
  } good[] = {
      {"\0test\0test"s, "", "test", "test"},
      {"admin\0user\0secret"s, "admin", "user", "secret"},
      {"\0user@example.com\0pass word"s, "", "user@example.com", "pass word"},
      {"\0δ\0пароль"s, "", "δ", "пароль"},
      {"\0"s + std::string(255, 'u') + "\0"s + std::string(255, 'p'), "", std::string(255, 'u'), std::string(255, 'p')},
  };
  for (auto& r : good) {
    INFO("authcid: " << r.authcid);
    auto c = decode_plain(base64_encode(r.message));
    REQUIRE(c);
    CHECK(c->authzid == r.authzid);
    CHECK(c->authcid == r.authcid);
    CHECK(c->password == r.password);
  }
  CHECK(decode_plain("AHRlc3QAdGVzdA==")->authcid == "test");  // RFC 4616's own example, sans "tim"

  std::string bad[] = {
      "usertest",               // no NUL
      "\0usertest"s,            // one NUL
      "user\0pass"s,            // one NUL
      "\0\0pass"s,              // empty authcid
      "\0user\0"s,              // empty passwd
      "\0\0"s,                  // both empty
      "\0user\0pa\0ss"s,        // NUL inside the password
      "az\0user\0pass\0"s,      // trailing NUL
      "\0"s + std::string(256, 'u') + "\0p"s,
      "\0u\0"s + std::string(256, 'p'),
      std::string(256, 'a') + "\0u\0p"s,
      "\0user\0\xff"s,          // not UTF-8
      "\0us\xc3\0p"s,
      "",
  };
  for (auto& m : bad) {
    INFO("message bytes: " << m.size());
    CHECK_FALSE(decode_plain(base64_encode(m)));
  }
  for (std::string not_base64 : {"=", "*", "AHRlc3QAdGVzdA", "AHRlc3QAdGVzdA==\r", "AHRlc3Q AdGVzdA=="}) {
    INFO("input: " << not_base64);
    CHECK_FALSE(decode_plain(not_base64));
  }
}

TEST_CASE("LOGIN: one base64 field per step", "[sasl]") {
  CHECK(base64_decode(kLoginUsernamePrompt) == "Username:");
  CHECK(base64_decode(kLoginPasswordPrompt) == "Password:");
  CHECK(decode_login("dXNlcm5hbWU=") == "username");
  CHECK(decode_login(base64_encode("pass word")) == "pass word");
  CHECK(decode_login(base64_encode(std::string(255, 'x'))) == std::string(255, 'x'));
  CHECK_FALSE(decode_login(""));                                 // empty
  CHECK_FALSE(decode_login("="));
  CHECK_FALSE(decode_login("*"));
  CHECK_FALSE(decode_login(base64_encode("us\0er"s)));           // NUL
  CHECK_FALSE(decode_login(base64_encode(std::string(256, 'x'))));
  CHECK_FALSE(decode_login(base64_encode("\xff\xfe")));          // not UTF-8
  CHECK_FALSE(decode_login("dXNlcm5hbWU"));                      // unpadded
}

TEST_CASE("SCRAM-SHA-256: the RFC 7677 3 exchange", "[sasl]") {
  ScramKeys keys = scram_sha256_keys("pencil", kSalt, 4096);
  // Computed apart, with Python's hashlib and hmac.
  CHECK(hex(keys.salted_password) == "c4a49510323ab4f952cac1fa99441939e78ea74d6be81ddf7096e87513dc615d");
  CHECK(hex(keys.stored_key) == "586e5df283e6dceb5c3e791d8b8528ec191e664045ce971792e2e6b5bb13e2a6");
  CHECK(hex(keys.server_key) == "c1f3cbc1c13a9d35a14c0990eed97629ea225863e566a4314ab99f3f00e5d9d5");

  ScramServer s;
  CHECK(s.state() == ScramServer::State::client_first);
  REQUIRE(s.client_first(kClientFirst));
  CHECK(s.username() == "user");
  CHECK(s.authzid().empty());
  CHECK(s.server_first(kSalt, 4096, kServerNonce) == kServerFirst);
  REQUIRE(s.client_final(kClientFinal));
  REQUIRE(s.verify(keys.stored_key));
  CHECK(s.server_final(keys.server_key) == kServerFinal);
  CHECK(s.state() == ScramServer::State::done);
  // Done means done: no step runs twice.
  CHECK_FALSE(s.verify(keys.stored_key));
  CHECK(s.state() == ScramServer::State::failed);
}

TEST_CASE("SCRAM-SHA-256: a wrong password or a forged proof fails", "[sasl]") {
  ScramKeys wrong = scram_sha256_keys("pencil2", kSalt, 4096);
  ScramKeys other_salt = scram_sha256_keys("pencil", "another salt", 4096);
  ScramKeys fewer_rounds = scram_sha256_keys("pencil", kSalt, 4095);
  for (auto* k : {&wrong, &other_salt, &fewer_rounds}) {
    ScramServer s = after_server_first();
    REQUIRE(s.client_final(kClientFinal));
    CHECK_FALSE(s.verify(k->stored_key));
    CHECK(s.state() == ScramServer::State::failed);
    CHECK(s.server_final(k->server_key).empty());
  }
  ScramKeys keys = scram_sha256_keys("pencil", kSalt, 4096);
  std::string forged = "c=biws,r=" + std::string(kNonce) + ",p=" + base64_encode(std::string(32, 'A'));
  ScramServer s = after_server_first();
  REQUIRE(s.client_final(forged));
  CHECK_FALSE(s.verify(keys.stored_key));
  // The same proof with another server nonce: AuthMessage differs.
  ScramServer replay;
  REQUIRE(replay.client_first(kClientFirst));
  REQUIRE(!replay.server_first(kSalt, 4096, "another-nonce").empty());
  CHECK_FALSE(replay.client_final(kClientFinal));  // its r= no longer matches
}

TEST_CASE("SCRAM-SHA-256: client-first syntax", "[sasl]") {
  struct Row {
    std::string msg, username, authzid;
  } good[] = {
      {"n,,n=user,r=abc", "user", ""},
      {"y,,n=user,r=abc", "user", ""},  // client could bind, thinks we cannot: true
      {"n,a=admin,n=user,r=abc", "user", "admin"},
      {"n,,n=us=2Cer=3D,r=abc", "us,er=", ""},
      {"n,a=a=3Db=2Cc,n=user,r=abc", "user", "a=b,c"},
      {"n,,n=δ,r=abc", "δ", ""},
      {"n,,n=user,r=abc,x=extension", "user", ""},
      {"n,,n=user,r=!\"#$%&'()*+-./~", "user", ""},
  };
  for (auto& r : good) {
    INFO("msg: " << r.msg);
    ScramServer s;
    REQUIRE(s.client_first(r.msg));
    CHECK(s.username() == r.username);
    CHECK(s.authzid() == r.authzid);
    CHECK(s.state() == ScramServer::State::server_first);
  }
  std::string bad[] = {
      "",
      "n",
      "n,",
      "n,,",
      "p=tls-unique,,n=user,r=abc",       // channel binding: not offered
      "p=tls-server-end-point,,n=user,r=abc",
      "x,,n=user,r=abc",
      "N,,n=user,r=abc",
      "n,n=user,r=abc",                   // gs2 header without its second comma
      "n,a=,n=user,r=abc",                // empty authzid
      "n,b=admin,n=user,r=abc",
      "n,a=admin",
      "n,,m=ext,n=user,r=abc",            // a mandatory extension
      "n,,n=,r=abc",
      "n,,n=us=2Xer,r=abc",               // bad escape
      "n,,n=us=er,r=abc",
      "n,,n=user=,r=abc",
      "n,,n=user",
      "n,,r=abc,n=user",
      "n,,n=user,r=",
      "n,,n=user,r=abc,",                 // trailing comma
      "n,,n=user,r=abc,,x=y",
      "n,,n=user,r=abc,xy",
      "n,,n=user,r=ab c",                 // nonce is printable: no space
      "n,,n=user,r=ab\xc3\xa9",
      "n,,n=us\0er,r=abc"s,
      "n,,n=us\xff" "er,r=abc",
      "n,,n=" + std::string(256, 'u') + ",r=abc",
      "n,,n=user,r=" + std::string(kMaxScramClientFirst - 11, 'r'),  // 513 octets
  };
  for (auto& msg : bad) {
    INFO("msg: " << msg);
    ScramServer s;
    CHECK_FALSE(s.client_first(msg));
    CHECK(s.state() == ScramServer::State::failed);
  }
}

TEST_CASE("SCRAM-SHA-256: the longest client-first still leaves room for its client-final", "[sasl]") {
  // Found by fuzz_sasl: a client-first with a nonce near kMaxResponse was
  // accepted, and then no client-final could carry it back.
  ScramKeys keys = scram_sha256_keys("pencil", kSalt, 4096);
  std::string authzid(60, 'a'), header = "n,a=" + authzid + ",", cnonce(kMaxScramClientFirst - header.size() - 9, 'c');
  std::string first = header + "n=user,r=" + cnonce;
  REQUIRE(first.size() == kMaxScramClientFirst);
  ScramServer s;
  REQUIRE(s.client_first(first));
  std::string snonce(kMaxScramServerNonce, 's');
  std::string server_first = s.server_first(kSalt, 4096, snonce);
  REQUIRE(!server_first.empty());
  std::string without_proof = "c=" + base64_encode(header) + ",r=" + cnonce + snonce;
  std::string auth_message = "n=user,r=" + cnonce + "," + server_first + "," + without_proof;
  std::string final = without_proof + ",p=" + client_proof(keys, auth_message);
  CHECK(final.size() <= kMaxResponse);
  REQUIRE(s.client_final(final));
  CHECK(s.verify(keys.stored_key));
}

TEST_CASE("SCRAM-SHA-256: client-final syntax", "[sasl]") {
  std::string n(kNonce), proof = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
  std::string bad[] = {
      "",
      "c=biws,r=" + n,                                  // no proof
      "c=eSws,r=" + n + ",p=" + proof,                  // "y,,": not what the client said first
      "c=bix=,r=" + n + ",p=" + proof,
      "c=,r=" + n + ",p=" + proof,
      "c=biws,r=" + n + "x,p=" + proof,                 // another nonce
      "c=biws,r=rOprNGfwEbeRWgbNEkqO,p=" + proof,        // the client's nonce alone
      "r=" + n + ",c=biws,p=" + proof,                  // order
      "c=biws,p=" + proof,
      "c=biws,r=" + n + ",p=",
      "c=biws,r=" + n + ",p=" + base64_encode(std::string(31, 'x')),
      "c=biws,r=" + n + ",p=" + base64_encode(std::string(33, 'x')),
      "c=biws,r=" + n + ",p=not base64",
      "c=biws,r=" + n + ",p=" + proof + ",x=after",
      "c=biws,r=" + n + ",,p=" + proof,
      "c=biws,r=" + n + ",x,p=" + proof,
      "c=biws,r=" + n + ",p=" + proof + "\0"s,
  };
  for (auto& msg : bad) {
    INFO("msg: " << msg);
    ScramServer s = after_server_first();
    CHECK_FALSE(s.client_final(msg));
    CHECK(s.state() == ScramServer::State::failed);
  }
  // An extension before the proof is read, ignored and signed.
  ScramServer s = after_server_first();
  CHECK(s.client_final("c=biws,r=" + n + ",x=ext,p=" + proof));
}

TEST_CASE("SCRAM-SHA-256: an authzid travels in the channel binding too", "[sasl]") {
  ScramKeys keys = scram_sha256_keys("pencil", kSalt, 4096);
  ScramServer s;
  REQUIRE(s.client_first("n,a=admin,n=user,r=cnonce"));
  CHECK(s.authzid() == "admin");
  REQUIRE(s.server_first(kSalt, 4096, "snonce") == "r=cnoncesnonce,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  std::string without_proof = "c=" + base64_encode("n,a=admin,") + ",r=cnoncesnonce";
  CHECK(without_proof == "c=bixhPWFkbWluLA==,r=cnoncesnonce");
  std::string auth_message = "n=user,r=cnonce,r=cnoncesnonce,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096," + without_proof;
  REQUIRE(s.client_final(without_proof + ",p=" + client_proof(keys, auth_message)));
  REQUIRE(s.verify(keys.stored_key));
  CHECK(s.server_final(keys.server_key) == "v=" + base64_encode(hmac(keys.server_key, auth_message)));

  // "c=biws" would claim there was no authzid.
  ScramServer wrong;
  REQUIRE(wrong.client_first("n,a=admin,n=user,r=cnonce"));
  REQUIRE(!wrong.server_first(kSalt, 4096, "snonce").empty());
  CHECK_FALSE(wrong.client_final("c=biws,r=cnoncesnonce,p=" + client_proof(keys, auth_message)));
}

TEST_CASE("SCRAM-SHA-256: steps out of order fail for good", "[sasl]") {
  ScramKeys keys = scram_sha256_keys("pencil", kSalt, 4096);
  {
    ScramServer s;
    CHECK(s.server_first(kSalt, 4096, kServerNonce).empty());
    CHECK(s.state() == ScramServer::State::failed);
    CHECK_FALSE(s.client_first(kClientFirst));
  }
  {
    ScramServer s;
    REQUIRE(s.client_first(kClientFirst));
    CHECK_FALSE(s.client_final(kClientFinal));  // before server-first
    CHECK(s.state() == ScramServer::State::failed);
  }
  {
    ScramServer s = after_server_first();
    CHECK_FALSE(s.verify(keys.stored_key));  // before client-final
  }
  {
    ScramServer s = after_server_first();
    REQUIRE(s.client_final(kClientFinal));
    CHECK(s.server_final(keys.server_key).empty());  // before verify
    CHECK_FALSE(s.verify(keys.stored_key));
  }
  {
    ScramServer s;
    CHECK(s.client_first("n,,n=user,r=abc"));
    CHECK_FALSE(s.client_first("n,,n=user,r=abc"));  // twice
    CHECK(s.state() == ScramServer::State::failed);
  }
  for (std::string nonce : {""s, "a,b"s, "a b"s, "\xc3\xa9"s, std::string(kMaxScramServerNonce + 1, 'n')}) {
    ScramServer s;
    REQUIRE(s.client_first(kClientFirst));
    CHECK(s.server_first(kSalt, 4096, nonce).empty());
  }
  ScramServer s;
  REQUIRE(s.client_first(kClientFirst));
  CHECK(s.server_first(kSalt, 0, kServerNonce).empty());
}

TEST_CASE("SCRAM-SHA-256: server nonces", "[sasl]") {
  std::string a = scram_nonce(), b = scram_nonce();
  CHECK(a.size() == 24);
  CHECK(a != b);
  for (char c : a) CHECK((c >= 0x21 && c <= 0x7e && c != ','));
}
