// Dovecot's passwd-file (user:password:uid:gid:gecos:home:shell:extra), the
// way users move between Gannet and Dovecot (iRedMail) with their
// passwords: one line as a pure function, for `gannetctl import
// passwd-file` and its fuzz target; and the line `export passwd-file`
// writes.
#pragma once

#include <string>
#include <string_view>

namespace gannet::passwd_file {

struct Line {
  enum Kind { skip, hash, plain, bad } kind = skip;  // skip: blank or a # comment
  std::string address;
  std::string secret;  // an argon2id hash as stored, or a password to hash
  std::string error;   // what is wrong, for FILE:LINE: error
};

// The password field may be {ARGON2ID}$argon2id$..., a bare $argon2id$...,
// or {PLAIN}, {CLEAR} or {CLEARTEXT} and the password; other schemes are an
// error, as Gannet checks argon2id hashes only. Fields after the password
// are read past.
Line parse_line(std::string_view line);

// "address:{ARGON2ID}hash" (no newline).
std::string format_line(std::string_view address, std::string_view hash);

}  // namespace gannet::passwd_file
