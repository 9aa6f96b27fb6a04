// IMAP's modified UTF-7 (RFC 3501 5.1.3), the spelling of non-ASCII mailbox
// names on the wire and in Maildir++ folder names. The store keeps names in
// UTF-8; this converts at those two edges.
//
// Printable ASCII stands for itself, "&" is written "&-", and every run of
// other characters is "&" + UTF-16BE in base64 (with "," for "/") + "-".
// Both directions are strict, so a name has exactly one spelling: decoding
// refuses what the encoder never writes (base64 for printable ASCII, two runs
// back to back, padding bits set, lone surrogates), and
// encode(decode(x)) == x whenever decode succeeds.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "utf8.h"  // valid_utf8: the rules mutf7_encode applies

namespace gannet::store {

// Empty when the input is not valid UTF-8 (overlong, surrogate, > U+10FFFF).
std::optional<std::string> mutf7_encode(std::string_view utf8);
// Empty when the input is not canonical modified UTF-7.
std::optional<std::string> mutf7_decode(std::string_view mutf7);

}  // namespace gannet::store
