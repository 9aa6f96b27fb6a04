// Base64 (RFC 4648 4) for everyone who needs it: SASL, DKIM keys and,
// later, DKIM signatures and IMAP AUTHENTICATE.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace gannet {

std::string base64_encode(std::string_view in);
// Strict: padded, no whitespace. nullopt if in is not base64 or decodes to
// more than max octets. "" decodes to "".
std::optional<std::string> base64_decode(std::string_view in, size_t max);

}  // namespace gannet
