// RFC 5322 / MIME structure of a stored message, as IMAP needs it: where
// each part's header and body lie, its Content-* fields, and the ENVELOPE of
// every message (the top one and each message/rfc822 part). Computed once at
// delivery and cached with the body (store::Body::meta), so FETCH BODY[...],
// BODYSTRUCTURE and ENVELOPE are served from offsets without parsing again.
//
// A pure function over bytes, like Dovecot's lib-mail: no I/O, no sockets.
// It never fails. Broken mail gets the most useful reading (a missing blank
// line ends the header at the end, an unclosed boundary ends its part at the
// enclosing end); past a limit the rest of a part is an opaque text/plain
// body. Time is linear in the input and memory bounded by it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mail/envelope.h"
#include "mail/mime_fields.h"

namespace gannet::mail {

struct Limits {
  uint32_t max_depth = 100;           // multipart and message/rfc822 nesting below the top part
  uint32_t max_parts = 10'000;        // parts of all kinds, embedded messages included
  uint32_t max_header_lines = 10'000; // physical lines in one header block
  uint32_t max_addresses = 100'000;   // over every address field of every envelope
  uint32_t max_params = 100'000;      // parameters and language tags over every part
};

// One MIME part. The whole tree is a pre-order array: the children of
// parts[i] lie in (i, end), each followed by its own subtree. A multipart
// has one or more children; a message/rfc822 (or message/global) part has
// exactly one: the embedded message's top part, whose header starts where
// the part's body does.
struct Part {
  static constexpr uint32_t none = UINT32_MAX;
  uint32_t parent = none;
  uint32_t end = 0;
  uint32_t children = 0;
  uint32_t envelope = none;  // a message's top part: index into ParsedMessage::envelopes

  // Offsets into the message. [header_start, body_start) is the header with
  // the blank line that ends it (BODY[HEADER], BODY[n.MIME]); the fields
  // alone end at header_end. [body_start, body_end) is the body (BODY[TEXT],
  // BODY[n]); a part inside a multipart ends before the line break that
  // precedes the next boundary line (RFC 2046 5.1.1).
  uint64_t header_start = 0, header_end = 0, body_start = 0, body_end = 0;
  // Body lines: its line breaks, as Dovecot counts them, so a part's last
  // line (whose CRLF belongs to the boundary after it) does not count.
  uint64_t lines = 0;

  std::string type = "text", subtype = "plain";  // lower-case
  std::vector<Param> params;  // no charset default added: that is IMAP's presentation
  std::string id, description, encoding = "7bit", md5;
  std::string disposition;  // lower-case; empty when absent
  std::vector<Param> disposition_params;
  std::vector<std::string> language;
  std::string location;
  bool opaque = false;  // a limit or broken structure made it text/plain

  uint64_t size() const { return body_end - body_start; }
  bool multipart() const { return type == "multipart"; }
  bool message() const { return type == "message" && (subtype == "rfc822" || subtype == "global"); }
  bool operator==(const Part&) const = default;
};

struct ParsedMessage {
  uint64_t size = 0;              // of the whole message
  std::vector<Part> parts;        // parts[0]: the message itself (its header, its body)
  std::vector<Envelope> envelopes;  // [0]: the message's; then each embedded one, in order
  bool operator==(const ParsedMessage&) const = default;
};

ParsedMessage parse_message(std::string_view message, const Limits& limits = {});

// The invariants above, and offsets within `size`: what parse_message
// always yields and what decode_meta insists on before anything trusts it.
bool well_formed(const ParsedMessage&);

// IMAP part numbers (RFC 3501 6.4.5): "1", "1.2", ... A message whose body
// is not multipart has that body as part 1. A multipart that is a message's
// body has no number of its own: section_of gives the holding message/rfc822
// part's ("" at the top). find_section gives Part::none for no such part.
std::string section_of(const ParsedMessage&, uint32_t part);
uint32_t find_section(const ParsedMessage&, std::string_view section);

// The cached form (store::Body::meta), in message_meta.cc: a format byte,
// then varints and strings (store/codec.h). decode_meta refuses an unknown
// format, trailing bytes and anything not well_formed.
std::string encode_meta(const ParsedMessage&);
bool decode_meta(std::string_view in, ParsedMessage& out);

}  // namespace gannet::mail
