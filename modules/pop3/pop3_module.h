// The POP3 module: download-and-delete (RFC 1939, 2449, 2595, 5034),
// configured per server { protocol pop3; }.
#pragma once

#include <cstdint>
#include <optional>

#include "module.h"

namespace gannet {

extern Module pop3_module;

namespace pop3 {

struct Pop3Conf : ModuleConf {
  std::optional<bool> auth_plaintext;          // USER/PASS and AUTH without TLS (tests only)
  std::optional<uint64_t> auth_failure_delay;  // ms before a failed login's -ERR
};

}  // namespace pop3
}  // namespace gannet
