// A cycle is one complete, validated configuration: what the master builds
// on start and on every reload, and what its workers are forked with.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>
#include <string>
#include <span>
#include <vector>

#include "conf.h"
#include "log.h"
#include "module.h"

namespace gannet {

class TlsContext;

struct ListenAddr {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;  // normalised "127.0.0.1:2525" / "[::1]:2525"
  bool ssl = false;
  size_t server = 0;  // index into Cycle::servers
  std::string file;
  int line = 0;
};

struct ServerConf {
  ConfVector confs;  // indexed by Module::index
  std::string file;
  int line = 0;
  const Module* protocol_module = nullptr;
  const Protocol* protocol = nullptr;
  std::shared_ptr<TlsContext> tls;  // null without ssl_certificate
  std::shared_ptr<LogFile> session_log;
  template <class T> T& conf(const Module& m) const { return static_cast<T&>(*confs[m.index]); }
};

struct Cycle {
  std::string conf_file;
  std::string prefix;  // relative paths in the config resolve against it
  std::vector<const Module*> modules;
  std::vector<const Module*> filters;  // the modules with phase hooks, in module order
  std::vector<void*> dl_handles;  // load_module'd shared objects
  ConfVector main_confs;
  std::unique_ptr<ConfVector> mail;  // the mail { } level, parent of servers
  std::vector<std::unique_ptr<ServerConf>> servers;
  std::vector<ListenAddr> listens;
  std::vector<std::shared_ptr<LogFile>> log_files;  // every file this cycle writes

  ~Cycle();
  template <class T> T& main_conf(const Module& m) const { return static_cast<T&>(*main_confs[m.index]); }
  // Adds a module (compiled in or loaded) and creates its main conf.
  void add_module(const Module* m);
  std::span<const Module* const> filter_modules() const { return filters; }
  // Shares one LogFile per path across the cycle.
  std::shared_ptr<LogFile> log_file(const std::string& path);
};

// Reads, parses, merges and validates FILE. Throws ConfError with FILE:LINE.
std::unique_ptr<Cycle> load_cycle(const std::string& conf_file, const std::string& prefix);
// The same from TEXT in memory (tests, fuzzing); NAME stands for its file.
std::unique_ptr<Cycle> load_cycle_from_string(const std::string& name, std::string text, const std::string& prefix);

}  // namespace gannet
