// queue list|show|flush|delete|hold|release: the delivery queue, like
// Postfix's postqueue/postsuper.
#include <cstdio>
#include <ctime>
#include <iostream>
#include <iterator>

#include "ctl/ctl.h"

namespace gannet::ctl {

using store::QueueEntry;
using store::Status;

namespace {

std::string when(int64_t t) {
  char buf[32];
  time_t tt = t;
  tm tm;
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", localtime_r(&tt, &tm));
  return buf;
}

const char* state_name(store::QueueRecipient::State s) {
  static const char* names[] = {"pending", "delivered", "failed"};
  return names[s];
}

std::optional<uint64_t> queue_id(Ctl& c) {
  auto n = parse_number(c.args[0]);
  if (!n || *n <= 0) return std::nullopt;
  return static_cast<uint64_t>(*n);
}

int queue_list(Ctl& c) {
  auto entries = c.store->read([](store::Txn& t) { return t.queue_list(); });
  for (auto& e : entries) {
    size_t pending = 0;
    for (auto& r : e.recipients) pending += r.state == store::QueueRecipient::pending;
    printf("%llu\t%s\t<%s>\t%zu/%zu pending\tattempts %u\tnext %s%s\n", (unsigned long long)e.id, when(e.created).c_str(),
           e.sender.c_str(), pending, e.recipients.size(), e.attempts, when(e.next_attempt).c_str(), e.held ? "\theld" : "");
  }
  printf("%zu queued\n", entries.size());
  return 0;
}

int queue_show(Ctl& c) {
  auto id = queue_id(c);
  if (!id) return fail("queue show: not a queue id: " + c.args[0]);
  return c.store->read([&](store::Txn& t) {
    auto e = t.queue_entry(*id);
    if (!e) return fail("queue entry " + c.args[0] + ": not found");
    printf("id: %llu\nsender: <%s>\ncreated: %s\nnext attempt: %s\nattempts: %u\nheld: %s\n", (unsigned long long)e->id,
           e->sender.c_str(), when(e->created).c_str(), when(e->next_attempt).c_str(), e->attempts, e->held ? "yes" : "no");
    if (!e->last_error.empty()) printf("last error: %s\n", e->last_error.c_str());
    if (e->ret != QueueEntry::ret_unset) printf("dsn ret: %s\n", e->ret == QueueEntry::ret_hdrs ? "HDRS" : "FULL");
    if (!e->envid.empty()) printf("dsn envid: %s\n", e->envid.c_str());
    if (e->smtputf8) printf("smtputf8: yes\n");
    for (auto& r : e->recipients) {
      printf("recipient: <%s> %s%s%s\n", r.address.c_str(), state_name(r.state), r.last_error.empty() ? "" : ": ",
             r.last_error.c_str());
      if (r.notify) printf("  dsn notify: %s\n", store::notify_text(r.notify).c_str());
      if (!r.orcpt.empty()) printf("  dsn orcpt: %s\n", r.orcpt.c_str());
    }
    if (auto body = t.body(e->body_id)) printf("\n%.*s", static_cast<int>(body->size()), body->data());
    return 0;
  });
}

// Changes one entry, or every entry when `all`.
template <class F>
int update(Ctl& c, bool all, F change, const std::string& done) {
  std::optional<uint64_t> id;
  if (!all && !(id = queue_id(c))) return fail("not a queue id: " + c.args[0]);
  Status s = c.store->write_now([&](store::Txn& t) {
    if (!all) {
      auto e = t.queue_entry(*id);
      if (!e) return Status::not_found;
      change(*e);
      return t.queue_save(*e);
    }
    for (auto& e : t.queue_list()) {
      change(e);
      if (Status st = t.queue_save(e); st != Status::ok) return st;
    }
    return Status::ok;
  });
  return report(s, all ? "queue" : "queue entry " + c.args[0], done);
}

int queue_flush(Ctl& c) {
  int64_t now = time(nullptr);
  return update(c, true, [&](QueueEntry& e) { if (!e.held) e.next_attempt = now; }, "queue flushed: every entry is due now");
}

int queue_hold(Ctl& c) {
  return update(c, false, [](QueueEntry& e) { e.held = true; }, "queue entry " + c.args[0] + " held");
}

int queue_release(Ctl& c) {
  int64_t now = time(nullptr);
  return update(c, false, [&](QueueEntry& e) { e.held = false; e.next_attempt = now; }, "queue entry " + c.args[0] + " released");
}

// Queues a message read from stdin, like Postfix's sendmail: for remote
// recipients, and for testing the queue by hand. A file has LF line ends
// more often than not, and SMTP knows only CRLF: a bare LF would keep a
// server from ever seeing the message end.
int queue_add(Ctl& c) {
  std::string message((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (message.empty()) return fail("queue add: no message on standard input");
  message = store::crlf_line_ends(message);
  std::string sender = c.option("--from", "");
  std::vector<std::string> rcpts;
  for (auto& a : c.args) {
    std::string n = store::normalize_remote_address(a);
    if (n.empty()) return fail("queue add: not an address: " + a);
    rcpts.push_back(n);
  }
  if (!sender.empty() && store::normalize_address(sender).empty()) return fail("queue add: not an address: " + sender);
  uint64_t id = 0;
  Status s = c.store->write_now([&](store::Txn& t) { return t.enqueue(sender, rcpts, message, time(nullptr), &id); });
  return report(s, "queue add", "queued as " + std::to_string(id));
}

int queue_delete(Ctl& c) {
  auto id = queue_id(c);
  if (!id) return fail("queue delete: not a queue id: " + c.args[0]);
  Status s = c.store->write_now([&](store::Txn& t) { return t.queue_delete(*id); });
  return report(s, "queue entry " + c.args[0], "queue entry " + c.args[0] + " deleted");
}

const Command commands[] = {
    {"queue", "list", 0, 0, "queue list", queue_list},
    {"queue", "show", 1, 1, "queue show ID", queue_show},
    {"queue", "add", 1, 1000, "queue add [--from=SENDER] RECIPIENT... < MESSAGE", queue_add},
    {"queue", "flush", 0, 0, "queue flush", queue_flush},
    {"queue", "delete", 1, 1, "queue delete ID", queue_delete},
    {"queue", "hold", 1, 1, "queue hold ID", queue_hold},
    {"queue", "release", 1, 1, "queue release ID", queue_release},
};

}  // namespace

std::span<const Command> queue_commands() { return commands; }

}  // namespace gannet::ctl
