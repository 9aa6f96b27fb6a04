// ENVELOPE, BODY and BODYSTRUCTURE as RFC 3501 7.4.2 formats them, and the
// octets of each BODY[section] form, on a small MIME corpus written here.
// The expected strings were written from the RFC's grammar, by hand, and
// checked against Dovecot 2.3.19 on the same messages (line counts are its:
// line breaks, so a part's last line before a boundary does not count).
#include <catch2/catch.hpp>

#include "../../modules/imap/imap_structure.h"

using namespace gannet::imap;
using gannet::mail::parse_message;

namespace {

const std::string kPlain =
    "From: Bob <bob@example.net>\r\nTo: alice@example.test\r\nSubject: hello\r\n"
    "Date: Thu, 1 Jan 2026 10:00:00 +0000\r\n\r\nFirst line.\r\nSecond line.\r\n";

const std::string kMixed =
    "From: a@b.test\r\n"
    "Subject: =?UTF-8?Q?caf=C3=A9?=\r\n"
    "To: friends: c@d.test, \"E F\" <e@f.test>;\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--XX\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "hello\r\n"
    "--XX\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: c@d.test\r\n"
    "Subject: inner\r\n"
    "\r\n"
    "inner body\r\n"
    "--XX\r\n"
    "Content-Type: application/octet-stream; name=\"f.bin\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-Disposition: attachment; filename=\"f.bin\"\r\n"
    "Content-Language: en, de\r\n"
    "\r\n"
    "AAAA\r\n"
    "--XX--\r\n";

std::string octets(const std::string& msg, std::string_view spec) {
  auto s = parse_section(spec);
  REQUIRE(s);
  return section_octets(msg, parse_message(msg), *s).value_or("<none>");
}

}  // namespace

TEST_CASE("IMAP: ENVELOPE and BODYSTRUCTURE of a plain text message", "[imap][structure]") {
  auto m = parse_message(kPlain);
  const std::string bob = "((\"Bob\" NIL \"bob\" \"example.net\"))";
  REQUIRE(envelope(m.envelopes[0]) == "(\"Thu, 1 Jan 2026 10:00:00 +0000\" \"hello\" " + bob + " " + bob + " " + bob +
                                          " ((NIL NIL \"alice\" \"example.test\")) NIL NIL NIL NIL)");
  REQUIRE(body_structure(m, 0, true) == "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 27 2 NIL NIL NIL NIL)");
  REQUIRE(body_structure(m, 0, false) == "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 27 2)");
}

TEST_CASE("IMAP: BODYSTRUCTURE of a multipart with a message/rfc822 part and an attachment", "[imap][structure]") {
  auto m = parse_message(kMixed);
  const std::string c = "((NIL NIL \"c\" \"d.test\"))";
  REQUIRE(body_structure(m, 0, true) ==
          "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 5 0 NIL NIL NIL NIL)"
          "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 44 (NIL \"inner\" " + c + " " + c + " " + c +
          " NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0 NIL NIL NIL NIL)"
          " 3 NIL NIL NIL NIL)"
          "(\"application\" \"octet-stream\" (\"name\" \"f.bin\") NIL NIL \"base64\" 4 NIL"
          " (\"attachment\" (\"filename\" \"f.bin\")) (\"en\" \"de\") NIL)"
          " \"mixed\" (\"boundary\" \"XX\") NIL NIL NIL)");
  REQUIRE(body_structure(m, 0, false) ==
          "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 5 0)"
          "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 44 (NIL \"inner\" " + c + " " + c + " " + c +
          " NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0) 3)"
          "(\"application\" \"octet-stream\" (\"name\" \"f.bin\") NIL NIL \"base64\" 4) \"mixed\")");
  // A group: its start and end markers around its members (RFC 3501 7.4.2).
  const std::string a = "((NIL NIL \"a\" \"b.test\"))";
  REQUIRE(envelope(m.envelopes[0]) ==
          "(NIL \"=?UTF-8?Q?caf=C3=A9?=\" " + a + " " + a + " " + a +
          " ((NIL NIL \"friends\" NIL)(NIL NIL \"c\" \"d.test\")(\"E F\" NIL \"e\" \"f.test\")(NIL NIL NIL NIL))"
          " NIL NIL NIL NIL)");
}

TEST_CASE("IMAP: RFC 2231 continuations are joined, the default charset comes last", "[imap][structure]") {
  // As Dovecot answers for the same part.
  auto m = parse_message(
      "Content-Type: text/plain; charset*=us-ascii'en'plain; name*1=\"name.txt\"; name*0=\"long\"\r\n\r\nx\r\n");
  REQUIRE(body_structure(m, 0, false) ==
          "(\"text\" \"plain\" (\"charset*\" \"us-ascii'en'plain\" \"name\" \"longname.txt\" \"charset\" \"us-ascii\") "
          "NIL NIL \"7bit\" 3 1)");
}

TEST_CASE("IMAP: every BODY[section] form names the right octets", "[imap][structure]") {
  REQUIRE(octets(kMixed, "") == kMixed);
  REQUIRE(octets(kMixed, "HEADER") == kMixed.substr(0, kMixed.find("\r\n\r\n") + 4));
  REQUIRE(octets(kMixed, "TEXT") == kMixed.substr(kMixed.find("\r\n\r\n") + 4));
  REQUIRE(octets(kMixed, "1") == "hello");
  REQUIRE(octets(kMixed, "1.MIME") == "Content-Type: text/plain; charset=utf-8\r\n\r\n");
  REQUIRE(octets(kMixed, "2") == "From: c@d.test\r\nSubject: inner\r\n\r\ninner body");
  REQUIRE(octets(kMixed, "2.HEADER") == "From: c@d.test\r\nSubject: inner\r\n\r\n");
  REQUIRE(octets(kMixed, "2.TEXT") == "inner body");
  REQUIRE(octets(kMixed, "2.1") == "inner body");
  REQUIRE(octets(kMixed, "2.HEADER.FIELDS (SUBJECT)") == "Subject: inner\r\n\r\n");
  REQUIRE(octets(kMixed, "3") == "AAAA");
  REQUIRE(octets(kMixed, "4") == "<none>");
  REQUIRE(octets(kMixed, "1.HEADER") == "<none>");  // not a message/rfc822 part
  REQUIRE(octets(kMixed, "header.fields (subject TO)") ==
          "Subject: =?UTF-8?Q?caf=C3=A9?=\r\nTo: friends: c@d.test, \"E F\" <e@f.test>;\r\n\r\n");
  REQUIRE(octets(kMixed, "HEADER.FIELDS.NOT (From Subject To MIME-Version)") ==
          "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n");
  REQUIRE(octets(kPlain, "1") == "First line.\r\nSecond line.\r\n");  // a single part is part 1
}

TEST_CASE("IMAP: section specs, as written and refused", "[imap][structure]") {
  REQUIRE(parse_section("1.2.HEADER.FIELDS (FROM \"TO\")")->name() == "1.2.HEADER.FIELDS (FROM TO)");
  REQUIRE(parse_section("3.MIME")->name() == "3.MIME");
  REQUIRE(parse_section("")->name() == "");
  for (auto bad : {"MIME", "0", "1.", "1..2", "HEADER.FIELDS ()", "HEADER.FIELDS (A:B)", "TEXT.1", "BOGUS",
                   "HEADER.FIELDS FROM", "1234567890123"}) {
    INFO(bad);
    REQUIRE_FALSE(parse_section(bad));
  }
}
