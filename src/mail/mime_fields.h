// The structured MIME header fields (RFC 2045, 2183, 3282): a value and its
// parameters. Parameters keep the form they were written in: RFC 2231
// continuations ("name*0", "name*1*") are not joined, as IMAP passes them on.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace gannet::mail {

struct Param {
  std::string name;  // lower-cased
  std::string value; // unquoted
  bool operator==(const Param&) const = default;
};

// One field's list stops growing here (and earlier when the caller says):
// ";a=b" repeated costs far more memory than the bytes it came from.
constexpr size_t max_field_params = 64;

// "type/subtype *(; param)", both names lower-cased. False when the type or
// subtype is missing: the caller keeps its default (RFC 2045 5.2).
bool parse_content_type(std::string_view value, std::string& type, std::string& subtype,
                        std::vector<Param>& params, size_t max = max_field_params);

// Content-Disposition: "type *(; param)", the type lower-cased; false when
// there is none.
bool parse_disposition(std::string_view value, std::string& type, std::vector<Param>& params,
                       size_t max = max_field_params);

// Content-Language: a comma-separated list of tags.
std::vector<std::string> parse_language(std::string_view value, size_t max = max_field_params);

// The first token, lower-cased (Content-Transfer-Encoding); empty if none.
std::string parse_token(std::string_view value);

const Param* find_param(const std::vector<Param>& params, std::string_view name);

}  // namespace gannet::mail
