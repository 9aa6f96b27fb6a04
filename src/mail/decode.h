// Turning what a message says into the text it means: RFC 2047 encoded
// words in header fields, RFC 2045 transfer encodings of bodies, and
// charsets to UTF-8 (glibc's iconv). For searching, not for storing: the
// store keeps the octets as they came. Pure functions, never failing:
// what cannot be decoded stays as it was.
#pragma once

#include <string>
#include <string_view>

namespace gannet::mail {

// "=?UTF-8?Q?caf=C3=A9?= au lait" -> "café au lait". White space between
// two encoded words goes (RFC 2047 6.2); an unknown charset or a broken
// word is kept as written.
std::string decode_words(std::string_view value);

// A body in its Content-Transfer-Encoding ("base64", "quoted-printable";
// anything else is returned as it is).
std::string decode_transfer(std::string_view body, std::string_view encoding);

// Octets in charset to UTF-8; US-ASCII and UTF-8 are taken as they are, an
// unknown charset too.
std::string to_utf8(std::string_view text, std::string_view charset);

}  // namespace gannet::mail
