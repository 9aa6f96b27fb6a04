// DKIM's tag=value lists (RFC 6376 3.2) and the two things written in
// them: a DKIM-Signature field's value (3.5) and a key record published
// in DNS (3.6.1). Pure parsers, for the verifier and the fuzzers; an
// error says why, in words an Authentication-Results reason can carry.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "dkim_canon.h"

namespace gannet::dkim {

using TagList = std::vector<std::pair<std::string, std::string>>;  // in order, values trimmed

// nullopt if not a tag-list: a bad tag name, a value with a forbidden
// octet, a tag given twice.
std::optional<TagList> parse_tag_list(std::string_view text);
// The value of `name`, or nullptr.
const std::string* find_tag(const TagList& tags, std::string_view name);

enum class Algorithm { rsa_sha256, ed25519_sha256 };

struct Signature {
  Algorithm algorithm;
  std::string domain;    // d=, lower-case
  std::string selector;  // s=
  std::string auid;      // i=, "@" + d when absent
  std::vector<std::string> headers;  // h=, lower-case
  Canon header_canon = Canon::simple, body_canon = Canon::simple;
  std::string body_hash;   // bh=, decoded
  std::string signature;   // b=, decoded
  std::string b_text;      // b= as written, whitespace removed: header.b in results
  std::optional<uint64_t> length;     // l=
  std::optional<int64_t> timestamp;   // t=
  std::optional<int64_t> expiration;  // x=
};

// A DKIM-Signature value, or why it cannot be verified (a permerror).
std::variant<Signature, std::string> parse_signature(std::string_view value);

struct KeyRecord {
  std::string key_type = "rsa";    // k=
  std::string public_key;          // p=, decoded; empty: the key is revoked
  bool testing = false;            // t=y
  bool strict = false;             // t=s: i= must be d= exactly
  std::vector<std::string> hashes; // h=, empty = any
};

// A key record (the TXT strings joined), or why it is unusable.
std::variant<KeyRecord, std::string> parse_key_record(std::string_view txt);

}  // namespace gannet::dkim
