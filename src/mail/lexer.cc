#include "mail/lexer.h"

namespace gannet::mail {

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? char(c + 32) : c; }
bool is_8bit(char c) { return static_cast<unsigned char>(c) >= 0x80; }
bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

}  // namespace

bool is_atext(char c) {
  if (is_alnum(c) || is_8bit(c)) return true;
  for (char x : std::string_view("!#$%&'*+-/=?^_`{|}~"))
    if (c == x) return true;
  return false;
}

bool is_token(char c) {
  if (is_8bit(c)) return true;
  if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return false;
  for (char x : std::string_view("()<>@,;:\\\"/[]?="))
    if (c == x) return false;
  return true;
}

void skip_cfws(std::string_view s, size_t& i, std::string* comment) {
  while (i < s.size()) {
    char c = s[i];
    if (is_wsp(c) || c == '\r' || c == '\n') {
      i++;
      continue;
    }
    if (c != '(') return;
    std::string text;
    size_t depth = 0;
    do {
      c = s[i++];
      if (c == '\\' && i < s.size()) {
        if (comment) text += s[i];
        i++;
        continue;
      }
      if (c == '(' && depth++ == 0) continue;
      if (c == ')' && --depth == 0) break;
      if (comment) text += c;
    } while (i < s.size());
    if (comment) *comment = std::move(text);
  }
}

void read_quoted(std::string_view s, size_t& i, std::string& out) {
  for (i++; i < s.size(); i++) {
    char c = s[i];
    if (c == '"') {
      i++;
      return;
    }
    if (c == '\\' && i + 1 < s.size()) c = s[++i];
    out += c;
  }
}

std::string_view read_run(std::string_view s, size_t& i, bool (*pred)(char)) {
  size_t start = i;
  while (i < s.size() && pred(s[i])) i++;
  return s.substr(start, i - start);
}

std::string_view read_domain_literal(std::string_view s, size_t& i) {
  size_t start = i;
  for (i++; i < s.size() && s[i] != ']'; i++)
    if (s[i] == '\\' && i + 1 < s.size()) i++;
  if (i < s.size()) i++;  // the ']'
  return s.substr(start, i - start);
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

}  // namespace gannet::mail
