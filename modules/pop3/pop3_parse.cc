#include "pop3_parse.h"

#include <cstring>

namespace gannet::pop3 {

std::optional<Command> parse_command(std::string_view line) {
  if (line.empty() || line.size() > kMaxCommandLine) return std::nullopt;
  for (unsigned char c : line)
    if (c < 0x20 || c >= 0x7f) return std::nullopt;
  Command c;
  size_t sp = line.find(' ');
  std::string_view word = line.substr(0, sp);
  if (word.size() < 3 || word.size() > 4) return std::nullopt;
  for (char ch : word) {
    if (!isalpha(static_cast<unsigned char>(ch))) return std::nullopt;
    c.keyword += static_cast<char>(toupper(static_cast<unsigned char>(ch)));
  }
  if (sp == std::string_view::npos) return c;
  std::string_view rest = line.substr(sp + 1);
  if (c.keyword == "PASS") {  // a password may hold spaces (RFC 1939 7)
    c.args.emplace_back(rest);
    return c;
  }
  while (!rest.empty()) {
    size_t next = rest.find(' ');
    c.args.emplace_back(rest.substr(0, next));
    if (next == std::string_view::npos) break;
    rest.remove_prefix(next + 1);
  }
  return c;
}

// memchr finds the dots, rarer than line ends (base64 has none): a piece
// with no line to stuff costs a scan and no copy, and one with some about a
// memcpy.
bool stuff(std::string_view piece, bool& at_line_start, std::string& out) {
  if (piece.empty()) return false;
  const char* begin = piece.data();
  const char* end = begin + piece.size();
  const char* run = begin;  // start of what is not yet copied
  bool copied = false;
  for (const char* p = begin; (p = static_cast<const char*>(memchr(p, '.', end - p))); p++) {
    if (p == begin ? !at_line_start : p[-1] != '\n') continue;
    if (!copied) out.reserve(out.size() + piece.size() + 64), copied = true;
    out.append(run, p);
    out += '.';
    run = p;
  }
  if (copied) out.append(run, end);
  at_line_start = end[-1] == '\n';
  return copied;
}

}  // namespace gannet::pop3
