// The end of a transaction: trace headers, then one store transaction for
// every recipient (local mailboxes and the queue), and the 250 only once
// that transaction is durable.
#include <unistd.h>

#include <ctime>

#include "cycle.h"
#include "core_module.h"
#include "log.h"
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

// Return-Path for local mailboxes (RFC 5321 4.4), Received for everyone.
void SmtpSession::add_trace_headers() {
  message_id_ = new_message_id();
  std::string prefix;
  for (auto& r : rcpts_)
    if (!r.user_ids.empty()) {
      prefix = "Return-Path: <" + sender_.address() + ">\r\n";
      break;
    }
  return_path_len_ = prefix.size();
  message_.insert(0, prefix + received_header());
}

void SmtpSession::store_message() {
  std::vector<uint32_t> local;
  std::vector<std::string> remote;
  for (auto& r : rcpts_) {
    if (r.user_ids.empty()) remote.push_back(r.address);
    for (uint32_t id : r.user_ids)
      if (std::find(local.begin(), local.end(), id) == local.end()) local.push_back(id);
  }
  auto msg = std::make_shared<std::string>(std::move(message_));
  std::string sender = sender_.address();
  size_t rp_len = return_path_len_;
  int64_t now = time(nullptr);
  state_ = State::busy;
  conn_.pause();
  worker_store()->write(
      conn_.worker().loop(),
      [msg, local = std::move(local), remote = std::move(remote), sender, rp_len, now](store::Txn& t) {
        if (!local.empty())
          if (auto s = t.deliver(*msg, local, now); s != store::Status::ok) return s;
        if (!remote.empty()) return t.enqueue(sender, remote, std::string_view(*msg).substr(rp_len), now);
        return store::Status::ok;
      },
      [this, alive = alive_, size = msg->size()](store::Status s) {
        if (!*alive) return;  // the client left; the message is stored all the same
        state_ = State::mail;
        switch (s) {
          case store::Status::ok:
            GLOG(Level::info, "%s: from=<%s> size=%zu nrcpt=%zu client=%s", message_id_.c_str(),
                 sender_.address().c_str(), size, rcpts_.size(), conn_.peer().c_str());
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
      });
}

}  // namespace gannet::smtp
