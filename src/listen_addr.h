// Parsing "listen" addresses: 127.0.0.1:25, [::1]:25, *:25, 25.
#pragma once

#include <string>
#include <string_view>

#include "cycle.h"

namespace gannet {

// Fills addr/len/text from an address argument; false on a bad one.
bool parse_listen_addr(std::string_view arg, ListenAddr& out);

// "127.0.0.1:25", "[::1]:25": an address as logs and errors show it.
std::string sockaddr_text(const sockaddr_storage& ss);  // "192.0.2.1:25", "[2001:db8::1]:25"
std::string sockaddr_ip(const sockaddr_storage& ss);    // "192.0.2.1", "2001:db8::1"

}  // namespace gannet
