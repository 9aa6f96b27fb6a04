// A message's ENVELOPE (RFC 3501 7.4.2): ten header fields, each kept as its
// unfolded value and, for the six address fields, parsed as well.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mail/address.h"

namespace gannet::mail {

struct Envelope {
  // The first occurrence of each field, unfolded; nullopt when the message
  // has none (IMAP's NIL). Sender and Reply-To are not defaulted to From
  // here: that is how IMAP presents them, not what the message says.
  std::optional<std::string> date, subject, from, sender, reply_to, to, cc, bcc, in_reply_to, message_id;
  std::vector<Address> from_list, sender_list, reply_to_list, to_list, cc_list, bcc_list;
  bool operator==(const Envelope&) const = default;
};

// The fields in ENVELOPE order, with their lists (null for the four that are
// not address fields). Encoders and the header reader walk this table.
struct EnvelopeField {
  std::string_view name;  // lower-case
  std::optional<std::string> Envelope::*raw;
  std::vector<Address> Envelope::*list;
};
extern const std::array<EnvelopeField, 10> envelope_fields;

// Records a header field if it is an envelope field seen for the first time;
// `value` is the raw value, as folded in the message. Address lists take at most `max_addresses` entries,
// and the count taken is subtracted from it. False if the field was ignored.
bool set_envelope_field(Envelope& env, std::string_view name, std::string_view value, size_t& max_addresses);

}  // namespace gannet::mail
