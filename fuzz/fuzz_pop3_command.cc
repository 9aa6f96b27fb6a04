// The POP3 command parser and RETR's byte-stuffing on arbitrary input: a
// parsed command is short, upper-case and printable; stuffed text, read
// back as a POP3 client reads it, is the input again.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "../modules/pop3/pop3_parse.h"

using namespace gannet::pop3;

namespace {

void check(bool ok) {
  if (!ok) abort();
}

// A client's side: a line that starts with '.' loses it.
std::string unstuff(const std::string& s) {
  std::string out;
  bool at_start = true;
  for (size_t i = 0; i < s.size(); i++) {
    if (at_start && s[i] == '.') i++;
    if (i >= s.size()) break;
    out += s[i];
    at_start = s[i] == '\n';
  }
  return out;
}

// As RETR sends a piece: stuffed, or as it is when stuff() says so.
void send_piece(std::string_view piece, bool& at_line_start, std::string& wire) {
  std::string out;
  bool stuffed = stuff(piece, at_line_start, out);
  check(stuffed ? out.size() > piece.size() : out.empty());
  wire += stuffed ? std::string_view(out) : piece;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  if (auto c = parse_command(in)) {
    check(c->keyword.size() >= 3 && c->keyword.size() <= 4 && in.size() <= kMaxCommandLine);
    for (char ch : c->keyword) check(ch >= 'A' && ch <= 'Z');
  }
  // Stuffing in two pieces is stuffing in one, and it reads back.
  std::string whole, split;
  bool a = true, b = true;
  send_piece(in, a, whole);
  send_piece(std::string_view(in).substr(0, size / 2), b, split);
  send_piece(std::string_view(in).substr(size / 2), b, split);
  check(whole == split && a == b);
  check(unstuff(whole) == in);
  return 0;
}
