// DKIM canonicalization (RFC 6376 3.4): the section's own example, the
// edge cases of empty and unterminated bodies, l=, header selection with
// repeated fields, and the body fed in any pieces giving one digest.
#include <catch2/catch.hpp>

#include <openssl/base64.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <string>

#include "../../modules/dkim/dkim_canon.h"
#include "../../modules/dkim/dkim_sign.h"
#include "../../modules/dkim/dkim_tags.h"
#include "../../modules/dkim/dkim_verify.h"

using namespace gannet::dkim;

namespace {

std::string hex(const std::array<uint8_t, 32>& d) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : d) out += digits[b >> 4], out += digits[b & 15];
  return out;
}

std::string sha256_hex(std::string_view s) {
  std::array<uint8_t, 32> d;
  SHA256(reinterpret_cast<const uint8_t*>(s.data()), s.size(), d.data());
  return hex(d);
}

std::string body_hash(Canon c, std::string_view body, std::optional<uint64_t> limit = std::nullopt) {
  BodyHasher h(c, limit);
  h.update(body);
  return hex(h.finish());
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  return s.replace(s.find(from), from.size(), to);
}

std::string headers(std::string_view block, Canon c) {
  std::string out;
  for (auto& f : split_header(block)) out += canon_header(f, c);
  return out;
}

}  // namespace

TEST_CASE("DKIM: RFC 6376 3.4.6's example, relaxed and simple", "[dkim]") {
  std::string_view head = "A: X\r\nB : Y\t\r\n\tZ  \r\n";
  std::string_view body = " C \r\nD \t E\r\n\r\n\r\n";
  CHECK(headers(head, Canon::relaxed) == "a:X\r\nb:Y Z\r\n");
  CHECK(headers(head, Canon::simple) == head);
  CHECK(body_hash(Canon::relaxed, body) == sha256_hex(" C\r\nD E\r\n"));
  CHECK(body_hash(Canon::simple, body) == sha256_hex(" C \r\nD \t E\r\n"));
}

TEST_CASE("DKIM: empty bodies and bodies without a final CRLF", "[dkim]") {
  CHECK(body_hash(Canon::simple, "") == sha256_hex("\r\n"));
  CHECK(body_hash(Canon::relaxed, "") == sha256_hex(""));
  CHECK(body_hash(Canon::simple, "\r\n\r\n") == sha256_hex("\r\n"));
  CHECK(body_hash(Canon::relaxed, " \t\r\n\r\n") == sha256_hex(""));
  CHECK(body_hash(Canon::simple, "x") == sha256_hex("x\r\n"));
  CHECK(body_hash(Canon::relaxed, "x  ") == sha256_hex("x\r\n"));
  CHECK(body_hash(Canon::simple, "a\r\n \r\n") == sha256_hex("a\r\n \r\n"));  // a line of a space is no empty line
  CHECK(body_hash(Canon::relaxed, "a\rb\r\n") == sha256_hex("a\rb\r\n"));      // a bare CR is content
  CHECK(body_hash(Canon::relaxed, "a\r") == sha256_hex("a\r\r\n"));
}

TEST_CASE("DKIM: l= hashes that many canonical octets and counts them all", "[dkim]") {
  BodyHasher h(Canon::relaxed, 5);
  h.update("hello world\r\n");
  CHECK(hex(h.finish()) == sha256_hex("hello"));
  CHECK(h.length() == 13);
  CHECK(body_hash(Canon::simple, "", 0) == sha256_hex(""));
}

TEST_CASE("DKIM: the body in any pieces gives one digest", "[dkim]") {
  std::string body = "Line one  \r\n\r\n\tindented\t\ttext \r\n.dot\r\n\r\n\r\nend \r\n\r\n";
  for (Canon c : {Canon::simple, Canon::relaxed}) {
    std::string whole = body_hash(c, body);
    for (size_t cut = 0; cut <= body.size(); cut++) {
      for (size_t cut2 = cut; cut2 <= body.size(); cut2 += 7) {
        BodyHasher h(c);
        h.update(std::string_view(body).substr(0, cut));
        h.update(std::string_view(body).substr(cut, cut2 - cut));
        h.update(std::string_view(body).substr(cut2));
        REQUIRE(hex(h.finish()) == whole);
      }
    }
  }
}

TEST_CASE("DKIM: fields, folds, and h= taken bottom-up", "[dkim]") {
  std::string_view block = "Received: a\r\nSubject: one\r\n two\r\nTo: x\r\nsubject: three\r\nnot a field\r\n";
  auto fields = split_header(block);
  REQUIRE(fields.size() == 4);
  CHECK(fields[1].raw == "Subject: one\r\n two");
  auto picked = select_headers(fields, {"subject", "subject", "subject", "to"});
  REQUIRE(picked.size() == 4);
  CHECK(picked[0]->raw == "subject: three");  // the last instance first
  CHECK(picked[1]->raw == "Subject: one\r\n two");
  CHECK(!picked[2]);  // none left: oversigned
  CHECK(picked[3]->raw == "To: x");
  CHECK(names_to_sign(fields, {"from", "subject", "to", "date"}, {"from", "subject"}) ==
        std::vector<std::string>{"from", "subject", "subject", "subject", "to"});
  CHECK(header_end("A: b\r\n\r\nbody") == 6u);
  CHECK(header_end("\r\nbody") == 0u);
  CHECK(!header_end("A: b\r\n"));
  CHECK(parse_canon("relaxed") == std::make_pair(Canon::relaxed, Canon::simple));
  CHECK(parse_canon("simple/relaxed") == std::make_pair(Canon::simple, Canon::relaxed));
  CHECK(!parse_canon("relaxed/loose"));
}

