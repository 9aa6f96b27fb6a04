// POP3's commands (RFC 1939 3, RFC 2449): a keyword of 3-4 letters and up
// to two arguments, as a pure function over a line; and byte-stuffing of a
// message as RETR and TOP send it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gannet::pop3 {

// RFC 2449 3: a command line is at most 255 octets, CRLF included.
inline constexpr size_t kMaxCommandLine = 253;

struct Command {
  std::string keyword;             // upper-case
  std::vector<std::string> args;   // split on single spaces; PASS keeps its whole rest
};
// nullopt for an empty, over-long or non-ASCII line, or a bad keyword.
std::optional<Command> parse_command(std::string_view line);

// Stuffs one piece of a message for the wire: a '.' starting a line gets
// another in front. at_line_start carries over between pieces. False when
// no line needed it: the piece goes as it is and nothing was appended to
// out; true when out has the piece, stuffed.
bool stuff(std::string_view piece, bool& at_line_start, std::string& out);

}  // namespace gannet::pop3
