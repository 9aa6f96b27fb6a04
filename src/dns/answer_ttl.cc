#include "dns/answer_ttl.h"

#include <algorithm>

namespace gannet::dns {

namespace {

constexpr uint16_t kSoa = 6;

uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t u32(const uint8_t* p) { return static_cast<uint32_t>(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

// Past a (possibly compressed) name at `at`; nullopt if it runs off the end.
std::optional<size_t> skip_name(const uint8_t* m, size_t len, size_t at) {
  for (int labels = 0; at < len && labels < 128; labels++) {
    uint8_t n = m[at];
    if (n == 0) return at + 1;
    if ((n & 0xc0) == 0xc0) return at + 2 <= len ? std::optional<size_t>(at + 2) : std::nullopt;  // a pointer ends it
    if (n & 0xc0) return std::nullopt;
    at += 1 + n;
  }
  return std::nullopt;
}

}  // namespace

std::optional<uint32_t> answer_ttl(const uint8_t* m, size_t len) {
  if (len < 12) return std::nullopt;
  size_t questions = u16(m + 4), answers = u16(m + 6), authority = u16(m + 8);
  size_t at = 12;
  for (size_t i = 0; i < questions; i++) {
    auto end = skip_name(m, len, at);
    if (!end || *end + 4 > len) return std::nullopt;
    at = *end + 4;
  }
  std::optional<uint32_t> ttl;
  for (size_t i = 0; i < answers + authority; i++) {
    auto end = skip_name(m, len, at);
    if (!end || *end + 10 > len) return std::nullopt;
    uint16_t type = u16(m + *end);
    uint32_t rr_ttl = u32(m + *end + 4);
    size_t rdata = *end + 10, rdlen = u16(m + *end + 8);
    if (rdata + rdlen > len) return std::nullopt;
    if (i < answers) {
      ttl = std::min(ttl.value_or(rr_ttl), rr_ttl);
    } else if (answers == 0 && type == kSoa) {  // negative: the SOA's MINIMUM bounds it too (RFC 2308 5)
      auto mname = skip_name(m, rdata + rdlen, rdata);
      auto rname = mname ? skip_name(m, rdata + rdlen, *mname) : std::nullopt;
      if (!rname || *rname + 20 > rdata + rdlen) return std::nullopt;
      ttl = std::min(rr_ttl, u32(m + *rname + 16));
    }
    at = rdata + rdlen;
  }
  return ttl;
}

}  // namespace gannet::dns
