// The end of a transaction: trace headers, then one store transaction for
// every recipient (local mailboxes and the queue), and the 250 only once
// that transaction is durable.
#include <unistd.h>

#include <ctime>

#include "bounce.h"
#include "cycle.h"
#include "core_module.h"
#include "log.h"
#include "mail/message_buffer.h"
#include "mail/message_parser.h"
#include "smtp_session.h"
#include "store/store_module.h"
#include "worker.h"

namespace gannet::smtp {

namespace {

std::string rfc5322_date(time_t t) {
  char buf[64];
  tm tm;
  strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S %z", localtime_r(&t, &tm));
  return buf;
}

// "127.0.0.1:4455" -> "127.0.0.1"; "[::1]:4455" -> "::1"
std::string peer_ip(const std::string& peer) {
  auto colon = peer.rfind(':');
  std::string ip = peer.substr(0, colon);
  if (ip.size() > 2 && ip.front() == '[') ip = ip.substr(1, ip.size() - 2);
  return ip;
}

// Unique across workers, respawns and reloads: time, pid, a counter.
std::string new_message_id() {
  static uint32_t counter = 0;
  char buf[40];
  snprintf(buf, sizeof buf, "%08llX%06X%05X", static_cast<unsigned long long>(time(nullptr)),
           static_cast<unsigned>(getpid()) & 0xffffff, ++counter & 0xfffff);
  return buf;
}

}  // namespace

std::string SmtpSession::received_header() const {
  std::string with = esmtp_ ? "ESMTP" : "SMTP";
  if (conn_.is_tls()) with += "S";
  if (!user_.empty()) with += "A";
  if (params_.smtputf8) with = "UTF8" + with;  // RFC 6531 3.7.3
  std::string h = "Received: from " + helo_ + " ([" + peer_ip(conn_.peer()) + "])\r\n\tby " +
                  *conn_.server().conf<MailSrvConf>(mail_module).server_name + " (Gannet) with " + with + " id " +
                  message_id_;
  if (rcpts_.size() == 1) h += "\r\n\tfor <" + rcpts_[0].address + ">";
  return h + "; " + rfc5322_date(time(nullptr)) + "\r\n";
}

// Received, for everyone; made when the message begins, so that it is
// built behind it.
std::string SmtpSession::trace_headers() {
  message_id_ = new_message_id();
  return received_header();
}

// Return-Path, for local mailboxes only (RFC 5321 4.4): added last, at the
// top, once the filters are done; the queue's copy starts after it.
size_t SmtpSession::add_return_path(mail::MessageBuffer& m) const {
  for (auto& r : rcpts_)
    if (!r.user_ids.empty()) {
      std::string field = "Return-Path: <" + sender_.address() + ">\r\n";
      m.prepend(field);
      return field.size();
    }
  return 0;
}

// The queue keeps the DSN requests, which the delivery agent reports or
// passes on (RFC 3461 5.2), and SMTPUTF8 (RFC 6531 3.4).
store::QueueEntry SmtpSession::queue_entry() const {
  store::QueueEntry e;
  e.sender = sender_.address();
  e.ret = params_.ret == "HDRS" ? store::QueueEntry::ret_hdrs
          : params_.ret == "FULL" ? store::QueueEntry::ret_full : store::QueueEntry::ret_unset;
  e.envid = params_.envid;
  e.smtputf8 = params_.smtputf8;  // the delivery agent needs a next hop that offers it
  for (auto& r : rcpts_)
    if (r.user_ids.empty()) {
      auto& q = e.recipients.emplace_back();
      q.address = r.address;
      q.notify = r.notify;
      q.orcpt = r.orcpt;
    }
  return e;
}

// A local INBOX is the end of the road: NOTIFY=SUCCESS is answered here,
// committed with the delivery itself. An alias that reaches several
// users is "expanded" (RFC 3464 2.3.3).
// Its returned part is headers only, which lie in the buffer's memory.
std::string SmtpSession::success_dsn(const mail::MessageBuffer& m, size_t skip) const {
  if (sender_.null) return "";
  DsnReport d;
  for (auto& r : rcpts_)
    if (!r.user_ids.empty() && wants_success(r.notify))
      d.recipients.push_back({r.address, r.orcpt, r.user_ids.size() > 1 ? "expanded" : "delivered", ""});
  if (d.recipients.empty()) return "";
  int64_t now = time(nullptr);
  d.reporting_host = *conn_.server().conf<MailSrvConf>(mail_module).server_name;
  d.sender = sender_.address();
  d.queue_id = message_id_;
  d.envid = params_.envid;  // RET does not matter: a success returns headers only
  d.arrival = now;
  return make_dsn(d, std::string_view(m.start()).substr(skip), now);
}

constexpr size_t kParseInlineMax = 256 << 10;

// What the store copies into its pages: the message from off on, read
// from the buffer (memory, or its spool file) by the store's writer.
store::BodySource body_of(std::shared_ptr<mail::MessageBuffer> msg, size_t off) {
  return {msg->size() - off, [msg, off](char* dst) { return msg->read(off, msg->size() - off, dst); }};
}

void SmtpSession::store_message() {
  std::vector<uint32_t> local;
  store::QueueEntry remote = queue_entry();
  for (auto& r : rcpts_) {
    for (uint32_t id : r.user_ids)
      if (std::find(local.begin(), local.end(), id) == local.end()) local.push_back(id);
  }
  // The store has the message now; the session lets go of it. On top of
  // it go what the filters added, then (local mailboxes only) Return-Path.
  std::shared_ptr<mail::MessageBuffer> msg = std::move(message_);
  msg->prepend(run_.added_headers());
  size_t rp_len = add_return_path(*msg);
  std::string mailbox = run_.verdict.kind == Verdict::file_into ? run_.verdict.mailbox : "INBOX";
  std::string sender = sender_.address();
  std::string dsn = success_dsn(*msg, rp_len);
  int64_t now = time(nullptr);
  state_ = State::busy;
  conn_.pause();
  bool parse = !local.empty();
  auto meta = std::make_shared<std::string>();
  auto make_meta = [msg, meta] { *meta = mail::encode_meta(msg->parse()); };
  store::Store::Op op = [msg, meta, local = std::move(local), remote = std::move(remote), dsn = std::move(dsn),
                         sender, rp_len, now, mailbox](store::Txn& t) {
    if (!local.empty())
      if (auto s = t.deliver(body_of(msg, 0), *meta, local, now, mailbox); s != store::Status::ok) return s;
    if (!dsn.empty())
      if (auto s = send_dsn(t, sender, dsn, now); s != store::Status::ok) return s;
    if (!remote.recipients.empty()) return t.enqueue(remote, body_of(msg, rp_len), now);
    return store::Status::ok;
  };
  store::Store::Done done = [this, alive = alive_, msg](store::Status s) {
    size_t size = msg->size();
    msg->release();
    if (*alive) stored(s, size);  // else the client left; the message is stored all the same
  };
  // The parse IMAP will read is made before the write transaction, so it
  // never holds the writer lock that every worker waits for: here for a
  // small message (a pool round trip costs more), on the pool for a big one.
  uv_loop_t* loop = conn_.worker().loop();
  if (parse && msg->size() > kParseInlineMax)
    return worker_store()->write(loop, make_meta, std::move(op), std::move(done));
  if (parse) make_meta();
  worker_store()->write(loop, std::move(op), std::move(done));
}

// The store's answer: 250 only now that the message is durable.
void SmtpSession::stored(store::Status s, size_t size) {
  state_ = State::mail;
  switch (s) {
    case store::Status::ok:
      GLOG(Level::info, "%s: from=<%s> size=%zu nrcpt=%zu client=%s", message_id_.c_str(), sender_.address().c_str(),
           size, rcpts_.size(), conn_.peer().c_str());
      reply("250 2.0.0 Ok: queued as " + message_id_);
      break;
    case store::Status::quota: reply("452 4.2.2 Error: mailbox full"); break;
    case store::Status::map_full: reply("452 4.3.1 Error: insufficient system storage"); break;
    default: reply("451 4.3.0 Error: could not store the message, try again later");
  }
  reset_transaction();
  state_ = State::ready;
  conn_.resume();
  drain_or_continue();
}

}  // namespace gannet::smtp
