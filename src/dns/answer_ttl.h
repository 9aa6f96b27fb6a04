// How long a DNS answer may be kept (RFC 1035 4.1, RFC 2308 5): the
// smallest TTL of its answer records, or for a negative answer (NXDOMAIN,
// no data) the lesser of its SOA's TTL and MINIMUM. Read straight from the
// response c-ares hands over; a pure function, fuzzed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace gannet::dns {

// nullopt if the response is malformed, or says nothing of how long it holds.
std::optional<uint32_t> answer_ttl(const uint8_t* response, size_t len);

}  // namespace gannet::dns
