#include "passwd_file.h"

#include <cctype>
#include <cstring>

namespace gannet::passwd_file {

namespace {

constexpr std::string_view kArgon2id = "$argon2id$v=19$m=";

// The PHC string format's characters: what libargon2 and libsodium write.
bool is_argon2id(std::string_view s) {
  if (!s.starts_with(kArgon2id) || s.size() > 512) return false;
  for (unsigned char c : s)
    if (!isalnum(c) && !strchr("$=,+/.-", c)) return false;
  return true;
}

Line fail(std::string what) { return {Line::bad, {}, {}, std::move(what)}; }

}  // namespace

Line parse_line(std::string_view line) {
  if (line.ends_with('\r')) line.remove_suffix(1);
  size_t start = line.find_first_not_of(" \t");
  if (start == std::string_view::npos || line[start] == '#') return {};
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return fail("expected ADDRESS:PASSWORD");
  Line out;
  out.address = line.substr(0, colon);
  std::string_view pw = line.substr(colon + 1);
  pw = pw.substr(0, pw.find(':'));  // uid, gid, home... mean nothing here
  if (out.address.empty()) return fail("no address before ':'");
  std::string_view scheme;
  if (pw.starts_with('{')) {
    size_t close = pw.find('}');
    if (close == std::string_view::npos) return fail("a '{' with no '}' in the password field");
    scheme = pw.substr(1, close - 1);
    pw.remove_prefix(close + 1);
  }
  if (pw.empty()) return fail("empty password field: a user must have a password");
  for (unsigned char c : pw)
    if (c < 0x20 || c == 0x7f) return fail("a control character in the password field");
  auto upper = [](std::string_view s) {
    std::string u(s);
    for (char& c : u) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
    return u;
  };
  std::string sch = upper(scheme);
  if (sch == "PLAIN" || sch == "CLEAR" || sch == "CLEARTEXT") {
    out.kind = Line::plain;
  } else if ((sch.empty() || sch == "ARGON2ID") && is_argon2id(pw)) {
    out.kind = Line::hash;
  } else if (sch.empty() || sch == "ARGON2ID") {
    return fail("not an argon2id hash ($argon2id$v=19$m=...)");
  } else {
    return fail("{" + std::string(scheme) + "} hashes cannot be checked by Gannet, which knows argon2id only: "
                "give the user {PLAIN}password, or import {ARGON2ID} hashes (doveadm pw -s ARGON2ID)");
  }
  out.secret = pw;
  return out;
}

std::string format_line(std::string_view address, std::string_view hash) {
  return std::string(address) + ":{ARGON2ID}" + std::string(hash);
}

}  // namespace gannet::passwd_file
