// Message flags as IMAP writes and reads them: the five system flags as the
// store's bits, keywords by name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "imap_parse.h"

namespace gannet::imap {

// "(\Seen \Flagged $Label1)"
std::string flags_text(uint32_t flags, const std::vector<std::string>& keywords);

// A flag list (or one flag) from STORE or APPEND. False for \Recent, an
// unknown system flag, or what is not a flag at all.
bool parse_flags(const Arg& a, uint32_t& flags, std::vector<std::string>& keywords);

}  // namespace gannet::imap
