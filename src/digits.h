// A number as protocols write it (IMAP sizes and MODSEQs, POP3 message
// numbers, DKIM's l= and t=): ASCII digits only, no sign, no space.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace gannet {

// nullopt for anything else, an empty string, an overflow, or above max.
inline std::optional<uint64_t> parse_digits(std::string_view s, uint64_t max = UINT64_MAX) {
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || s[0] < '0' || s[0] > '9' || ec != std::errc() || p != s.data() + s.size() || n > max)
    return std::nullopt;
  return n;
}

}  // namespace gannet
