// SEARCH keys parsed from a command's arguments and matched against
// messages; RFC 2047 and transfer decoding of what is searched.
#include <catch2/catch.hpp>

#include "../../modules/imap/imap_search.h"
#include "mail/decode.h"

using namespace gannet::imap;
using gannet::store::Message;

namespace {

const std::string kMsg =
    "From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.net>\r\n"
    "To: alice@example.test\r\n"
    "Subject: =?UTF-8?B?UmVwb3J0IGbDvHI=?= =?UTF-8?Q?_M=C3=A4rz?=\r\n"
    "Date: Sun, 1 Mar 2026 23:30:00 -0800\r\n"
    "X-Tag: blue\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/alternative; boundary=b\r\n\r\n"
    "--b\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    "Gr=FC=DFe aus K=F6ln, the numbers are=\r\n in.\r\n"
    "--b\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\n"
    "PHA+VGhlIDxiPnJlcG9ydDwvYj48L3A+\r\n"
    "--b--\r\n";

struct Rig {
  Message record;
  gannet::mail::ParsedMessage parsed = gannet::mail::parse_message(kMsg);

  Rig() {
    record.uid = 7;
    record.flags = gannet::store::FLAG_SEEN | gannet::store::FLAG_FLAGGED;
    record.keywords = {"$Work"};
    record.size = kMsg.size();
    record.internal_date = 1772409600 + 3600;  // 2 Mar 2026 01:00 UTC
  }

  bool search(const std::string& keys) {
    Command c;
    REQUIRE_FALSE(parse_command("t SEARCH " + keys, c));
    SearchKey k;
    auto err = parse_search(c.args, 0, k);
    INFO(keys << ": " << err.value_or(""));
    REQUIRE_FALSE(err);
    SearchMessage m{record, 3, 10, 20, [] { return std::string_view(kMsg); },
                    [this]() -> const gannet::mail::ParsedMessage& { return parsed; }, {}};
    return matches(k, m);
  }

  std::string error(const std::string& keys) {
    Command c;
    REQUIRE_FALSE(parse_command(keys.empty() ? "t SEARCH" : "t SEARCH " + keys, c));
    SearchKey k;
    return parse_search(c.args, 0, k).value_or("");
  }
};

}  // namespace

TEST_CASE("SEARCH: flags, keywords, sizes, sets", "[imap][search]") {
  Rig r;
  CHECK(r.search("ALL"));
  CHECK(r.search("SEEN FLAGGED UNANSWERED UNDELETED UNDRAFT"));
  CHECK_FALSE(r.search("UNSEEN"));
  CHECK(r.search("KEYWORD $work"));
  CHECK_FALSE(r.search("UNKEYWORD $Work"));
  CHECK(r.search("LARGER 100 SMALLER 100000"));
  CHECK_FALSE(r.search("LARGER 100000"));
  CHECK(r.search("UID 5:7"));
  CHECK(r.search("UID 7:*"));  // * is the last UID (20)
  CHECK_FALSE(r.search("UID 19:*"));
  CHECK_FALSE(r.search("UID 8:*"));
  CHECK(r.search("2:4"));
  CHECK_FALSE(r.search("4:*"));
  CHECK(r.search("NOT RECENT OLD"));
  CHECK_FALSE(r.search("NEW"));
  CHECK(r.search("OR UNSEEN FLAGGED"));
  CHECK(r.search("(SEEN (FLAGGED KEYWORD $Work))"));
  CHECK_FALSE(r.search("NOT (SEEN FLAGGED)"));
}

TEST_CASE("SEARCH: dates, internal and sent", "[imap][search]") {
  Rig r;
  CHECK(r.search("ON 2-Mar-2026"));
  CHECK(r.search("SINCE 2-Mar-2026 BEFORE 3-mar-2026"));
  CHECK_FALSE(r.search("BEFORE 2-Mar-2026"));
  // The Date: field's own day, whatever its zone (RFC 3501 6.4.4).
  CHECK(r.search("SENTON 1-Mar-2026"));
  CHECK(r.search("SENTBEFORE 2-Mar-2026 SENTSINCE 1-Mar-2026"));
  CHECK_FALSE(r.search("SENTSINCE 2-Mar-2026"));
}

TEST_CASE("SEARCH: header and body text, decoded, case-insensitive", "[imap][search]") {
  Rig r;
  CHECK(r.search("FROM \"andré\""));  // ISO-8859-1 encoded word
  CHECK(r.search("FROM ANDRE@EXAMPLE"));
  CHECK(r.search("SUBJECT \"report für märz\""));  // two encoded words: the space between them goes
  CHECK_FALSE(r.search("SUBJECT =?UTF-8?B"));
  CHECK(r.search("TO alice"));
  CHECK_FALSE(r.search("CC alice"));
  CHECK(r.search("HEADER X-Tag BLUE"));
  CHECK(r.search("HEADER x-tag \"\""));  // the field is there
  CHECK_FALSE(r.search("HEADER X-Other \"\""));
  CHECK(r.search("BODY \"grüße aus köln\""));  // quoted-printable, ISO-8859-1
  CHECK(r.search("BODY \"are in.\""));         // a soft line break joins
  CHECK(r.search("BODY \"<b>report</b>\""));   // base64
  CHECK_FALSE(r.search("BODY alice@example"));  // headers are not the body
  CHECK(r.search("TEXT alice@example"));
  CHECK(r.search("TEXT KÖLN") == false);  // only ASCII letters fold
  CHECK(r.search("CHARSET UTF-8 TEXT köln"));
}

TEST_CASE("SEARCH: bad keys are errors that say why", "[imap][search]") {
  Rig r;
  CHECK(r.error("") == "missing search key");
  CHECK(r.error("BOGUS") == "unknown search key BOGUS");
  CHECK(r.error("FROM") == "FROM needs a string");
  CHECK(r.error("BEFORE 31-Foo-2026") == "BEFORE needs a date (1-Feb-2026)");
  CHECK(r.error("LARGER x") == "LARGER needs a number");
  CHECK(r.error("OR SEEN") == "OR needs two keys");
  CHECK(r.error("CHARSET KOI8-R ALL") == "charset");
  CHECK(r.error("()") == "empty search list");
  std::string many;
  for (int i = 0; i < 1001; i++) many += "ALL ";
  many.pop_back();
  CHECK(r.error(many) == "too many search keys");
}

TEST_CASE("decoding: encoded words, transfer encodings, charsets", "[mail][decode]") {
  using namespace gannet::mail;
  CHECK(decode_words("=?utf-8?q?caf=C3=A9?= au lait") == "café au lait");
  CHECK(decode_words("a =?UTF-8?B?w6k=?=  =?UTF-8?B?w6k=?= b") == "a éé b");
  CHECK(decode_words("=?bogus?Q?x?=") == "x");  // an unknown charset: the octets as they are
  CHECK(decode_words("=?UTF-8?X?abc?= =?broken") == "=?UTF-8?X?abc?= =?broken");
  CHECK(decode_transfer("YWJj\r\nZGVm\r\n", "BASE64") == "abcdef");
  CHECK(decode_transfer("a=3Db=\r\nc", "quoted-printable") == "a=bc");
  CHECK(decode_transfer("=ZZ", "quoted-printable") == "=ZZ");
  CHECK(to_utf8("\xe9", "latin1") == "é");
  CHECK(to_utf8("\xff\xfe", "utf-8") == "\xff\xfe");  // taken as it is
}
