// Maildir names, Maildir++ folders, modified UTF-7 and mboxrd: the pure
// functions behind gannetctl import/export.
#include <catch2/catch.hpp>

#include "store/maildir.h"
#include "store/mutf7.h"
#include "store/records.h"

using namespace gannet::store;
using namespace gannet::store::maildir;

namespace {

std::vector<MboxMessage> split(std::string_view file) {
  MboxReader r(file);
  std::vector<MboxMessage> out;
  MboxMessage m;
  while (r.next(m)) out.push_back(m);
  return out;
}

}  // namespace

TEST_CASE("modified UTF-7: RFC 3501's examples and the edges", "[mutf7]") {
  CHECK(mutf7_decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-") == "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
  CHECK(mutf7_encode("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
  CHECK(mutf7_encode("Entw\xc3\xbcrfe") == "Entw&APw-rfe");
  CHECK(mutf7_decode("Entw&APw-rfe") == "Entw\xc3\xbcrfe");
  CHECK(mutf7_encode("R&D") == "R&-D");
  CHECK(mutf7_decode("R&-D") == "R&D");
  CHECK(mutf7_encode("") == "");
  CHECK(mutf7_encode("\xc3\xa4\xc3\xb6\xc3\xbc") == "&AOQA9gD8-");            // one run for adjacent characters
  CHECK(mutf7_encode("\xf0\x9f\x98\x80") == "&2D3eAA-");                      // U+1F600: a surrogate pair
  CHECK(mutf7_decode("&2D3eAA-") == "\xf0\x9f\x98\x80");
  CHECK(mutf7_encode("a\tb") == "a&AAk-b");                                    // controls are not printable ASCII

  // What the encoder never writes is refused.
  for (const char* bad : {"&", "&AOQ", "&AGE-", "&AOQ-&APY-", "&AOR-", "&2D0-", "&3gA-", "&A-", "&AOQA-", "\xc3\xa4", "a\tb",
                          "&A*Q-", "&-&"})
    CHECK_FALSE(mutf7_decode(bad));
  // Invalid UTF-8 cannot be encoded.
  for (const char* bad : {"\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff", "a\x80"})
    CHECK_FALSE(mutf7_encode(bad));
}

TEST_CASE("modified UTF-7 round trips", "[mutf7]") {
  const char* names[] = {"INBOX", "Entw\xc3\xbcrfe", "&", "&&-", "a&b&c", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 & \xe4\xb8\x96\xe7\x95\x8c",
                         "\xf0\x9f\x93\xa7 mail \xf0\x9f\x93\xa7\xf0\x9f\x93\xa8", "x\x7fy", "\xc3\xa4-\xc3\xb6", "-&-"};
  for (const char* n : names) {
    auto enc = mutf7_encode(n);
    REQUIRE(enc);
    CHECK(mutf7_decode(*enc) == n);
    CHECK(mutf7_encode(*mutf7_decode(*enc)) == enc);
  }
  // Every BMP character (surrogates aside) alone and next to ASCII.
  for (uint32_t cp = 0x80; cp < 0x10000; cp += 7) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    std::string s = "a";
    if (cp < 0x800) s += char(0xc0 | cp >> 6), s += char(0x80 | (cp & 0x3f));
    else s += char(0xe0 | cp >> 12), s += char(0x80 | (cp >> 6 & 0x3f)), s += char(0x80 | (cp & 0x3f));
    s += "-";
    auto enc = mutf7_encode(s);
    REQUIRE(enc);
    REQUIRE(mutf7_decode(*enc) == s);
  }
}

TEST_CASE("Maildir file names: flags", "[maildir]") {
  KeywordTable none;
  auto f = parse_filename("1700000000.M1P2.host,S=123,W=130:2,FRS", none);
  CHECK(f.flags == (FLAG_FLAGGED | FLAG_ANSWERED | FLAG_SEEN));
  CHECK(f.keywords.empty());
  CHECK(f.unknown.empty());
  CHECK(parse_filename("1700000000.M1P2.host:2,DT", none).flags == (FLAG_DRAFT | FLAG_DELETED));
  CHECK(parse_filename("1700000000.M1P2.host", none) == Flags{});      // new/
  CHECK(parse_filename("1700000000.M1P2.host:2,", none) == Flags{});
  CHECK(parse_filename("1700000000.M1P2.host:1,S", none) == Flags{});  // experimental info: no flags
  CHECK(parse_filename("1700000000.M1P2.host:2,S,XYZ", none).flags == FLAG_SEEN);  // a later field is not flags
  CHECK(parse_filename("1700000000.M1P2.host:2,P", none).keywords == std::vector<std::string>{"$Forwarded"});

  auto table = parse_keywords_file("0 $Label1\n1 Junk\r\n3 $Forwarded\nbogus line\n30 too-far\n2\n");
  REQUIRE(table.size() == 4);
  CHECK(table[0] == "$Label1");
  CHECK(table[1] == "Junk");
  CHECK(table[2].empty());
  auto k = parse_filename("x:2,PSabcdz", table);
  CHECK(k.flags == FLAG_SEEN);
  CHECK(k.keywords == std::vector<std::string>{"$Forwarded", "$Label1", "Junk"});  // P and d are one keyword
  CHECK(k.unknown == "cz");
}

TEST_CASE("Maildir file names: building them", "[maildir]") {
  KeywordTable table;
  CHECK(make_filename("u1", FLAG_SEEN | FLAG_ANSWERED | FLAG_DRAFT | FLAG_FLAGGED | FLAG_DELETED, {}, table) == "u1:2,DFRST");
  CHECK(make_filename("u2", 0, {}, table) == "u2:2,");
  CHECK(make_filename("u3", FLAG_SEEN, {"Work", "$Forwarded"}, table) == "u3:2,PSab");
  CHECK(table == KeywordTable{"Work", "$Forwarded"});
  CHECK(make_filename("u4", 0, {"work"}, table) == "u4:2,a");  // keywords ignore case
  CHECK(format_keywords_file(table) == "0 Work\n1 $Forwarded\n");
  CHECK(parse_keywords_file(format_keywords_file(table)) == table);

  // Round trip through parse_filename.
  std::vector<std::string> kws{"$Forwarded", "Work", "Private"};
  std::string name = make_filename("1700000000.U1V2.gannet,S=10", FLAG_SEEN | FLAG_FLAGGED, kws, table);
  auto back = parse_filename(name, table);
  CHECK(back.flags == (FLAG_SEEN | FLAG_FLAGGED));
  CHECK(back.keywords == std::vector<std::string>{"$Forwarded", "Work", "Private"});

  // 26 letters at most; the rest are counted.
  KeywordTable full;
  std::vector<std::string> many;
  for (int i = 0; i < 30; i++) many.push_back("k" + std::to_string(i));
  size_t dropped = 0;
  std::string n = make_filename("u", 0, many, full, &dropped);
  CHECK(dropped == 4);
  CHECK(full.size() == kMaxKeywordLetters);
  CHECK(n == "u:2,abcdefghijklmnopqrstuvwxyz");
  CHECK(keyword_letter(full, "k3") == 'd');
  KeywordTable t2;
  CHECK(keyword_letter(t2, "has space") == 0);
  CHECK(keyword_letter(t2, "line\nbreak") == 0);
}

TEST_CASE("Maildir++ folder names", "[maildir]") {
  CHECK(folder_to_mailbox(".Sent") == "Sent");
  CHECK(folder_to_mailbox(".Sub.Folder") == "Sub/Folder");
  CHECK(folder_to_mailbox(".Entw&APw-rfe") == "Entw\xc3\xbcrfe");
  CHECK(folder_to_mailbox(".Archiv.2023.Entw&APw-rfe") == "Archiv/2023/Entw\xc3\xbcrfe");
  CHECK(folder_to_mailbox(".R&D") == "R&D");                          // not mUTF-7: taken as UTF-8
  CHECK(folder_to_mailbox(".Entw\xc3\xbcrfe") == "Entw\xc3\xbcrfe");  // Dovecot's mailbox_list_utf8
  CHECK(folder_to_mailbox(".a\\2eb") == "a.b");                       // listescape
  for (const char* bad : {"", ".", "..", "Sent", ".\xff", ".a\\09b", ".&AAk-"}) CHECK_FALSE(folder_to_mailbox(bad));

  CHECK(mailbox_to_folder("INBOX") == "");
  CHECK(mailbox_to_folder("Sub/Folder") == ".Sub.Folder");
  CHECK(mailbox_to_folder("Entw\xc3\xbcrfe") == ".Entw&APw-rfe");
  CHECK(mailbox_to_folder("v1.2\\x") == ".v1\\2e2\\5cx");
  for (const char* bad : {"", "/", "\xff", "tab\there"}) CHECK_FALSE(mailbox_to_folder(bad));

  for (const char* name : {"Sent", "a/b/c", "Entw\xc3\xbcrfe/\xe6\x97\xa5\xe6\x9c\xac", "R&D", "v1.2", "back\\slash", "a//b", "/lead",
                           "trail/", ".", "..", "INBOX/Sub", "\xf0\x9f\x93\xa7"}) {
    auto dir = mailbox_to_folder(name);
    REQUIRE(dir);
    CHECK(dir->find('/') == std::string::npos);
    CHECK(folder_to_mailbox(*dir) == name);
  }
}

TEST_CASE("mbox: splitting, LF and CRLF", "[mbox]") {
  std::string lf =
      "From alice@example.test Thu Jan  1 00:00:00 1970\n"
      "Subject: one\n\nbody\n>From here\n>>From there\nFrom not after a blank line\n\n"
      "From bob@example.test Sat Nov 25 12:30:05 2023\n"
      "Subject: two\n\n\n\nFrom quoted-less in body after blank stays split\n";
  auto msgs = split(lf);
  REQUIRE(msgs.size() == 3);
  CHECK(msgs[0].data == "Subject: one\n\nbody\nFrom here\n>From there\nFrom not after a blank line\n");
  CHECK(msgs[0].date == 0);
  CHECK(msgs[1].data == "Subject: two\n\n\n");
  CHECK(msgs[1].date == 1700915405);
  CHECK(msgs[2].data == "");
  CHECK(!msgs[2].date);

  std::string crlf = "From a Sat Nov 25 12:30:05 2023\r\nSubject: x\r\n\r\n>From y\r\n\r\nFrom b Sat Nov 25 12:30:06 2023\r\nA: b\r\n";
  msgs = split(crlf);
  REQUIRE(msgs.size() == 2);
  CHECK(msgs[0].data == "Subject: x\r\n\r\nFrom y\r\n");
  CHECK(msgs[1].data == "A: b\r\n");  // no blank line at the end: nothing to drop
  CHECK(msgs[1].date == 1700915406);

  CHECK(split("").empty());
  CHECK_FALSE(MboxReader("Subject: not an mbox\n").valid());
  CHECK(split("From x\n").size() == 1);
}

TEST_CASE("mbox: From_ line dates", "[mbox]") {
  CHECK(parse_from_line_date("From a Thu Jan  1 00:00:00 1970") == 0);
  CHECK(parse_from_line_date("From MAILER-DAEMON Fri Jul  8 12:08:34 2011\n") == 1310126914);
  CHECK(parse_from_line_date("From a Fri Jul  8 12:08:34 2011 +0200\r\n") == 1310126914 - 7200);
  CHECK(parse_from_line_date("From a Fri Jul  8 12:08:34 -0130 2011") == 1310126914 + 5400);
  CHECK(parse_from_line_date("From a Fri Jul  8 12:08 CEST 2011") == 1310126880);
  CHECK(parse_from_line_date("From \"a b\"@example.test Fri Jul  8 12:08:34 2011") == 1310126914);
  CHECK(parse_from_line_date("From a Fri Jul 29 2011") == std::nullopt);
  CHECK(parse_from_line_date("From a") == std::nullopt);
  CHECK(parse_from_line_date("From a Fri Jul  8 25:08:34 2011") == std::nullopt);
  CHECK(parse_from_line_date("Subject: Jul 8 12:00 2011") == std::nullopt);
}

TEST_CASE("mbox: entries round-trip through the reader", "[mbox]") {
  const char* messages[] = {
      "Subject: a\n\nFrom the start\n>From quoted\n>>>From deep\n\nFrom after blank\n",
      "Subject: crlf\r\n\r\nFrom x\r\n\r\n\r\n",
      "",
      "\n",
      "From \n",
      "Subject: b\n\nends with blank lines\n\n\n",
  };
  std::string file;
  for (auto* m : messages) file += mbox_entry(m, "sender@example.test", 1700915405);
  auto msgs = split(file);
  REQUIRE(msgs.size() == std::size(messages));
  for (size_t i = 0; i < msgs.size(); i++) {
    CHECK(msgs[i].data == messages[i]);
    CHECK(msgs[i].date == 1700915405);
  }
  CHECK(mbox_entry("Subject: x\n\nFrom y\n", "", 0) == "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\nSubject: x\n\n>From y\n\n");
  CHECK(mbox_entry("A: b\r\n", "s", 0).starts_with("From s Thu Jan  1 00:00:00 1970\r\n"));
  // A message without a final line break gets one.
  CHECK(split(mbox_entry("no newline", "s", 0))[0].data == "no newline\n");
  for (int64_t t : {int64_t(-86401), int64_t(951782400), int64_t(4102444799), int64_t(1700915405)})
    CHECK(split(mbox_entry("x\n", "s", t))[0].date == t);
}

TEST_CASE("mbox: Status and X-Status flags", "[mbox]") {
  CHECK(mbox_status_flags("Subject: x\nStatus: RO\nX-Status: AF\n\nStatus: D\n") == (FLAG_SEEN | FLAG_ANSWERED | FLAG_FLAGGED));
  CHECK(mbox_status_flags("status: O\r\nx-status: DT\r\n\r\n") == (FLAG_DELETED | FLAG_DRAFT));
  CHECK(mbox_status_flags("Subject: x\n\nStatus: R\n") == 0);
}

TEST_CASE("dovecot-uidlist: version 3 header, then a UID per file", "[maildir]") {
  CHECK(format_uidlist(1275660208, 25022, {{1, "1.U1V9.gannet,S=10"}, {7, "2.U7V9.gannet,S=3"}}) ==
        "3 V1275660208 N25022\n1 :1.U1V9.gannet,S=10\n7 :2.U7V9.gannet,S=3\n");
  CHECK(format_uidlist(5, 1, {}) == "3 V5 N1\n");
}

TEST_CASE("dovecot-uidlist: read back, extension fields and bad lines", "[maildir]") {
  auto l = parse_uidlist("3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1\n"
                         "1 :1655390418.M1P2.host,S=3734\n"
                         "7 S120 W125 :1655390419.M2P2.host\n"
                         "x :bad\n"
                         "9 no-name\n"
                         "0 :zero\n");
  REQUIRE(l);
  CHECK(l->uidvalidity == 1275660208);
  CHECK(l->uidnext == 25022);
  CHECK(l->uids == std::map<std::string, uint32_t, std::less<>>{{"1655390418.M1P2.host,S=3734", 1},
                                                                  {"1655390419.M2P2.host", 7}});
  CHECK_FALSE(parse_uidlist("1 1275660208 25022\n1 name\n"));  // version 1: not ours to read
  CHECK_FALSE(parse_uidlist("3 N5\n"));                         // no UIDVALIDITY
  CHECK_FALSE(parse_uidlist(""));
  auto again = parse_uidlist(format_uidlist(42, 10, {{3, "a,S=1"}, {4, "b"}}));
  REQUIRE(again);
  CHECK(again->uidvalidity == 42);
  CHECK(again->uidnext == 10);
  CHECK(again->uids.size() == 2);
  CHECK(again->uids.at("b") == 4);
}

TEST_CASE("Dovecot subscriptions: version 2 written, both versions read", "[maildir]") {
  std::vector<std::string> names{"INBOX", "Work", "Entwürfe", "Archiv/2023", "a.b", "tab\there"};
  std::string text = format_subscriptions(names);
  CHECK(text == "V\t2\n\nINBOX\nWork\nEntw&APw-rfe\nArchiv\t2023\na.b\n");  // a control character spells no name
  names.pop_back();
  CHECK(parse_subscriptions(text) == names);
  // Version 1 as a fresh Dovecot writes it: '.' between levels, "inbox" in any case.
  CHECK(parse_subscriptions("inbox\nWork\nArchiv.2023\r\nEntw&APw-rfe\n\n") ==
        std::vector<std::string>{"INBOX", "Work", "Archiv/2023", "Entwürfe"});
  // Escapes undone; lines that decode to no name are left out.
  CHECK(parse_subscriptions("V\t2\n\nx\001ty\n\t\nbad\xff\nok\n") == std::vector<std::string>{"ok"});
  CHECK(parse_subscriptions("V\t2\n\nlevel\001\061\n") == std::vector<std::string>{});
  CHECK(parse_subscriptions("").empty());
}
