// What FETCH says of a message's structure, from the parse cached with its
// body: ENVELOPE, BODY and BODYSTRUCTURE as RFC 3501 7.4.2 and RFC 9051
// 7.5.2 format them, and the octets a BODY[section] names. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mail/message_parser.h"

namespace gannet::imap {

std::string envelope(const mail::Envelope& e);

// The part's BODY (extensible false) or BODYSTRUCTURE (true).
std::string body_structure(const mail::ParsedMessage& m, uint32_t part, bool extensible);

// section-spec (RFC 3501 9): what is inside BODY[...].
struct Section {
  enum Kind { all, header, text, fields, fields_not, mime } kind = all;
  std::string part;                 // "1.2"; empty: the message itself
  std::vector<std::string> field_names;  // HEADER.FIELDS (.NOT), upper-case
  std::string name() const;         // as the response names it
};
std::optional<Section> parse_section(std::string_view spec);

// Where a section lies in the message, for every kind but the HEADER.FIELDS
// ones (which pick lines): [first, second). nullopt when the message has
// no such part; {0, 0} for a fields kind.
std::optional<std::pair<uint64_t, uint64_t>> section_range(uint64_t size, const mail::ParsedMessage& m, const Section& s);

// The section's octets; nullopt when the message has no such part.
std::optional<std::string> section_octets(std::string_view message, const mail::ParsedMessage& m, const Section& s);

}  // namespace gannet::imap
