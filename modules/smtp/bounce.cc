#include "bounce.h"

#include <openssl/rand.h>

#include <algorithm>
#include <ctime>

#include "smtp_parse.h"

namespace gannet::smtp {

namespace {

std::string date(int64_t t) {
  char buf[64];
  time_t tt = t;
  tm tm;
  strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S %z", localtime_r(&tt, &tm));
  return buf;
}

std::string new_boundary() {
  uint8_t r[8];
  RAND_bytes(r, sizeof r);
  char b[40];
  snprintf(b, sizeof b, "=_gannet_%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
  return b;
}

// The original's header block (RFC 3462 text/rfc822-headers), bounded.
std::string_view headers_of(std::string_view msg) {
  auto end = msg.find("\r\n\r\n");
  if (end == std::string_view::npos) end = msg.find("\n\n");
  return msg.substr(0, std::min<size_t>(end == std::string_view::npos ? msg.size() : end, 64 << 10));
}

// ENVID and ORCPT arrive as xtext; a report shows them decoded, unless the
// decoded text could break the header line (a "+0D+0A" must not start a
// new field), where the xtext itself is shown.
std::string shown(std::string_view xtext) {
  auto decoded = xtext_decode(xtext);
  if (!decoded || std::any_of(decoded->begin(), decoded->end(), [](char c) { return c == 127 || (c >= 0 && c < 32); }))
    return std::string(xtext);
  return *decoded;
}

// "rfc822;a+40b" -> "rfc822;a@b": the address type stays as it came.
std::string original_recipient(std::string_view orcpt) {
  auto semi = orcpt.find(';');
  if (semi == std::string_view::npos) return shown(orcpt);
  return std::string(orcpt.substr(0, semi + 1)) + shown(orcpt.substr(semi + 1));
}

bool any_with(const DsnReport& r, std::string_view action) {
  return std::any_of(r.recipients.begin(), r.recipients.end(), [&](auto& x) { return x.action == action; });
}
bool any_failed(const DsnReport& r) { return any_with(r, "failed"); }
// delivered, relayed or expanded: the news is good.
bool succeeded(const DsnRecipient& x) { return x.action != "failed" && x.action != "delayed"; }

// Looks like an SMTP reply ("550 ..."), so it can be a Diagnostic-Code.
bool smtp_reply(std::string_view s) { return s.size() > 3 && s[0] >= '2' && s[0] <= '5' && s[3] == ' '; }

// The first part: for a person.
std::string human_part(const DsnReport& r) {
  std::string m = "This is the mail system at host " + r.reporting_host + ".\r\n\r\n";
  if (any_failed(r)) {
    m += "I'm sorry to have to inform you that your message could not\r\nbe delivered to one or more recipients.\r\n\r\n";
    for (auto& x : r.recipients)
      if (x.action == "failed") m += "<" + x.address + ">: " + x.reply + "\r\n";
    m += "\r\n";
  }
  if (any_with(r, "delayed")) {
    m += "Your message could not be delivered yet to the recipients below; it is still\r\nbeing tried. "
         "You need not send it again.\r\n\r\n";
    for (auto& x : r.recipients)
      if (x.action == "delayed") m += "<" + x.address + ">: " + x.reply + "\r\n  (tried until " + date(x.retry_until) + ")\r\n";
    m += "\r\n";
  }
  if (std::any_of(r.recipients.begin(), r.recipients.end(), succeeded)) {
    m += "Your message was delivered, as you asked to be told, to:\r\n\r\n";
    for (auto& x : r.recipients)
      if (succeeded(x)) m += "<" + x.address + ">: " + x.action + "\r\n";
    m += "\r\nA message relayed to a system that does not report deliveries may still fail there.\r\n";
  }
  return m;
}

// The second part: message/delivery-status (RFC 3464 2.2, 2.3).
std::string status_part(const DsnReport& r) {
  std::string m;
  if (!r.envid.empty()) m += "Original-Envelope-Id: " + shown(r.envid) + "\r\n";
  m += "Reporting-MTA: dns; " + r.reporting_host + "\r\nX-Gannet-Queue-ID: " + r.queue_id + "\r\n";
  m += "Arrival-Date: " + date(r.arrival) + "\r\n";
  for (auto& x : r.recipients) {
    m += "\r\n";
    if (!x.orcpt.empty()) m += "Original-Recipient: " + original_recipient(x.orcpt) + "\r\n";
    m += "Final-Recipient: rfc822; " + x.address + "\r\nAction: " + x.action + "\r\n";
    m += "Status: " + (x.reply.empty() && x.action != "failed" ? "2.0.0" : status_code_of(x.reply)) + "\r\n";
    if (smtp_reply(x.reply)) m += "Diagnostic-Code: smtp; " + x.reply + "\r\n";
    if (x.action == "delayed") m += "Will-Retry-Until: " + date(x.retry_until) + "\r\n";
  }
  return m;
}

// The third part: what RET asked for, within kMaxReturnedMessage.
std::string returned_part(const DsnReport& r, std::string_view original) {
  bool full = r.ret != store::QueueEntry::ret_hdrs && any_failed(r) && original.size() <= kMaxReturnedMessage;
  std::string_view content = full ? original : headers_of(original);
  std::string m = full ? "Content-Type: message/rfc822\r\n" : "Content-Type: text/rfc822-headers\r\n";
  if (has_8bit(content)) m += "Content-Transfer-Encoding: 8bit\r\n";
  m += "\r\n";
  m += content;
  if (!m.ends_with("\r\n")) m += "\r\n";
  return m;
}

}  // namespace

std::string status_code_of(std::string_view reply) {
  // "550 5.1.1 text": the enhanced code is the second word when it looks like one.
  if (reply.size() > 9 && (reply[4] == '2' || reply[4] == '4' || reply[4] == '5') && reply[5] == '.') {
    auto end = reply.find(' ', 4);
    return std::string(reply.substr(4, end == std::string_view::npos ? std::string_view::npos : end - 4));
  }
  // Our own reasons start with the enhanced code: "4.4.7 message expired...".
  if (reply.size() > 5 && reply[1] == '.' && (reply[0] == '4' || reply[0] == '5')) return std::string(reply.substr(0, reply.find(' ')));
  if (!reply.empty() && reply[0] == '2') return "2.0.0";
  return !reply.empty() && reply[0] == '4' ? "4.0.0" : "5.0.0";
}

std::string make_dsn(const DsnReport& r, std::string_view original, int64_t now) {
  std::string b = new_boundary();
  std::string m;
  m += "From: Mail Delivery System <MAILER-DAEMON@" + r.reporting_host + ">\r\n";
  m += "To: <" + r.sender + ">\r\n";
  m += any_failed(r)               ? "Subject: Undelivered Mail Returned to Sender\r\n"
       : any_with(r, "delayed") ? "Subject: Delayed Mail (still being retried)\r\n"
                                : "Subject: Successful Mail Delivery Report\r\n";
  m += "Date: " + date(now) + "\r\n";
  m += "Auto-Submitted: auto-replied\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=delivery-status; boundary=\"" + b + "\"\r\n\r\n";
  m += "This is a MIME-encapsulated message.\r\n\r\n--" + b + "\r\n";
  m += "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + human_part(r);
  m += "\r\n--" + b + "\r\nContent-Type: message/delivery-status\r\n\r\n" + status_part(r);
  if (!original.empty()) m += "\r\n--" + b + "\r\n" + returned_part(r, original);
  m += "\r\n--" + b + "--\r\n";
  return m;
}

store::Status send_dsn(store::Txn& t, const std::string& sender, std::string_view dsn, int64_t now) {
  std::vector<uint32_t> ids;
  if (t.resolve(sender, ids) != store::Status::ok) return t.enqueue("", {sender}, dsn, now);
  // A full mailbox drops the report: it must not fail the transaction that
  // carries it (the message itself, or the queue's record of an attempt).
  std::erase_if(ids, [&](uint32_t id) {
    auto u = t.user_by_id(id);
    return !u || !u->has_room_for(dsn.size());
  });
  return ids.empty() ? store::Status::ok : t.deliver(dsn, ids, now);
}

}  // namespace gannet::smtp
