// The SMTP module: inbound MX and submission (RFC 5321, 6409).
#pragma once

typedef struct ssl_ctx_st SSL_CTX;

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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

// The delivery agent's settings (main context): one queue per store.
struct SmtpMainConf : ModuleConf {
  struct Route {
    std::string domain;  // "example.net", or "*" for every domain
    std::string host;
    uint16_t port = 25;
    bool ssl = false;  // smtp_relayhost ... ssl: TLS from the first byte
  };
  std::vector<Route> routes;  // smtp_route; smtp_relayhost is the route "*"
  // smtp_relayhost_auth: the login and password (read from its file) the
  // agent gives the relay host with AUTH PLAIN, over TLS only.
  std::optional<std::string> relay_auth_user, relay_auth_password;
  // smtp_relayhost_tls_verify, smtp_relayhost_tls_ca: the relay host must
  // do STARTTLS with a certificate for its name that the CA file vouches for.
  std::optional<bool> relay_tls_verify;
  std::optional<std::string> relay_tls_ca;
  std::shared_ptr<SSL_CTX> relay_tls;  // built from them when the config is read
  // Where the smtp_relayhost_* directives were written, for the errors
  // found once the whole file is read (no smtp_relayhost, a bad CA file).
  std::map<std::string, std::pair<std::string, int>, std::less<>> relay_directives;
  std::optional<uint64_t> queue_lifetime;   // ms
  std::optional<uint64_t> delay_warning_time;  // ms; 0: the sender is not told of delays
  std::optional<uint64_t> queue_retry;      // ms, first retry; doubles up to 4h
  std::optional<uint64_t> queue_interval;   // ms between looks at the queue
  std::optional<int64_t> delivery_port;     // where MX hosts listen
  std::optional<int64_t> delivery_concurrency;
  std::optional<std::string> helo_name;
  std::optional<bool> delivery;             // run the delivery agent in workers
};

}  // namespace smtp
}  // namespace gannet
