// import passwd-file, export passwd-file: users move in from Dovecot (or
// iRedMail, or another Gannet) with their passwords, and out again. The
// line format is passwd_file.h's; this file does the I/O and the store.
#include <cstdio>
#include <fstream>

#include "ctl/ctl.h"
#include "passwd_file.h"
#include "password.h"

namespace gannet::ctl {

namespace {

using store::Status;

struct Entry {
  size_t line;
  std::string address, hash;
  store::ScramSecrets scram;  // only for a password given in plain
};

std::string why_not_added(Status s) {
  switch (s) {
    case Status::exists: return "the user exists already";
    case Status::not_found: return "no such domain (gannetctl domain add)";
    case Status::invalid: return "not an address";
    default: return store::status_text(s);
  }
}

// All or nothing: every line is read and checked first, then one
// transaction adds every user; an error names FILE:LINE and adds none.
int import_passwd_file(Ctl& c) {
  const std::string& path = c.args[0];
  std::ifstream in(path);
  if (!in) return fail("cannot read " + path);
  std::vector<Entry> entries;
  std::string text;
  int errors = 0;
  for (size_t n = 1; std::getline(in, text); n++) {
    auto line = passwd_file::parse_line(text);
    if (line.kind == passwd_file::Line::bad) {
      fprintf(stderr, "gannetctl: %s:%zu: %s\n", path.c_str(), n, line.error.c_str());
      errors++;
    } else if (line.kind != passwd_file::Line::skip) {
      Entry e{n, line.address, line.secret, {}};
      if (line.kind == passwd_file::Line::plain) {  // hashed here, as user add does
        e.hash = hash_password(line.secret);
        e.scram = scram_secrets(line.secret);
      }
      entries.push_back(std::move(e));
    }
  }
  if (errors) return fail(std::to_string(errors) + " bad lines in " + path + "; nobody imported");
  const Entry* bad = nullptr;
  Status s = c.store->write_now([&](store::Txn& t) {
    for (auto& e : entries) {
      store::User u;
      Status st = t.add_user(e.address, e.hash, &u, e.scram);
      if (st == Status::ok) st = t.ensure_default_mailboxes(u.id);
      if (st != Status::ok) return bad = &e, st;
    }
    return Status::ok;
  });
  if (bad) return fail(path + ":" + std::to_string(bad->line) + ": " + bad->address + ": " + why_not_added(s) + "; nobody imported");
  if (s != Status::ok) return report(s, "import of " + path, "");
  printf("%zu users imported from %s\n", entries.size(), path.c_str());
  return 0;
}

int export_passwd_file(Ctl& c) {
  std::string domain = c.args.empty() ? "" : c.args[0];
  c.store->read([&](store::Txn& t) {
    for (auto& u : t.users(domain)) printf("%s\n", passwd_file::format_line(u.address, u.password_hash).c_str());
    return 0;
  });
  return 0;
}

const Command commands[] = {
    {"import", "passwd-file", 1, 1, "import passwd-file PATH", import_passwd_file},
    {"export", "passwd-file", 0, 1, "export passwd-file [DOMAIN]", export_passwd_file},
};

}  // namespace

std::span<const Command> passwd_file_commands() { return commands; }

}  // namespace gannet::ctl
