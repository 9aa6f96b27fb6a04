// DKIM tag lists (RFC 6376 3.2), DKIM-Signature values (3.5) and key
// records (3.6.1): what parses, what each bad one is refused for.
#include <catch2/catch.hpp>

#include <string>

#include "../../modules/dkim/dkim_tags.h"

using namespace gannet::dkim;

namespace {

const char kGood[] =
    "v=1; a=rsa-sha256; c=relaxed/simple; d=Example.ORG; s=s1;\r\n\t"
    "t=1000; x=2000; l=42; i=joe@mail.example.org; q=dns/txt;\r\n\t"
    "h=From : To:subject;\r\n\tbh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n\tb=AAEC\r\n\t AwQF";

std::string refused(const std::string& value) {
  auto r = parse_signature(value);
  return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "parsed";
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  return s.replace(s.find(from), from.size(), to);
}

}  // namespace

TEST_CASE("DKIM: tag lists", "[dkim]") {
  auto t = parse_tag_list(" a = 1 ; b=two words ;c=\r\n\tthree;");
  REQUIRE(t);
  REQUIRE(t->size() == 3);
  CHECK((*t)[1] == std::make_pair(std::string("b"), std::string("two words")));
  CHECK(*find_tag(*t, "c") == "three");
  CHECK(!find_tag(*t, "d"));
  CHECK(parse_tag_list("")->empty());
  CHECK(!parse_tag_list("a=1; a=2"));     // a tag twice
  CHECK(!parse_tag_list("1a=1"));         // a name starts with a letter
  CHECK(!parse_tag_list("a=1;;b=2"));     // an empty tag-spec
  CHECK(!parse_tag_list("a"));            // no '='
  CHECK(!parse_tag_list("a=\x01"));       // not a VALCHAR
  CHECK(parse_tag_list("a=")->front().second.empty());
}

TEST_CASE("DKIM: a DKIM-Signature value", "[dkim]") {
  auto r = parse_signature(kGood);
  REQUIRE(std::holds_alternative<Signature>(r));
  auto& s = std::get<Signature>(r);
  CHECK(s.algorithm == Algorithm::rsa_sha256);
  CHECK(s.domain == "example.org");
  CHECK(s.selector == "s1");
  CHECK(s.headers == std::vector<std::string>{"from", "to", "subject"});
  CHECK(s.header_canon == Canon::relaxed);
  CHECK(s.body_canon == Canon::simple);
  CHECK(s.body_hash.size() == 32);
  CHECK(s.signature == std::string("\x00\x01\x02\x03\x04\x05", 6));
  CHECK(s.b_text == "AAECAwQF");
  CHECK(s.length == 42u);
  CHECK(s.timestamp == 1000);
  CHECK(s.expiration == 2000);
  CHECK(s.auid == "joe@mail.example.org");
  auto ed = parse_signature(replace(replace(kGood, "rsa-sha256", "ed25519-sha256"), " c=relaxed/simple;", ""));
  REQUIRE(std::holds_alternative<Signature>(ed));
  CHECK(std::get<Signature>(ed).algorithm == Algorithm::ed25519_sha256);
  CHECK(std::get<Signature>(ed).header_canon == Canon::simple);  // c= absent: simple/simple
}

TEST_CASE("DKIM: what makes a signature unverifiable", "[dkim]") {
  CHECK(refused(replace(kGood, "v=1", "v=2")) == "version is not 1");
  CHECK(refused(replace(kGood, "rsa-sha256", "rsa-sha1")) == "unknown algorithm rsa-sha1");
  CHECK(refused(replace(kGood, "From : To:subject", "To:subject")) == "h= does not sign From");
  CHECK(refused(replace(kGood, "joe@mail.example.org", "joe@example.com")) == "i= is not within d=");
  CHECK(refused(replace(kGood, "x=2000", "x=999")) == "x= is before t=");
  CHECK(refused(replace(kGood, "l=42", "l=4x")) == "l= is not a number");
  CHECK(refused(replace(kGood, "relaxed/simple", "loose")) == "unknown canonicalization loose");
  CHECK(refused(replace(kGood, "2jUSOH9Nht", "2j")) == "bh= is not a SHA-256 digest in base64");
  CHECK(refused(replace(kGood, "q=dns/txt", "q=http")) == "q= does not offer dns/txt");
  CHECK(refused(replace(kGood, "d=Example.ORG", "d=exa mple")) == "d= is not a domain");
  CHECK(refused(replace(kGood, " s=s1;", "")) == "no s= tag");
  CHECK(refused("v=1; v=1") == "the DKIM-Signature is not a tag list");
}

TEST_CASE("DKIM: key records", "[dkim]") {
  auto r = parse_key_record("v=DKIM1; k=ed25519; t=y:s; h=sha256; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  REQUIRE(std::holds_alternative<KeyRecord>(r));
  auto& k = std::get<KeyRecord>(r);
  CHECK(k.key_type == "ed25519");
  CHECK(k.public_key.size() == 32);
  CHECK(k.testing);
  CHECK(k.strict);
  CHECK(k.hashes == std::vector<std::string>{"sha256"});
  auto revoked = parse_key_record("v=DKIM1; p=");
  REQUIRE(std::holds_alternative<KeyRecord>(revoked));
  CHECK(std::get<KeyRecord>(revoked).public_key.empty());
  CHECK(std::get<KeyRecord>(revoked).key_type == "rsa");  // the default
  CHECK(std::get<std::string>(parse_key_record("k=rsa; v=DKIM1; p=AAAA")) == "the key record's v= is not DKIM1 first");
  CHECK(std::get<std::string>(parse_key_record("v=DKIM1; k=rsa")) == "the key record has no p=");
  CHECK(std::get<std::string>(parse_key_record("p=AAA*")) == "the key record's p= is not base64");
  CHECK(std::get<std::string>(parse_key_record("p=AAAA; s=tlsrpt")) == "the key is not for email (s=)");
  CHECK(std::holds_alternative<KeyRecord>(parse_key_record("p=AAAA; s=email:tlsrpt")));
}
