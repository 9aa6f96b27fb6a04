// domain, user, alias, mailbox and store commands.
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "auth/sasl.h"
#include "ctl/ctl.h"
#include "password.h"
#include "store/check.h"

namespace gannet::ctl {

using store::Status;

namespace {

std::string read_password(bool from_stdin) {
  std::string pw;
  if (from_stdin || !isatty(0)) {
    std::getline(std::cin, pw);
    return pw;
  }
  termios old{}, quiet{};
  tcgetattr(0, &old);
  quiet = old;
  quiet.c_lflag &= ~ECHO;
  fprintf(stderr, "Password: ");
  tcsetattr(0, TCSANOW, &quiet);
  std::getline(std::cin, pw);
  tcsetattr(0, TCSANOW, &old);
  fprintf(stderr, "\n");
  return pw;
}

// --- domains ---

int domain_add(Ctl& c) {
  Status s = c.store->write_now([&](store::Txn& t) { return t.add_domain(c.args[0]); });
  return report(s, "domain " + c.args[0], "domain " + store::normalize_domain(c.args[0]) + " added");
}

int domain_del(Ctl& c) {
  Status s = c.store->write_now([&](store::Txn& t) { return t.del_domain(c.args[0]); });
  if (s == Status::exists) return fail("domain " + c.args[0] + " still has users or aliases");
  return report(s, "domain " + c.args[0], "domain " + c.args[0] + " deleted");
}

int domain_list(Ctl& c) {
  c.store->read([](store::Txn& t) {
    for (auto& d : t.domains()) printf("%s\n", d.c_str());
    return 0;
  });
  return 0;
}

// --- users ---

int user_add(Ctl& c) {
  std::string pw = read_password(c.has_option("--password-stdin"));
  if (pw.empty()) return fail("empty password");
  std::string hash = hash_password(pw);
  store::ScramSecrets scram = scram_secrets(pw);
  Status s = c.store->write_now([&](store::Txn& t) {
    store::User u;
    Status st = t.add_user(c.args[0], hash, &u, scram);
    return st == Status::ok ? t.ensure_default_mailboxes(u.id) : st;
  });
  if (s == Status::not_found) return fail("user " + c.args[0] + ": no such domain (gannetctl domain add)");
  if (s == Status::invalid) return fail("user " + c.args[0] + ": not an address");
  return report(s, "user " + c.args[0], "user " + store::normalize_address(c.args[0]) + " added");
}

int user_del(Ctl& c) {
  Status s = c.store->write_now([&](store::Txn& t) { return t.del_user(c.args[0]); });
  return report(s, "user " + c.args[0], "user " + c.args[0] + " deleted");
}

int user_list(Ctl& c) {
  std::string domain = c.args.empty() ? "" : c.args[0];
  c.store->read([&](store::Txn& t) {
    for (auto& u : t.users(domain))
      printf("%s\t%llu messages\t%llu bytes%s\n", u.address.c_str(), (unsigned long long)u.used_messages,
             (unsigned long long)u.used_bytes, u.enabled ? "" : "\tdisabled");
    return 0;
  });
  return 0;
}

int user_passwd(Ctl& c) {
  std::string pw = read_password(c.has_option("--password-stdin"));
  if (pw.empty()) return fail("empty password");
  std::string hash = hash_password(pw);
  store::ScramSecrets scram = scram_secrets(pw);
  Status s = c.store->write_now([&](store::Txn& t) { return t.set_password(c.args[0], hash, scram); });
  return report(s, "user " + c.args[0], "password of " + c.args[0] + " changed");
}

int user_quota(Ctl& c) {
  if (c.args.size() == 1) {
    return c.store->read([&](store::Txn& t) {
      auto u = t.user(c.args[0]);
      if (!u) return fail("user " + c.args[0] + ": not found");
      printf("%s\tbytes %llu/%llu\tmessages %llu/%llu\n", u->address.c_str(), (unsigned long long)u->used_bytes,
             (unsigned long long)u->quota_bytes, (unsigned long long)u->used_messages, (unsigned long long)u->quota_messages);
      return 0;
    });
  }
  auto bytes = parse_size(c.args[1]);
  auto msgs = c.args.size() > 2 ? parse_number(c.args[2]) : std::optional<int64_t>(0);
  if (!bytes || !msgs || *msgs < 0) return fail("quota: expected SIZE [MESSAGES], e.g. 2g 100000 (0 = unlimited)");
  Status s = c.store->write_now([&](store::Txn& t) { return t.set_quota(c.args[0], *bytes, *msgs); });
  return report(s, "user " + c.args[0], "quota of " + c.args[0] + " set");
}

// --- aliases ---

int alias_add(Ctl& c) {
  Status s = c.store->write_now([&](store::Txn& t) { return t.add_alias(c.args[0], c.args[1]); });
  if (s == Status::not_found) return fail("alias " + c.args[0] + ": no such domain");
  if (s == Status::exists) return fail("alias " + c.args[0] + " -> " + c.args[1] + " exists already");
  return report(s, "alias " + c.args[0], "alias " + c.args[0] + " -> " + c.args[1] + " added");
}

int alias_del(Ctl& c) {
  Status s = c.store->write_now([&](store::Txn& t) { return t.del_alias(c.args[0], c.args[1]); });
  return report(s, "alias " + c.args[0], "alias " + c.args[0] + " -> " + c.args[1] + " deleted");
}

int alias_list(Ctl& c) {
  c.store->read([](store::Txn& t) {
    for (auto& [src, dst] : t.aliases()) printf("%s\t%s\n", src.c_str(), dst.c_str());
    return 0;
  });
  return 0;
}

// --- mailboxes and the store ---

int mailbox_list(Ctl& c) {
  return c.store->read([&](store::Txn& t) {
    auto u = t.user(c.args[0]);
    if (!u) return fail("user " + c.args[0] + ": not found");
    for (auto& m : t.mailboxes(u->id))
      printf("%s\t%u messages\t%llu bytes\tuidvalidity %u\tuidnext %u\t%s\t%s\n", m.name.c_str(), m.messages,
             (unsigned long long)m.bytes, m.uidvalidity, m.uidnext, m.subscribed ? "subscribed" : "unsubscribed",
             store::special_use_name(m.special));
    return 0;
  });
}

// The mailbox's index: one line per message.
int mailbox_show(Ctl& c) {
  return c.store->read([&](store::Txn& t) {
    auto u = t.user(c.args[0]);
    if (!u) return fail("user " + c.args[0] + ": not found");
    auto mb = t.mailbox(u->id, c.args[1]);
    if (!mb) return fail("mailbox " + c.args[1] + " of " + c.args[0] + ": not found");
    for (auto& m : t.messages(mb->id))
      printf("%u\t%llu bytes\tflags %u\tmodseq %llu\n", m.uid, (unsigned long long)m.size, m.flags,
             (unsigned long long)m.modseq);
    return 0;
  });
}

// One message as stored, byte for byte.
int message_show(Ctl& c) {
  auto uid = parse_number(c.args[2]);
  if (!uid || *uid <= 0) return fail("not a UID: " + c.args[2]);
  return c.store->read([&](store::Txn& t) {
    auto u = t.user(c.args[0]);
    auto mb = u ? t.mailbox(u->id, c.args[1]) : std::nullopt;
    auto m = mb ? t.message(mb->id, static_cast<uint32_t>(*uid)) : std::nullopt;
    auto body = m ? t.body(m->body_id) : std::nullopt;
    if (!body) return fail("message " + c.args[2] + " in " + c.args[1] + " of " + c.args[0] + ": not found");
    fwrite(body->data(), 1, body->size(), stdout);
    return 0;
  });
}

int store_stats(Ctl& c) {
  store::Stats st;
  c.store->read([&](store::Txn& t) { return store::check(t, &st).size(); });
  auto u = c.store->usage();
  printf("domains %zu\nusers %zu\naliases %zu\nmailboxes %zu\nmessages %zu\nqueued %zu\nbodies %zu\nbody_bytes %llu\n"
         "map_size %zu\nmap_used %zu\nlast_txn %zu\n",
         st.domains, st.users, st.aliases, st.mailboxes, st.messages, st.queued, st.bodies, (unsigned long long)st.body_bytes,
         static_cast<size_t>(u.map_size), static_cast<size_t>(u.map_used), static_cast<size_t>(u.last_txn));
  return 0;
}

int store_check(Ctl& c) {
  auto problems = c.store->read([](store::Txn& t) { return store::check(t); });
  for (auto& p : problems) printf("%s\n", p.c_str());
  if (!problems.empty()) return fail(std::to_string(problems.size()) + " problems found");
  printf("store is consistent\n");
  return 0;
}

int store_backup(Ctl& c) {
  std::error_code ec;
  std::filesystem::create_directories(c.args[0], ec);
  // A consistent hot copy (like mdb_copy -c): a read transaction's snapshot.
  if (auto err = c.store->backup(c.args[0]); !err.empty()) return fail("backup to " + c.args[0] + " failed: " + err);
  printf("store copied to %s\n", c.args[0].c_str());
  return 0;
}

const Command commands[] = {
    {"domain", "add", 1, 1, "domain add DOMAIN", domain_add},
    {"domain", "del", 1, 1, "domain del DOMAIN", domain_del},
    {"domain", "list", 0, 0, "domain list", domain_list},
    {"user", "add", 1, 1, "user add ADDRESS [--password-stdin]", user_add},
    {"user", "del", 1, 1, "user del ADDRESS", user_del},
    {"user", "list", 0, 1, "user list [DOMAIN]", user_list},
    {"user", "passwd", 1, 1, "user passwd ADDRESS [--password-stdin]", user_passwd},
    {"user", "quota", 1, 3, "user quota ADDRESS [SIZE [MESSAGES]]", user_quota},
    {"alias", "add", 2, 2, "alias add SOURCE|@DOMAIN TARGET", alias_add},
    {"alias", "del", 2, 2, "alias del SOURCE TARGET", alias_del},
    {"alias", "list", 0, 0, "alias list", alias_list},
    {"mailbox", "list", 1, 1, "mailbox list ADDRESS", mailbox_list},
    {"mailbox", "show", 2, 2, "mailbox show ADDRESS MAILBOX", mailbox_show},
    {"message", "show", 3, 3, "message show ADDRESS MAILBOX UID", message_show},
    {"store", "stats", 0, 0, "store stats", store_stats},
    {"store", "check", 0, 0, "store check", store_check},
    {"store", "backup", 1, 1, "store backup DIR", store_backup},
};

}  // namespace

std::span<const Command> account_commands() { return commands; }

namespace {
std::string key_text(const sasl::ScramKey& k) { return {reinterpret_cast<const char*>(k.data()), k.size()}; }
}  // namespace

store::ScramSecrets scram_secrets(std::string_view pw) {
  std::string salt = sasl::scram_salt();
  sasl::ScramKeys k = sasl::scram_sha256_keys(pw, salt, sasl::kScramIterations);
  return {salt, sasl::kScramIterations, key_text(k.stored_key), key_text(k.server_key)};
}

}  // namespace gannet::ctl
