// Delivery status notifications (RFC 3464): the multipart/report a sender
// gets back when the queue gives up on some recipients.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gannet::smtp {

struct FailedRecipient {
  std::string address;
  std::string reply;  // "550 5.1.1 <x@y>: no such user", or our own reason
};

// The whole bounce message, From: MAILER-DAEMON@reporting_host.
std::string make_bounce(std::string_view reporting_host, std::string_view sender, std::string_view queue_id,
                        const std::vector<FailedRecipient>& failed, std::string_view original, int64_t now);

// "5.1.1" from a reply like "550 5.1.1 ...", else a generic one by class.
std::string status_code_of(std::string_view reply);

}  // namespace gannet::smtp
