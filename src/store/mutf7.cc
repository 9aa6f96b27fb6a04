#include "store/mutf7.h"

#include <cstdint>

namespace gannet::store {

namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == ',') return 63;
  return -1;
}

bool printable(uint32_t c) { return c >= 0x20 && c <= 0x7e; }

// The code point at s[i], moving i past it; empty on invalid UTF-8.
std::optional<uint32_t> next_utf8(std::string_view s, size_t& i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return i++, c;
  size_t n;
  uint32_t cp, min;
  if ((c & 0xe0) == 0xc0) n = 1, cp = c & 0x1f, min = 0x80;
  else if ((c & 0xf0) == 0xe0) n = 2, cp = c & 0x0f, min = 0x800;
  else if ((c & 0xf8) == 0xf0) n = 3, cp = c & 0x07, min = 0x10000;
  else return std::nullopt;
  if (i + n >= s.size()) return std::nullopt;  // cut short
  for (size_t k = 1; k <= n; k++) {
    if ((byte(i + k) & 0xc0) != 0x80) return std::nullopt;
    cp = cp << 6 | (byte(i + k) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return std::nullopt;
  i += n + 1;
  return cp;
}

void put_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xc0 | cp >> 6);
    out += char(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += char(0xe0 | cp >> 12);
    out += char(0x80 | (cp >> 6 & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  } else {
    out += char(0xf0 | cp >> 18);
    out += char(0x80 | (cp >> 12 & 0x3f));
    out += char(0x80 | (cp >> 6 & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  }
}

}  // namespace

std::optional<std::string> mutf7_encode(std::string_view in) {
  std::string out;
  size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i]);
    if (printable(c)) {
      out += char(c);
      if (c == '&') out += '-';
      i++;
      continue;
    }
    // One run for everything up to the next printable ASCII character.
    out += '&';
    uint32_t bits = 0;
    int nbits = 0;
    auto put16 = [&](uint32_t unit) {
      bits = bits << 16 | unit;
      for (nbits += 16; nbits >= 6;) {
        nbits -= 6;
        out += kBase64[bits >> nbits & 63];
      }
    };
    while (i < in.size() && !printable(static_cast<unsigned char>(in[i]))) {
      auto cp = next_utf8(in, i);
      if (!cp) return std::nullopt;
      if (*cp >= 0x10000) {
        put16(0xd800 + ((*cp - 0x10000) >> 10));
        put16(0xdc00 + ((*cp - 0x10000) & 0x3ff));
      } else {
        put16(*cp);
      }
    }
    if (nbits) out += kBase64[bits << (6 - nbits) & 63];
    out += '-';
  }
  return out;
}

std::optional<std::string> mutf7_decode(std::string_view in) {
  std::string out;
  size_t i = 0;
  bool after_run = false;  // a run right after a run is not how the encoder writes
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i++]);
    if (c != '&') {
      if (!printable(c)) return std::nullopt;
      out += char(c);
      after_run = false;
      continue;
    }
    if (i < in.size() && in[i] == '-') {
      out += '&';
      i++;
      after_run = false;
      continue;
    }
    if (after_run) return std::nullopt;
    uint32_t bits = 0, high = 0;
    int nbits = 0;
    size_t units = 0;
    for (;; i++) {
      if (i == in.size()) return std::nullopt;  // no closing '-'
      if (in[i] == '-') break;
      int v = base64_value(in[i]);
      if (v < 0) return std::nullopt;
      bits = bits << 6 | uint32_t(v);
      nbits += 6;
      if (nbits < 16) continue;
      nbits -= 16;
      uint32_t u = bits >> nbits & 0xffff;
      units++;
      if (high) {
        if (u < 0xdc00 || u > 0xdfff) return std::nullopt;
        put_utf8(out, 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00));
        high = 0;
      } else if (u >= 0xd800 && u <= 0xdbff) {
        high = u;
      } else if ((u >= 0xdc00 && u <= 0xdfff) || printable(u)) {
        return std::nullopt;
      } else {
        put_utf8(out, u);
      }
    }
    i++;  // the '-'
    // Only the bits that pad the last base64 digit may be left, all zero.
    if (units == 0 || high || nbits >= 6 || (bits & ((1u << nbits) - 1))) return std::nullopt;
    after_run = true;
  }
  return out;
}

}  // namespace gannet::store
