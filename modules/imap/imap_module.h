// The IMAP module: the mail people read (RFC 3501 IMAP4rev1, RFC 9051
// IMAP4rev2), configured per server { protocol imap; }.
#pragma once

#include <cstdint>
#include <optional>

#include "module.h"

namespace gannet {

extern Module imap_module;

namespace imap {

struct ImapConf : ModuleConf {
  std::optional<bool> auth_plaintext;         // LOGIN and AUTHENTICATE without TLS (tests only)
  std::optional<uint64_t> auth_failure_delay;  // ms before a failed login's NO
  std::optional<uint64_t> max_command;        // a command's octets, literals aside
  std::optional<uint64_t> max_literal;        // one literal's octets
};

}  // namespace imap
}  // namespace gannet
