// The core's own modules: main-context settings, events, and the mail/server
// blocks with their listeners and TLS. They hold no protocol logic.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cycle.h"
#include "module.h"

namespace gannet {

struct CoreConf : ModuleConf {
  std::optional<int64_t> worker_processes;  // 0 = auto
  std::optional<std::string> user;
  std::optional<std::string> pid;
  std::optional<std::string> error_log;
  std::optional<Level> error_level;
  std::optional<uint64_t> worker_shutdown_timeout;  // ms
  std::optional<int64_t> worker_rlimit_nofile;
  // resolved by init_main_conf
  int uid = -1, gid = -1;
  bool user_implicit = false;  // no "user" line: a root master chose the account
};

struct EventsConf : ModuleConf {
  std::optional<int64_t> worker_connections;
  bool seen = false;  // the events block appeared
};

struct MailSrvConf : ModuleConf {
  std::optional<std::string> protocol;
  std::optional<std::vector<std::string>> ssl_certificate;
  std::optional<std::vector<std::string>> ssl_certificate_key;
  std::optional<std::vector<std::string>> ssl_protocols;
  std::optional<std::string> ssl_ciphers;
  std::optional<bool> ssl_session_tickets;
  std::optional<uint64_t> ssl_session_timeout;  // ms
  std::optional<std::string> server_name;
  std::optional<uint64_t> timeout;           // idle, waiting for a command
  std::optional<uint64_t> command_timeout;   // a command or payload in progress
  std::optional<uint64_t> max_output;        // stop reading above this much pending output
  std::optional<uint64_t> message_buffer_size;  // a message's body past this goes to a spool file
  std::optional<std::string> session_log;
  std::optional<std::vector<const Module*>> filters;  // unset: every filter module, in module order
};

// The account a root master runs its workers as when no "user" is set;
// tools/install creates it.
inline constexpr const char* kDefaultUser = "gannet";

// Descriptors a worker keeps for other than connections: the store, logs,
// spooled messages, DNS; the connection limit leaves this many free.
inline constexpr size_t kReservedFds = 128;

extern Module core_module;
extern Module events_module;
extern Module mail_module;

// The modules every cycle starts with, before the compiled-in ones.
std::span<const Module* const> core_modules();

}  // namespace gannet
