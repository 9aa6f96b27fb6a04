// Lines and header fields of a message (RFC 5322 2.2). CRLF and bare LF both
// end a line: stored messages keep the line endings they arrived with.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gannet::mail {

// One line of `in`: content [start, end), line break [end, next). The last
// line of the input may have no line break (end == next).
struct Line {
  size_t start, end, next;
  bool blank() const { return start == end && next > end; }
  bool has_break() const { return next > end; }
};
Line line_at(std::string_view in, size_t pos);

// Splits a whole field ("Name: value", folded lines included, without its
// final line break) into its name and raw value. False when the first line
// has no colon or the name has white space or control characters in it
// (the obsolete space before the colon is allowed).
bool split_field(std::string_view field, std::string_view& name, std::string_view& value);

// Drops the line breaks of folding (RFC 5322 2.2.3) and trims white space at
// both ends.
std::string unfold(std::string_view value);

}  // namespace gannet::mail
