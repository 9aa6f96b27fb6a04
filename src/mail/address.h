// RFC 5322 address lists (3.4), read the way IMAP's ENVELOPE presents them
// (RFC 3501 7.4.2): each mailbox as name, source route, local part and
// domain; a group as a start marker, its members, and an end marker.
//
// Mail in the wild breaks the grammar often, so the reader is lenient and
// never fails: a missing '>' or ';' is assumed, a bare "Name a@b" splits the
// local part off the phrase, a lone comment after an addr-spec becomes the
// name (as Dovecot does), and unreadable characters are skipped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gannet::mail {

struct Address {
  enum class Kind : uint8_t { mailbox, group_start, group_end };
  Kind kind = Kind::mailbox;
  std::string name;     // display name, unquoted; encoded words are kept for the client
  std::string adl;      // obsolete source route "@a,@b"; almost always empty
  std::string mailbox;  // local part, unquoted; for group_start the group's name
  std::string host;     // domain ("[1.2.3.4]" kept whole); empty in group markers
  bool operator==(const Address&) const = default;
};

// Reads an unfolded address list. At most `max` entries are kept (a hostile
// "a,a,a,..." would otherwise grow memory far beyond the input); a group
// opened within the limit is always closed.
std::vector<Address> parse_address_list(std::string_view value, size_t max);

}  // namespace gannet::mail
