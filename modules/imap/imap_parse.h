// IMAP's command grammar (RFC 3501 9, RFC 9051 9) as pure functions over
// bytes: no socket, no store. The session gathers a command in its wire
// form, literals inline ("{5}\r\nhello"), and hands it here whole.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "digits.h"

namespace gannet::imap {

// Parenthesised lists nest at most this deep (a FETCH of a nested
// HEADER.FIELDS needs 3); deeper is a BAD, never a deep recursion.
inline constexpr size_t kMaxDepth = 16;
// Arguments in all, lists' items included.
inline constexpr size_t kMaxArgs = 10'000;

struct Arg {
  enum class Kind { atom, string, list, nil };
  Kind kind = Kind::atom;
  std::string text;        // an atom as written, or a string's octets
  std::vector<Arg> items;  // a list's
  bool is(std::string_view upper) const;  // an atom equal to upper, any case
  // An astring: what may name a mailbox, a user, a search string.
  bool is_string() const { return kind == Kind::atom || kind == Kind::string; }
};

struct Command {
  std::string tag;
  std::string name;  // upper-case; "UID FETCH" for the UID forms
  std::vector<Arg> args;
};

// The command in wire form without its final CRLF. On error, the reason
// (for a tagged BAD) and whatever tag was read.
std::optional<std::string> parse_command(std::string_view wire, Command& out);

// A line that ends in a literal's announcement: "{n}" or "{n+}" (RFC 7888).
struct Literal {
  uint64_t size = 0;
  bool sync = true;  // "{n}": the client waits for "+"
};
// nullopt when the line announces none; *bad set when it ends in a brace
// that is not a well-formed one ({4294967296000000000000}, {12x}).
std::optional<Literal> literal_at_end(std::string_view line, bool* bad);

// A sequence set ("1:3,7,9:*"); '*' is 0 here, to be read as the largest
// number in use. Refused: a zero, a malformed range, more than max ranges.
struct Range {
  uint32_t lo = 0, hi = 0;
};
std::optional<std::vector<Range>> parse_sequence_set(std::string_view s, size_t max_ranges = 100'000);
// "1:3,7": numbers as a set, ranges joined (UIDPLUS, VANISHED, MODIFIED).
std::string set_text(std::vector<uint32_t> numbers);
// Whether n is in set, where '*' means star.
bool in_set(const std::vector<Range>& set, uint32_t n, uint32_t star);

std::string to_upper(std::string_view s);  // ASCII letters only

// A string as a response writes it: quoted if it can be, else a literal.
std::string astring(std::string_view s);
// The same, NIL for nullopt.
std::string nstring(const std::optional<std::string_view>& s);

}  // namespace gannet::imap
