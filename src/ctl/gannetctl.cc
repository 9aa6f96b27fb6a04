// gannetctl -c FILE <noun> <verb> [args]: the admin CLI. It reads the same
// config as gannet and opens the same store, safely beside a running server
// (LMDB lets one writer in at a time across processes).
#include <cstdio>
#include <filesystem>

#include "ctl/ctl.h"
#include "store/store_module.h"

using namespace gannet;
using namespace gannet::ctl;

namespace gannet::ctl {

int fail(const std::string& msg) {
  fprintf(stderr, "gannetctl: %s\n", msg.c_str());
  return 1;
}

int report(store::Status s, const std::string& what, const std::string& done) {
  if (s == store::Status::ok) {
    if (!done.empty()) printf("%s\n", done.c_str());
    return 0;
  }
  return fail(what + ": " + store::status_text(s));
}

bool Ctl::has_option(std::string_view name) const {
  for (auto& o : options)
    if (o == name || o.starts_with(std::string(name) + "=")) return true;
  return false;
}

std::string Ctl::option(std::string_view name, std::string_view def) const {
  std::string prefix = std::string(name) + "=";
  for (auto& o : options)
    if (o.starts_with(prefix)) return o.substr(prefix.size());
  return std::string(def);
}

}  // namespace gannet::ctl

namespace {

// Every command table; a new file of commands adds its table here.
const std::span<const Command> tables[] = {account_commands(), dns_commands(), queue_commands(), import_commands(),
                                               passwd_file_commands()};

int usage() {
  fprintf(stderr, "Usage: gannetctl [-c FILE] [-p PREFIX] <noun> <verb> [args]\n\nCommands:\n");
  for (auto table : tables)
    for (auto& c : table) fprintf(stderr, "  %s\n", c.usage);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string conf = "conf/gannet.conf", prefix;
  Ctl ctl;
  std::vector<std::string> words;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "-c" && i + 1 < argc) conf = argv[++i];
    else if (a == "-p" && i + 1 < argc) prefix = argv[++i];
    else if (a == "-h" || a == "--help") return usage();
    else if (a.starts_with("--")) ctl.options.push_back(a);
    else words.push_back(a);
  }
  if (words.empty()) return usage();
  const Command* cmd = nullptr;
  size_t used = 0;  // words that named the command
  for (auto table : tables)
    for (auto& c : table) {
      if (words[0] != c.noun) continue;
      if (words.size() > 1 && words[1] == c.verb) cmd = &c, used = 2;
      else if (!*c.verb && !cmd) cmd = &c, used = 1;
    }
  if (!cmd) return fail("unknown command \"" + words[0] + (words.size() > 1 ? " " + words[1] : "") + "\" (gannetctl -h lists them)");
  ctl.args.assign(words.begin() + used, words.end());
  if (ctl.args.size() < cmd->min_args || ctl.args.size() > cmd->max_args) return fail(std::string("usage: gannetctl ") + cmd->usage);

  std::error_code ec;
  auto abs = std::filesystem::absolute(conf, ec);
  if (!ec) conf = abs.lexically_normal().string();
  if (prefix.empty()) prefix = std::filesystem::path(conf).parent_path().string();
  try {
    ctl.cycle = load_cycle(conf, prefix);
  } catch (const ConfError& e) {
    return fail("[emerg] " + e.where());
  }
  std::string err;
  ctl.store = open_store(*ctl.cycle, err);
  if (!ctl.store) return fail(err);
  return cmd->run(ctl);
}
