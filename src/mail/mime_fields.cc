#include "mail/mime_fields.h"

#include <algorithm>

#include "mail/lexer.h"

namespace gannet::mail {

namespace {

bool is_not_semicolon(char c) { return c != ';'; }

// *(";" attribute "=" value). Lenient where mail is often broken: a value
// that is not a token nor a quoted string ("name=My File.pdf") runs to the
// next ';', and anything unreadable is skipped up to the next ';'.
void parse_params(std::string_view s, size_t& i, std::vector<Param>& params, size_t max) {
  while (i < s.size()) {
    skip_cfws(s, i);
    if (i >= s.size()) break;
    if (s[i] != ';') {
      if (s[i] == '"') {
        std::string ignored;
        read_quoted(s, i, ignored);
      } else {
        i++;
      }
      continue;
    }
    i++;
    skip_cfws(s, i);
    std::string_view name = read_run(s, i, is_token);
    skip_cfws(s, i);
    if (name.empty() || i >= s.size() || s[i] != '=') continue;
    i++;
    skip_cfws(s, i);
    Param p{to_lower(name), {}};
    if (i < s.size() && s[i] == '"') {
      read_quoted(s, i, p.value);
    } else {
      size_t start = i;
      p.value = read_run(s, i, is_token);
      size_t after = i;
      skip_cfws(s, i);
      if (i < s.size() && s[i] != ';') {  // not a token after all: take the raw text
        i = start;
        std::string_view raw = read_run(s, i, is_not_semicolon);
        while (!raw.empty() && is_wsp(raw.back())) raw.remove_suffix(1);
        p.value = raw;
      } else if (p.value.empty()) {
        i = after;
      }
    }
    if (params.size() < std::min(max, max_field_params)) params.push_back(std::move(p));
  }
}

}  // namespace

bool parse_content_type(std::string_view s, std::string& type, std::string& subtype, std::vector<Param>& params,
                        size_t max) {
  size_t i = 0;
  skip_cfws(s, i);
  std::string_view t = read_run(s, i, is_token);
  skip_cfws(s, i);
  if (t.empty() || i >= s.size() || s[i] != '/') return false;
  i++;
  skip_cfws(s, i);
  std::string_view st = read_run(s, i, is_token);
  if (st.empty()) return false;
  type = to_lower(t);
  subtype = to_lower(st);
  params.clear();
  parse_params(s, i, params, max);
  return true;
}

bool parse_disposition(std::string_view s, std::string& type, std::vector<Param>& params, size_t max) {
  size_t i = 0;
  skip_cfws(s, i);
  std::string_view t = read_run(s, i, is_token);
  if (t.empty()) return false;
  type = to_lower(t);
  params.clear();
  parse_params(s, i, params, max);
  return true;
}

std::vector<std::string> parse_language(std::string_view s, size_t max) {
  std::vector<std::string> tags;
  size_t i = 0;
  while (i < s.size() && tags.size() < std::min(max, max_field_params)) {
    skip_cfws(s, i);
    std::string_view tag = read_run(s, i, is_token);
    if (!tag.empty()) tags.emplace_back(tag);
    else if (i < s.size()) i++;  // ',' or junk
  }
  return tags;
}

std::string parse_token(std::string_view s) {
  size_t i = 0;
  skip_cfws(s, i);
  return to_lower(read_run(s, i, is_token));
}

const Param* find_param(const std::vector<Param>& params, std::string_view name) {
  for (const Param& p : params)
    if (p.name == name) return &p;
  return nullptr;
}

}  // namespace gannet::mail
