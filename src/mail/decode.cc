#include "mail/decode.h"

#include <iconv.h>

#include <cerrno>
#include <cstring>

#include "base64.h"
#include "mail/lexer.h"

namespace gannet::mail {

namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Quoted-printable; in an encoded word (q) '_' is a space and there are no
// soft line breaks.
std::string decode_qp(std::string_view in, bool q) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); i++) {
    char c = in[i];
    if (q && c == '_') {
      out += ' ';
    } else if (c == '=' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out += static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
      i += 2;
    } else if (!q && c == '=' && (in.substr(i + 1, 2) == "\r\n" || in.substr(i + 1, 1) == "\n")) {
      i += in[i + 1] == '\r' ? 2 : 1;  // a soft line break
    } else {
      out += c;
    }
  }
  return out;
}

// Base64 that tolerates line breaks and stops at what is not base64.
std::string decode_b64(std::string_view in) {
  std::string clean;
  clean.reserve(in.size());
  for (char c : in) {
    if (isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/') clean += c;
    else if (c == '=') break;
  }
  while (clean.size() % 4) clean += '=';
  return base64_decode(clean, clean.size()).value_or(std::string(in));
}

// One "=?charset?enc?text?=" at the start of s; its length in `used`.
bool encoded_word(std::string_view s, std::string& out, size_t& used) {
  if (!s.starts_with("=?")) return false;
  size_t q1 = s.find('?', 2);
  if (q1 == std::string_view::npos || q1 + 2 >= s.size() || s[q1 + 2] != '?') return false;
  size_t end = s.find("?=", q1 + 3);
  if (end == std::string_view::npos) return false;
  std::string_view charset = s.substr(2, q1 - 2), text = s.substr(q1 + 3, end - q1 - 3);
  if (auto star = charset.find('*'); star != std::string_view::npos) charset = charset.substr(0, star);  // RFC 2231 language
  char enc = static_cast<char>(toupper(static_cast<unsigned char>(s[q1 + 1])));
  if ((enc != 'Q' && enc != 'B') || text.find(' ') != std::string_view::npos) return false;
  out = to_utf8(enc == 'B' ? decode_b64(text) : decode_qp(text, true), charset);
  used = end + 2;
  return true;
}

}  // namespace

std::string decode_words(std::string_view v) {
  std::string out, space;  // white space not written yet
  bool after_word = false;
  for (size_t i = 0; i < v.size();) {
    std::string word;
    size_t used = 0;
    if (v[i] == '=' && encoded_word(v.substr(i), word, used)) {
      if (!after_word) out += space;  // between two encoded words it goes
      space.clear();
      out += word;
      after_word = true;
      i += used;
    } else if (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n') {
      space += v[i++];
    } else {
      out += space;
      space.clear();
      out += v[i++];
      after_word = false;
    }
  }
  return out + space;
}

std::string decode_transfer(std::string_view body, std::string_view encoding) {
  if (iequals(encoding, "base64")) return decode_b64(body);
  if (iequals(encoding, "quoted-printable")) return decode_qp(body, false);
  return std::string(body);
}

std::string to_utf8(std::string_view text, std::string_view charset) {
  if (charset.empty() || iequals(charset, "utf-8") || iequals(charset, "us-ascii") || iequals(charset, "utf8"))
    return std::string(text);
  iconv_t cd = iconv_open("UTF-8", std::string(charset).c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) return std::string(text);
  std::string out(text.size() * 4 + 16, '\0');
  char* in = const_cast<char*>(text.data());
  size_t in_left = text.size(), out_left = out.size();
  char* dst = out.data();
  while (in_left > 0) {
    if (iconv(cd, &in, &in_left, &dst, &out_left) != static_cast<size_t>(-1)) break;
    if (errno != EILSEQ && errno != EINVAL) break;
    // An octet the charset does not have: U+FFFD, and go on.
    if (out_left < 3) break;
    memcpy(dst, "\xEF\xBF\xBD", 3);
    dst += 3, out_left -= 3;
    in++, in_left--;
  }
  iconv_close(cd);
  out.resize(out.size() - out_left);
  return out;
}

}  // namespace gannet::mail