// RFC 8463 Appendix A (tests/data/rfc8463/README.md says where each piece
// was taken from and how it was checked): the example's body hash, and both
// of its signatures made again, octet for octet, from its secret keys.
namespace {

const char kEd25519Key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
const char kRsaKey[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\n"
    "Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\n"
    "KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\n"
    "AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n"
    "6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\n"
    "zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n"
    "6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\n"
    "uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\n"
    "WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\n"
    "WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\n"
    "licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\n"
    "o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\n"
    "uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n"
    "-----END RSA PRIVATE KEY-----\n";

const char kMessage[] =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
    " date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
    " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
    " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n"
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";

bssl::UniquePtr<EVP_PKEY> pem_key(const char* pem) {
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem, -1));
  return bssl::UniquePtr<EVP_PKEY>(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::string base64(const std::array<uint8_t, 32>& d) {
  uint8_t out[64];
  size_t n = EVP_EncodeBlock(out, d.data(), d.size());
  return std::string(reinterpret_cast<char*>(out), n);
}

// The value of tag t= of a signature field, whitespace removed.
std::string tag(std::string_view field, std::string_view t) {
  std::string flat;
  for (char c : field)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') flat += c;
  size_t at = flat.find(";" + std::string(t) + "=");
  at = at == std::string::npos ? flat.find(std::string(t) + "=") : at + 1;
  size_t end = flat.find(';', at);
  return flat.substr(at + t.size() + 1, end == std::string::npos ? std::string::npos : end - at - t.size() - 1);
}

}  // namespace

TEST_CASE("DKIM: RFC 8463's example signatures, made again from its keys", "[dkim]") {
  std::string_view msg = kMessage;
  size_t end = *header_end(msg);
  auto fields = split_header(msg.substr(0, end));
  REQUIRE(fields.size() == 7);
  BodyHasher h(Canon::relaxed);
  h.update(msg.substr(end + 2));
  CHECK(base64(h.finish()) == "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");

  std::vector<std::string> names = {"from", "to", "subject", "date", "message-id", "from", "subject", "date"};
  struct Case {
    const char* key;
    size_t field;
  };
  for (Case c : {Case{kEd25519Key, 0}, Case{kRsaKey, 1}}) {
    auto key = pem_key(c.key);
    REQUIRE(key);
    std::string_view raw = fields[c.field].raw;
    std::string unsigned_field(raw.substr(0, raw.find("b=", raw.find("bh=") + 3) + 2));  // b= emptied
    std::string data = signed_data(fields, names, Canon::relaxed, {"DKIM-Signature", unsigned_field});
    CHECK(sign_data(key.get(), data) == tag(raw, "b"));
  }
}

TEST_CASE("DKIM: RFC 8463's example verifies with its published keys, and not once changed", "[dkim]") {
  const std::string records[] = {
      "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
      "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/"
      "J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+"
      "2kryOTIKT+l/K4w3QIDAQAB"};
  for (std::string msg : {std::string(kMessage), replace(kMessage, "hungry", "angry"),
                          replace(kMessage, "Subject: Is dinner ready?", "Subject: Is dinner  ready?")}) {
    bool intact = msg == kMessage;
    size_t end = *header_end(msg);
    auto fields = split_header(std::string_view(msg).substr(0, end));
    BodyHasher h(Canon::relaxed);
    h.update(std::string_view(msg).substr(end + 2));
    auto digest = h.finish();
    std::string body(reinterpret_cast<const char*>(digest.data()), digest.size());
    for (size_t i = 0; i < 2; i++) {
      auto sig = std::get<Signature>(parse_signature(fields[i].raw.substr(fields[i].raw.find(':') + 1)));
      auto key = std::get<KeyRecord>(parse_key_record(records[i]));
      Outcome o = verify(fields, fields[i], sig, key, body, 1528637909);
      // The doubled space in Subject is nothing to relaxed canonicalization.
      bool should_pass = intact || msg.find("Is dinner  ready") != std::string::npos;
      CHECK(o.result == (should_pass ? Result::pass : Result::fail));
      if (!should_pass) CHECK(o.reason == "body hash did not verify");
    }
  }
  CHECK(without_b_value("DKIM-Signature: a=1; b=abc\r\n def; bh=x") == "DKIM-Signature: a=1; b=; bh=x");
  CHECK(without_b_value("DKIM-Signature: bh=x; b = abc") == "DKIM-Signature: bh=x; b =");
}
