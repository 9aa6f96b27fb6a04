#include "bounce.h"

#include <openssl/rand.h>

#include <ctime>

namespace gannet::smtp {

namespace {

std::string date(int64_t t) {
  char buf[64];
  time_t tt = t;
  tm tm;
  strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S %z", localtime_r(&tt, &tm));
  return buf;
}

// The original's header block (RFC 3462 text/rfc822-headers), bounded.
std::string_view headers_of(std::string_view msg) {
  auto end = msg.find("\r\n\r\n");
  if (end == std::string_view::npos) end = msg.find("\n\n");
  return msg.substr(0, std::min<size_t>(end == std::string_view::npos ? msg.size() : end, 64 << 10));
}

}  // namespace

std::string status_code_of(std::string_view reply) {
  // "550 5.1.1 text": the enhanced code is the second word when it looks like one.
  if (reply.size() > 9 && (reply[4] == '4' || reply[4] == '5') && reply[5] == '.') {
    auto end = reply.find(' ', 4);
    return std::string(reply.substr(4, end == std::string_view::npos ? std::string_view::npos : end - 4));
  }
  return !reply.empty() && reply[0] == '4' ? "4.0.0" : "5.0.0";
}

std::string make_bounce(std::string_view host, std::string_view sender, std::string_view queue_id,
                        const std::vector<FailedRecipient>& failed, std::string_view original, int64_t now) {
  uint8_t r[8];
  RAND_bytes(r, sizeof r);
  char boundary[40];
  snprintf(boundary, sizeof boundary, "=_gannet_%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
  std::string h(host), b(boundary);
  std::string m;
  m += "From: Mail Delivery System <MAILER-DAEMON@" + h + ">\r\n";
  m += "To: <" + std::string(sender) + ">\r\n";
  m += "Subject: Undelivered Mail Returned to Sender\r\n";
  m += "Date: " + date(now) + "\r\n";
  m += "Auto-Submitted: auto-replied\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=delivery-status; boundary=\"" + b + "\"\r\n\r\n";
  m += "This is a MIME-encapsulated message.\r\n\r\n--" + b + "\r\n";
  m += "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
  m += "This is the mail system at host " + h + ".\r\n\r\n"
       "I'm sorry to have to inform you that your message could not\r\n"
       "be delivered to one or more recipients.\r\n\r\n";
  for (auto& f : failed) m += "<" + f.address + ">: " + f.reply + "\r\n";
  m += "\r\n--" + b + "\r\nContent-Type: message/delivery-status\r\n\r\n";
  m += "Reporting-MTA: dns; " + h + "\r\nX-Gannet-Queue-ID: " + std::string(queue_id) + "\r\nArrival-Date: " + date(now) + "\r\n";
  for (auto& f : failed) {
    m += "\r\nFinal-Recipient: rfc822; " + f.address + "\r\nAction: failed\r\nStatus: " + status_code_of(f.reply) + "\r\n";
    if (f.reply.size() > 3 && f.reply[0] >= '2' && f.reply[0] <= '5' && f.reply[3] == ' ')
      m += "Diagnostic-Code: smtp; " + f.reply + "\r\n";
  }
  m += "\r\n--" + b + "\r\nContent-Type: text/rfc822-headers\r\n\r\n";
  m += std::string(headers_of(original)) + "\r\n";
  m += "\r\n--" + b + "--\r\n";
  return m;
}

}  // namespace gannet::smtp
