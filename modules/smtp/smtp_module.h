// The SMTP module: inbound MX and submission (RFC 5321, 6409).
#pragma once

#include <optional>
#include <string>

#include "module.h"

namespace gannet {

extern Module smtp_module;

namespace smtp {

enum class Role { mx, submission };

struct SmtpConf : ModuleConf {
  std::optional<Role> role;
  std::optional<uint64_t> max_message_size;
  std::optional<int64_t> max_recipients;
  std::optional<int64_t> max_errors;
  std::optional<bool> vrfy;
  std::optional<bool> auth_plaintext;    // offer AUTH without TLS (tests only)
  std::optional<uint64_t> greeting_delay;  // ms; input before the banner is refused
  std::optional<uint64_t> auth_failure_delay;  // ms
};

}  // namespace smtp
}  // namespace gannet
