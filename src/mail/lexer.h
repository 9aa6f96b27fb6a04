// The lexical tokens shared by structured header fields (RFC 5322 3.2, RFC
// 2045 5.1): white space and comments, quoted strings, atoms, MIME tokens.
// Each reader starts at s[i] and moves i past what it took. None recurses
// (nested comments are a counter), so "((((..." costs linear time.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gannet::mail {

inline bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// RFC 5322 atext, plus 8-bit bytes (RFC 6532 allows UTF-8; older mail has
// raw Latin-1, which a reader shows better than nothing).
bool is_atext(char c);
// RFC 2045 token characters, plus 8-bit bytes for the same reason.
bool is_token(char c);

// Skips spaces, tabs, line breaks and comments, nested or not. When `comment`
// is given it receives the text of the last comment skipped, if any.
void skip_cfws(std::string_view s, size_t& i, std::string* comment = nullptr);

// At '"': appends the string's content, unescaped. An unterminated string
// runs to the end of s.
void read_quoted(std::string_view s, size_t& i, std::string& out);

// The longest run of characters satisfying `pred` (possibly empty).
std::string_view read_run(std::string_view s, size_t& i, bool (*pred)(char));

// At '[': a domain literal, brackets included, as written.
std::string_view read_domain_literal(std::string_view s, size_t& i);

std::string to_lower(std::string_view);
bool iequals(std::string_view a, std::string_view b);

}  // namespace gannet::mail
