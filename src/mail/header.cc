#include "mail/header.h"

#include <cstring>

#include "mail/lexer.h"

namespace gannet::mail {

Line line_at(std::string_view in, size_t pos) {
  const void* lf = pos < in.size() ? std::memchr(in.data() + pos, '\n', in.size() - pos) : nullptr;
  if (!lf) return {pos, in.size(), in.size()};
  size_t nl = static_cast<const char*>(lf) - in.data();
  size_t end = nl > pos && in[nl - 1] == '\r' ? nl - 1 : nl;
  return {pos, end, nl + 1};
}

bool split_field(std::string_view field, std::string_view& name, std::string_view& value) {
  size_t colon = field.find(':');
  if (colon == std::string_view::npos) return false;
  size_t n = colon;
  while (n > 0 && is_wsp(field[n - 1])) n--;
  if (n == 0) return false;
  for (size_t i = 0; i < n; i++) {
    auto c = static_cast<unsigned char>(field[i]);
    if (c <= ' ' || c == 0x7f) return false;
  }
  name = field.substr(0, n);
  value = field.substr(colon + 1);
  return true;
}

std::string unfold(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); i++) {
    char c = value[i];
    if (c == '\n') continue;
    if (c == '\r' && i + 1 < value.size() && value[i + 1] == '\n') continue;
    out += c;
  }
  size_t b = 0, e = out.size();
  while (b < e && is_wsp(out[b])) b++;
  while (e > b && is_wsp(out[e - 1])) e--;
  return out.substr(b, e - b);
}

}  // namespace gannet::mail
