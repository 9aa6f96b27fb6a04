#include "mail/lexer.h"
#include "imap_flags.h"

#include <algorithm>

namespace gannet::imap {

using mail::iequals;

namespace {

constexpr const char* kSystem[] = {"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"};  // bit i

// A keyword is an atom: no specials, no '\' (RFC 3501 9 flag-keyword).
bool keyword_ok(std::string_view k) {
  if (k.empty() || k.size() > 255) return false;
  for (unsigned char c : k)
    if (c <= ' ' || c >= 0x7f || c == '(' || c == ')' || c == '{' || c == '%' || c == '*' || c == '"' ||
        c == '\\' || c == ']')
      return false;
  return true;
}

bool one_flag(const Arg& a, uint32_t& flags, std::vector<std::string>& keywords) {
  if (a.kind != Arg::Kind::atom) return false;
  if (a.text.starts_with('\\')) {
    for (int i = 0; i < 5; i++)
      if (iequals(a.text, kSystem[i])) return flags |= 1u << i, true;
    return false;
  }
  if (!keyword_ok(a.text)) return false;
  // Keywords are case-insensitive: the first spelling stays.
  if (std::none_of(keywords.begin(), keywords.end(), [&](auto& k) { return iequals(k, a.text); }))
    keywords.push_back(a.text);
  return true;
}

}  // namespace

std::string flags_text(uint32_t flags, const std::vector<std::string>& keywords) {
  std::string s;
  for (int i = 0; i < 5; i++)
    if (flags & (1u << i)) s += (s.empty() ? "" : " ") + std::string(kSystem[i]);
  for (auto& k : keywords) s += (s.empty() ? "" : " ") + k;
  return "(" + s + ")";
}

bool parse_flags(const Arg& a, uint32_t& flags, std::vector<std::string>& keywords) {
  flags = 0;
  keywords.clear();
  if (a.kind != Arg::Kind::list) return one_flag(a, flags, keywords);
  for (auto& f : a.items)
    if (!one_flag(f, flags, keywords)) return false;
  return true;
}

}  // namespace gannet::imap
