// UTF-8 as RFC 3629 has it: no overlongs, no surrogates, nothing past
// U+10FFFF. One validator for SMTPUTF8 addresses, SASL fields, mailbox
// names (modified UTF-7) and IMAP's UTF8=ACCEPT.
#pragma once

#include <cstddef>
#include <string_view>

namespace gannet {

// Length of the well-formed sequence that starts s, 0 if there is none.
// ASCII counts as a sequence of 1.
size_t utf8_sequence(std::string_view s);
bool valid_utf8(std::string_view s);
// Any octet past ASCII: what needs SMTPUTF8 in an address or header, or
// 8bit as a body's Content-Transfer-Encoding.
bool has_8bit(std::string_view s);

}  // namespace gannet
