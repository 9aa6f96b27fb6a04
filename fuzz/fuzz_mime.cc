// The MIME parser (src/mail) on arbitrary bytes. Every parse must give what
// IMAP relies on: a well-formed part tree, every offset inside the input,
// part numbers that find their part again, and a cached form (meta) that
// reads back equal. The input is also fed to decode_meta as if it were a
// damaged cache: refused, or well formed.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mail/message_parser.h"

using namespace gannet::mail;

namespace {

void check(std::string_view in, const Limits& limits) {
  ParsedMessage m = parse_message(in, limits);
  if (m.size != in.size() || !well_formed(m)) abort();
  if (m.parts.size() > limits.max_parts) abort();
  for (uint32_t i = 0; i < m.parts.size(); i++) {
    const Part& p = m.parts[i];
    for (uint64_t off : {p.header_start, p.header_end, p.body_start, p.body_end})
      if (off > in.size()) abort();
    if (p.lines > p.size()) abort();
    // A message's multipart body shares its number with the message part.
    bool numbered = !(p.envelope != Part::none && p.multipart());
    if (numbered && find_section(m, section_of(m, i)) != i) abort();
  }
  ParsedMessage back;
  if (!decode_meta(encode_meta(m), back) || !(back == m)) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  check(in, Limits{});
  // Small limits, so that every limit's path is reached by small inputs.
  check(in, Limits{.max_depth = 3, .max_parts = 8, .max_header_lines = 6, .max_addresses = 5, .max_params = 5});
  ParsedMessage junk;
  if (decode_meta(in, junk) && !well_formed(junk)) abort();
  return 0;
}
