// gannetctl's shared pieces: what a command gets, and how it reports.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cycle.h"
#include "store/store.h"

namespace gannet::ctl {

struct Ctl {
  std::unique_ptr<Cycle> cycle;
  std::unique_ptr<store::Store> store;
  std::vector<std::string> args;  // after noun and verb
  std::vector<std::string> options;  // --name or --name=value, in order
  bool has_option(std::string_view name) const;
  std::string option(std::string_view name, std::string_view def) const;  // --name=value
};

struct Command {
  const char* noun;
  const char* verb;  // "" for a noun alone: `gannetctl dns DOMAIN`
  size_t min_args, max_args;
  const char* usage;
  int (*run)(Ctl&);
};

// Each file of commands exports its table.
std::span<const Command> account_commands();  // domain, user, alias, mailbox, store
std::span<const Command> dns_commands();  // dkim keygen, dns show
std::span<const Command> queue_commands();
std::span<const Command> import_commands();  // import maildir|mbox, export maildir
std::span<const Command> passwd_file_commands();  // import passwd-file, export passwd-file

int fail(const std::string& msg);
// SCRAM-SHA-256's secrets for a password being set, beside its argon2id
// hash: SCRAM checks a proof against these, never against the password.
store::ScramSecrets scram_secrets(std::string_view password);
// Prints done, or the failure in words an admin can act on; the exit code.
int report(store::Status s, const std::string& what, const std::string& done);

}  // namespace gannet::ctl
