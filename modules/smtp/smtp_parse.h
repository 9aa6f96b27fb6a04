// SMTP's grammar (RFC 5321 4.1): command lines, paths, MAIL/RCPT
// parameters. Pure functions over bytes: the session, the tests and the
// fuzzers call them without a socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "utf8.h"

namespace gannet::smtp {

enum class Verb { helo, ehlo, mail, rcpt, data, bdat, rset, noop, quit, vrfy, expn, help, starttls, auth, unknown };

struct Command {
  Verb verb = Verb::unknown;
  std::string_view arg;  // what follows the verb and one space ("FROM:<a@b> SIZE=10")
};

// Verbs are case-insensitive; "MAIL FROM:" and "RCPT TO:" keep their
// "FROM:"/"TO:" in arg.
Command parse_command(std::string_view line);

// A reply for a syntax error: code and enhanced status + text.
struct SyntaxError {
  int code;          // 501, 555, 553...
  std::string text;  // "5.1.7 Bad sender address syntax"
};

struct Path {
  bool null = false;   // "<>"
  std::string local;   // as written, quotes included ("\"a b\"")
  std::string domain;  // lower-cased; an address literal stays "[1.2.3.4]"
  bool utf8 = false;   // non-ASCII in local or domain (needs SMTPUTF8)
  // "" for <>, the local part alone for <Postmaster>.
  std::string address() const { return null ? std::string() : domain.empty() ? local : local + "@" + domain; }
};

struct MailParams {
  std::optional<uint64_t> size;    // SIZE=
  enum Body { seven_bit, eight_bit_mime, binary_mime } body = seven_bit;  // BODY=
  bool smtputf8 = false;           // SMTPUTF8
  std::string ret;                 // DSN RET=FULL|HDRS
  std::string envid;               // DSN ENVID= (xtext, kept encoded)
  std::optional<std::string> auth; // AUTH=<> or mailbox (RFC 4954)
};

struct RcptParams {
  std::string notify;  // DSN NOTIFY=NEVER|SUCCESS,FAILURE,DELAY
  std::string orcpt;   // DSN ORCPT=type;xtext
};

// Both leave path and params untouched when they return an error.
// arg is Command::arg of MAIL ("FROM:<path> [params]"). A source route
// (<@a,@b:user@d>) is accepted and dropped, as RFC 5321 C asks; the path
// that remains is what counts.
std::optional<SyntaxError> parse_mail(std::string_view arg, Path& path, MailParams& params);
// arg is Command::arg of RCPT ("TO:<path> [params]"); "<Postmaster>" alone
// is a valid forward path (domain empty).
std::optional<SyntaxError> parse_rcpt(std::string_view arg, Path& path, RcptParams& params);

// RFC 5321 4.5.3.1: octets, as written (quotes, route and brackets count).
inline constexpr size_t kMaxLocalPart = 64;
inline constexpr size_t kMaxDomain = 255;
inline constexpr size_t kMaxPath = 256;

// RFC 3461 4 xtext ("a+40b" -> "a@b"), RFC 6533's raw UTF-8 allowed;
// nullopt when malformed. For ENVID and ORCPT, kept encoded until a DSN
// shows them.
std::optional<std::string> xtext_decode(std::string_view v);

// The core's UTF-8 rules (utf8.h), by their short names here.
using gannet::has_8bit;
using gannet::utf8_sequence;
using gannet::valid_utf8;

}  // namespace gannet::smtp
