// Delivery status notifications (RFC 3464) as built from the DSN requests
// (RFC 3461): fields, returned content, and header safety.
#include <catch2/catch.hpp>

#include "../../modules/smtp/bounce.h"
#include "../../modules/smtp/smtp_parse.h"

using namespace gannet::smtp;
using gannet::store::QueueEntry;

namespace {

const std::string kOriginal = "From: a@example.test\r\nSubject: hi\r\n\r\nthe body\r\n";

DsnReport report(std::string action, std::string reply = "550 5.1.1 <x@remote.test>: no such user") {
  DsnReport r;
  r.reporting_host = "mail.example.test";
  r.sender = "a@example.test";
  r.queue_id = "42";
  r.arrival = 1700000000;
  r.recipients.push_back({"x@remote.test", "", std::move(action), std::move(reply)});
  return r;
}

}  // namespace

TEST_CASE("xtext decoding for ENVID and ORCPT") {
  CHECK(xtext_decode("a+40b") == "a@b");
  CHECK(xtext_decode("plain") == "plain");
  CHECK(xtext_decode("+0D+0A") == "\r\n");
  CHECK_FALSE(xtext_decode("a+4"));
  CHECK_FALSE(xtext_decode("a+4g"));
  CHECK_FALSE(xtext_decode("a=b"));
}

TEST_CASE("NOTIFY decides which notices are wanted") {
  using namespace gannet::store;
  CHECK(wants_failure(0));  // RFC 3461 4.1: not given means failures
  CHECK_FALSE(wants_success(0));
  CHECK_FALSE(wants_failure(NOTIFY_NEVER));
  CHECK_FALSE(wants_failure(NOTIFY_SUCCESS | NOTIFY_DELAY));
  CHECK(wants_failure(NOTIFY_FAILURE));
  CHECK(wants_success(NOTIFY_SUCCESS | NOTIFY_FAILURE));
}

TEST_CASE("a failure returns what RET asked for") {
  auto r = report("failed");
  std::string full = make_dsn(r, kOriginal, 1700000000);
  CHECK(full.find("Subject: Undelivered Mail Returned to Sender\r\n") != std::string::npos);
  CHECK(full.find("Content-Type: message/rfc822\r\n\r\nFrom: a@example.test") != std::string::npos);
  CHECK(full.find("the body") != std::string::npos);
  CHECK(full.find("Action: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1") != std::string::npos);
  CHECK(full.find("Original-") == std::string::npos);

  r.ret = QueueEntry::ret_hdrs;
  std::string hdrs = make_dsn(r, kOriginal, 1700000000);
  CHECK(hdrs.find("Content-Type: text/rfc822-headers\r\n\r\nFrom: a@example.test\r\nSubject: hi\r\n") != std::string::npos);
  CHECK(hdrs.find("the body") == std::string::npos);

  // Past the cap, RET=FULL gets the header section only.
  r.ret = QueueEntry::ret_full;
  std::string big = kOriginal + std::string(kMaxReturnedMessage, 'x') + "\r\n";
  std::string capped = make_dsn(r, big, 1700000000);
  CHECK(capped.find("text/rfc822-headers") != std::string::npos);
  CHECK(capped.size() < 4096);
}

TEST_CASE("a success names its action and returns headers only") {
  auto r = report("delivered", "");
  std::string m = make_dsn(r, kOriginal, 1700000000);
  CHECK(m.find("Subject: Successful Mail Delivery Report\r\n") != std::string::npos);
  CHECK(m.find("Action: delivered\r\nStatus: 2.0.0\r\n") != std::string::npos);
  CHECK(m.find("Diagnostic-Code") == std::string::npos);
  CHECK(m.find("the body") == std::string::npos);
  r.recipients[0] = {"x@remote.test", "", "relayed", "250 2.0.0 Ok: queued"};
  m = make_dsn(r, kOriginal, 1700000000);
  CHECK(m.find("Action: relayed\r\nStatus: 2.0.0\r\nDiagnostic-Code: smtp; 250 2.0.0 Ok: queued\r\n") != std::string::npos);
}

TEST_CASE("ENVID and ORCPT are shown decoded, never as a new header line") {
  auto r = report("failed");
  r.envid = "QQ+2B42";
  r.recipients[0].orcpt = "rfc822;X+40remote.test";
  std::string m = make_dsn(r, kOriginal, 1700000000);
  CHECK(m.find("Original-Envelope-Id: QQ+42\r\nReporting-MTA: dns; mail.example.test\r\n") != std::string::npos);
  CHECK(m.find("\r\nOriginal-Recipient: rfc822;X@remote.test\r\nFinal-Recipient: rfc822; x@remote.test\r\n") !=
        std::string::npos);
  r.envid = "a+0D+0ABcc:+20evil";
  r.recipients[0].orcpt = "rfc822;b+0AX-Evil:+201";
  m = make_dsn(r, kOriginal, 1700000000);
  CHECK(m.find("Original-Envelope-Id: a+0D+0ABcc:+20evil\r\n") != std::string::npos);
  CHECK(m.find("Original-Recipient: rfc822;b+0AX-Evil:+201\r\n") != std::string::npos);
  CHECK(m.find("\nBcc:") == std::string::npos);
  CHECK(m.find("\nX-Evil") == std::string::npos);
}

TEST_CASE("status codes come from the reply or our own reason") {
  CHECK(status_code_of("550 5.1.1 <x>: no such user") == "5.1.1");
  CHECK(status_code_of("250 2.0.0 Ok") == "2.0.0");
  CHECK(status_code_of("4.4.7 message expired in the queue; last error: 451 busy") == "4.4.7");
  CHECK(status_code_of("451 try later") == "4.0.0");
  CHECK(status_code_of("no answer") == "5.0.0");
}
