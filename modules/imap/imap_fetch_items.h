// FETCH's items (RFC 3501 6.4.5, RFC 3516, RFC 7162): what a client asks
// for, parsed from the command's arguments. Pure, so it is fuzzed alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "imap_parse.h"
#include "imap_structure.h"

namespace gannet::imap {

struct FetchItem {
  enum Kind {
    flags, uid, size, internaldate, envelope, body, bodystructure, body_section, modseq, binary, binary_size,
  } kind = flags;
  std::string name;  // as the answer names it: "BODY[HEADER]<0>"
  Section section;   // body_section, binary, binary_size
  bool peek = false;
  bool partial = false;
  uint64_t offset = 0, length = 0;  // <offset.length>

  static FetchItem of(Kind k, std::string name) {
    FetchItem it;
    it.kind = k;
    it.name = std::move(name);
    return it;
  }
};

// One item, a macro (ALL, FAST, FULL) or a list of items; false if any is
// not one we know.
bool parse_fetch_items(const Arg& what, std::vector<FetchItem>& out);

}  // namespace gannet::imap
