// Delivery status notifications (RFC 3464): the multipart/report a sender
// gets back for the recipients that asked for one (RFC 3461 NOTIFY):
// failures, and successes that no DSN-capable server reports instead.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/records.h"
#include "store/txn.h"

namespace gannet::smtp {

struct DsnRecipient {
  std::string address;  // Final-Recipient
  std::string orcpt;    // ORCPT as received ("rfc822;a+40b"), "" if none
  std::string action;   // "failed", "delayed", "delivered", "relayed" or "expanded"
  std::string reply;    // the remote reply or our own reason; may be "" for a success
  int64_t retry_until = 0;  // "delayed": when the queue gives up (Will-Retry-Until)
};

struct DsnReport {
  std::string reporting_host;  // Reporting-MTA, and From: MAILER-DAEMON@ it
  std::string sender;          // who gets the report
  std::string queue_id;
  std::string envid;           // ENVID as received (xtext), "" if none
  store::QueueEntry::Ret ret = store::QueueEntry::ret_unset;
  int64_t arrival = 0;         // unix seconds
  std::vector<DsnRecipient> recipients;
};

// What a recipient's NOTIFY bits ask for; unset means failures (RFC 3461 4.1).
inline bool wants_failure(uint8_t notify) { return notify == 0 || (notify & store::NOTIFY_FAILURE); }
inline bool wants_success(uint8_t notify) { return notify & store::NOTIFY_SUCCESS; }
// Unset asks for delays too, as Postfix reads it (4.1 leaves it to the MTA).
inline bool wants_delay(uint8_t notify) { return notify == 0 || (notify & store::NOTIFY_DELAY); }

// A failure notice returns the whole original (RET=FULL or unset) up to
// this size, its header section past it; RET=HDRS and success notices
// return the header section only.
inline constexpr size_t kMaxReturnedMessage = 256 << 10;

// The whole report, as a message from MAILER-DAEMON@reporting_host.
std::string make_dsn(const DsnReport& report, std::string_view original, int64_t now);

// Hands a report to its sender in the same store transaction: into their
// INBOX when they are local, else queued from the null sender (never
// reported on in turn). Never call it for the null sender.
store::Status send_dsn(store::Txn& t, const std::string& sender, std::string_view dsn, int64_t now);

// "5.1.1" from a reply like "550 5.1.1 ...", else a generic one by class.
std::string status_code_of(std::string_view reply);

}  // namespace gannet::smtp
