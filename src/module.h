// The module API: what a protocol or filter module declares to the core.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "conf.h"
#include "phase.h"

namespace gannet {

// Bumped whenever a struct a module sees changes layout; load_module
// refuses a shared object built against another value.
inline constexpr uint32_t kModuleAbi = 4;

class Connection;
class Session;
class Worker;
struct ServerConf;

// How a protocol's lines end on the wire.
enum class LineEnd {
  crlf,  // only CRLF ends a line; a bare LF stays inside it (SMTP DATA)
  lf,    // LF or CRLF ends a line, the CR is dropped
};

// A protocol module's behaviour, as small as nginx's ngx_mail_protocol_t.
struct Protocol {
  std::string_view name;
  uint16_t default_port = 0;
  uint16_t default_ssl_port = 0;
  LineEnd line_end = LineEnd::crlf;
  size_t max_line = 8192;
  // Builds the session for a new connection; the connection owns it.
  std::unique_ptr<Session> (*make_session)(Connection&) = nullptr;
  // The line a connection refused for want of room is sent before the
  // close (SMTP's 421); none on an implicit-TLS port.
  std::string (*busy_reply)(const ServerConf&) = nullptr;
};

struct Module {
  uint32_t abi = kModuleAbi;
  std::string_view name;
  std::span<const Directive> directives{};

  // Config lifecycle. create_*: every field unset; init_main: defaults once
  // parsing ends; merge_srv: a server inherits from mail, then defaults.
  // Returning a non-empty string is a config error.
  std::unique_ptr<ModuleConf> (*create_main_conf)() = nullptr;
  std::string (*init_main_conf)(Cycle&, ModuleConf&) = nullptr;
  std::unique_ptr<ModuleConf> (*create_srv_conf)() = nullptr;
  std::string (*merge_srv_conf)(const ModuleConf& parent, ModuleConf& child) = nullptr;

  // Process lifecycle.
  std::string (*init_master)(Cycle&) = nullptr;
  void (*worker_reaped)(Cycle&) = nullptr;  // e.g. the store frees a dead worker's reader slots
  std::string (*init_worker)(Worker&) = nullptr;
  void (*exit_worker)(Worker&) = nullptr;

  // A protocol module sets protocol; a filter module sets hooks.
  const Protocol* protocol = nullptr;
  const PhaseHooks* hooks = nullptr;

  // Set by the core: this module's position in the cycle's module list.
  mutable int index = -1;
};

// Modules compiled in (generated from meson.build's gannet_modules).
std::span<const Module* const> compiled_modules();

// What a session is: a state machine fed by its connection.
class Session {
 public:
  virtual ~Session() = default;
  // The connection is ready (after the handshake for implicit TLS).
  virtual void on_start() = 0;
  virtual void on_line(std::string_view line) = 0;
  // A line grew past the protocol's maximum; its rest is being skipped.
  // head: its first octets (the protocol's max_line), for a tag or a verb.
  virtual void on_line_too_long(std::string_view head) = 0;
  // Bytes asked for with Connection::read_bytes; last marks the final chunk.
  virtual void on_bytes(std::string_view, bool /*last*/) {}
  // Output queued earlier has drained (after Connection::notify_when_writable).
  virtual void on_writable() {}
  // The worker is shutting down gracefully: finish soon, at a safe point.
  virtual void on_drain() {}
  // The peer went quiet for too long. Return true to keep the connection
  // (the session replied and re-armed nothing); false lets the core close it.
  virtual bool on_timeout() { return false; }
};

}  // namespace gannet
