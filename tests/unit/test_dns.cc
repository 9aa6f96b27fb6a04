// How long DNS answers are kept: the least TTL of the answers, or for a
// negative answer the SOA's (RFC 2308 5), read from the wire; and nothing
// from a response cut short.
#include <catch2/catch.hpp>

#include <string>

#include "dns/answer_ttl.h"

using gannet::dns::answer_ttl;

namespace {

std::string u16(unsigned v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 255)}; }
std::string u32(uint32_t v) { return u16(v >> 16) + u16(v & 0xffff); }

const std::string kName = std::string("\x02" "s1" "\x0a" "_domainkey" "\x07" "example" "\x03" "org" "\x00", 27);

std::string response(unsigned answers, unsigned authority, const std::string& records) {
  return u16(1) + u16(0x8180) + u16(1) + u16(answers) + u16(authority) + u16(0) + kName + u16(16) + u16(1) + records;
}

std::string txt_rr(uint32_t ttl) {
  std::string rdata = "\x05" "hello";
  return std::string("\xc0\x0c", 2) + u16(16) + u16(1) + u32(ttl) + u16(rdata.size()) + rdata;
}

std::string soa_rr(uint32_t ttl, uint32_t minimum) {
  std::string rdata = std::string("\x02" "ns" "\xc0\x0c", 5) + std::string("\x05" "admin" "\xc0\x0c", 8) + u32(1) + u32(2) + u32(3) +
                      u32(4) + u32(minimum);
  return std::string("\xc0\x0c", 2) + u16(6) + u16(1) + u32(ttl) + u16(rdata.size()) + rdata;
}

std::optional<uint32_t> ttl_of(const std::string& r) {
  return answer_ttl(reinterpret_cast<const uint8_t*>(r.data()), r.size());
}

}  // namespace

TEST_CASE("DNS: an answer is kept for its least TTL", "[dns]") {
  CHECK(ttl_of(response(2, 0, txt_rr(300) + txt_rr(60))) == 60u);
  CHECK(ttl_of(response(1, 0, txt_rr(0))) == 0u);
}

TEST_CASE("DNS: a negative answer for its SOA's TTL or MINIMUM, whichever is less", "[dns]") {
  CHECK(ttl_of(response(0, 1, soa_rr(3600, 120))) == 120u);
  CHECK(ttl_of(response(0, 1, soa_rr(30, 120))) == 30u);
  CHECK(!ttl_of(response(0, 0, "")));  // no SOA: nothing says how long
}

TEST_CASE("DNS: a response cut short or looping says nothing", "[dns]") {
  std::string whole = response(2, 0, txt_rr(300) + txt_rr(60));
  for (size_t cut = 0; cut < whole.size(); cut++) CHECK(!ttl_of(whole.substr(0, cut)));
  std::string loop = u16(1) + u16(0x8180) + u16(1) + u16(0) + u16(0) + u16(0) + std::string("\xc0\x0c", 2) + u16(16) + u16(1);
  CHECK(!ttl_of(loop.substr(0, 13)));
}
