// SMTP grammar: command verbs, MAIL/RCPT paths and parameters, as tables
// of inputs and what the parser must make of them.
#include <catch2/catch.hpp>

#include <functional>
#include <string>

#include "../../modules/smtp/smtp_parse.h"

using namespace gannet::smtp;
using namespace std::string_literals;

namespace {

// "code enhanced" of an error, or "ok".
std::string outcome(const std::optional<SyntaxError>& err) {
  if (!err) return "ok";
  return std::to_string(err->code) + " " + err->text.substr(0, err->text.find(' '));
}

std::string mail(std::string_view arg) {
  Path p;
  MailParams m;
  return outcome(parse_mail(arg, p, m));
}

std::string rcpt(std::string_view arg) {
  Path p;
  RcptParams r;
  return outcome(parse_rcpt(arg, p, r));
}

}  // namespace

TEST_CASE("parse_command: verbs from the table, case-insensitive, whole words", "[smtp]") {
  struct Row {
    std::string line;
    Verb verb;
    std::string arg;
  } rows[] = {
      {"HELO client.example", Verb::helo, "client.example"},
      {"ehlo client.example", Verb::ehlo, "client.example"},
      {"MAIL FROM:<a@b.example>", Verb::mail, "FROM:<a@b.example>"},
      {"mail from:<a@b.example> SIZE=10", Verb::mail, "from:<a@b.example> SIZE=10"},
      {"RCPT TO:<a@b.example>", Verb::rcpt, "TO:<a@b.example>"},
      {"DATA", Verb::data, ""},
      {"BDAT 100 LAST", Verb::bdat, "100 LAST"},
      {"RSET", Verb::rset, ""},
      {"NoOp", Verb::noop, ""},
      {"QUIT", Verb::quit, ""},
      {"QUIT ", Verb::quit, ""},
      {"VRFY user", Verb::vrfy, "user"},
      {"EXPN list", Verb::expn, "list"},
      {"HELP", Verb::help, ""},
      {"STARTTLS", Verb::starttls, ""},
      {"starttls", Verb::starttls, ""},
      {"AUTH PLAIN AHVzZXIAcGFzcw==", Verb::auth, "PLAIN AHVzZXIAcGFzcw=="},
      {"MAIL  FROM:<a@b>", Verb::mail, " FROM:<a@b>"},  // the second space is the argument's problem
      {"MAILX FROM:<a@b>", Verb::unknown, "FROM:<a@b>"},
      {"MAI", Verb::unknown, ""},
      {"STARTTLSX", Verb::unknown, ""},
      {"", Verb::unknown, ""},
      {" MAIL FROM:<a@b>", Verb::unknown, "MAIL FROM:<a@b>"},
      {"DATA\t", Verb::unknown, ""},
      {"MAIL:FROM", Verb::unknown, ""},
      {"QUIT\0"s, Verb::unknown, ""},
  };
  for (auto& r : rows) {
    INFO("line: " << r.line);
    Command c = parse_command(r.line);
    CHECK(c.verb == r.verb);
    CHECK(c.arg == r.arg);
  }
}

TEST_CASE("parse_mail: valid reverse paths", "[smtp]") {
  struct Row {
    std::string arg, local, domain;
    bool null = false, utf8 = false;
  } rows[] = {
      {"FROM:<user@example.com>", "user", "example.com"},
      {"FROM: <user@example.com>", "user", "example.com"},  // one space, as many clients send
      {"from:<User@Example.COM>", "User", "example.com"},
      {"FROM:<>", "", "", true},
      {"FROM: <>", "", "", true},
      {"FROM:<a.b.c@x-y.example>", "a.b.c", "x-y.example"},
      {"FROM:<!#$%&'*+-/=?^_`{|}~@example.com>", "!#$%&'*+-/=?^_`{|}~", "example.com"},
      {"FROM:<user@localhost>", "user", "localhost"},
      {"FROM:<1@2.3>", "1", "2.3"},
      // Relay tricks: each reads as exactly one mailbox, never a route.
      {"FROM:<user%other@local>", "user%other", "local"},
      {"FROM:<user!other@local>", "user!other", "local"},
      {"FROM:<\"user@other\"@local>", "\"user@other\"", "local"},
      {"FROM:<@local:user@other>", "user", "other"},
      {"FROM:<@a.example,@b.example:user@c.example>", "user", "c.example"},
      // Quoted local parts keep their quotes and escapes.
      {"FROM:<\"john doe\"@example.com>", "\"john doe\"", "example.com"},
      {"FROM:<\"a\\\"b\"@example.com>", "\"a\\\"b\"", "example.com"},
      {"FROM:<\"a\\\\b\"@example.com>", "\"a\\\\b\"", "example.com"},
      {"FROM:<\"a..b\"@example.com>", "\"a..b\"", "example.com"},
      // Address literals.
      {"FROM:<user@[192.0.2.1]>", "user", "[192.0.2.1]"},
      {"FROM:<user@[0.0.0.0]>", "user", "[0.0.0.0]"},
      {"FROM:<user@[IPv6:2001:DB8::1]>", "user", "[IPv6:2001:db8::1]"},
      {"FROM:<user@[ipv6:::ffff:192.0.2.1]>", "user", "[IPv6:::ffff:192.0.2.1]"},
      {"FROM:<user@[IPv6:2001:db8:0:0:0:0:0:1]>", "user", "[IPv6:2001:db8:0:0:0:0:0:1]"},
      // RFC 6531: UTF-8 in local parts and domains.
      {"FROM:<δοκιμή@παράδειγμα.δοκιμή>", "δοκιμή", "παράδειγμα.δοκιμή", false, true},
      {"FROM:<用户@例子.广告>", "用户", "例子.广告", false, true},
      {"FROM:<user@Bücher.EXAMPLE>", "user", "bücher.example", false, true},
      {"FROM:<\"δ x\"@example.com>", "\"δ x\"", "example.com", false, true},
      {"FROM:<😀@example.com>", "😀", "example.com", false, true},
      {"FROM:<@δ.example:user@example.com>", "user", "example.com"},  // the dropped route needs no SMTPUTF8
  };
  for (auto& r : rows) {
    INFO("arg: " << r.arg);
    Path p;
    MailParams m;
    auto err = parse_mail(r.arg, p, m);
    REQUIRE(outcome(err) == "ok");
    CHECK(p.null == r.null);
    CHECK(p.local == r.local);
    CHECK(p.domain == r.domain);
    CHECK(p.utf8 == r.utf8);
    // What the server writes back (address()) reads as the same path.
    Path again;
    MailParams m2;
    REQUIRE(outcome(parse_mail("FROM:<" + p.address() + ">", again, m2)) == "ok");
    CHECK(again.local == p.local);
    CHECK(again.domain == p.domain);
    CHECK(again.null == p.null);
  }
}

TEST_CASE("parse_mail: invalid reverse paths are 501 5.1.7", "[smtp]") {
  std::string rows[] = {
      "FROM:user@example.com",           // no brackets
      "FROM:<user@example.com",          // no '>'
      "FROM:user@example.com>",
      "FROM:  <user@example.com>",       // two spaces
      "FROM:\t<user@example.com>",
      "FROM: user@example.com",
      "FROM:",
      "FROM: ",
      "FROM:<>x",
      "FROM:<user@example.com>x",
      "FROM:<user@example.com>>",
      "FROM:<<user@example.com>>",
      "FROM:<@example.com>",             // empty local part
      "FROM:<\"\"@example.com>",         // empty quoted local part
      "FROM:<@>",
      "FROM:<@",
      "FROM:<user@other@local>",         // two unquoted '@'
      "FROM:<user>",
      "FROM:<Postmaster>",               // only a forward path
      "FROM:<user@>",
      "FROM:<.user@example.com>",
      "FROM:<user.@example.com>",
      "FROM:<us..er@example.com>",
      "FROM:<us er@example.com>",
      "FROM:<us(er)@example.com>",
      "FROM:<us,er@example.com>",
      "FROM:<us\\er@example.com>",
      "FROM:<a.\"b\"@example.com>",
      "FROM:<\"a\"b@example.com>",
      "FROM:<\"unterminated@example.com>",
      "FROM:<\"a\\",
      "FROM:<user@exa mple.com>",
      "FROM:<user@-example.com>",
      "FROM:<user@example-.com>",
      "FROM:<user@example..com>",
      "FROM:<user@example.com.>",
      "FROM:<user@.example.com>",
      "FROM:<user@exam_ple.com>",
      "FROM:<user@example.com:25>",
      "FROM:<user@" + std::string(64, 'x') + ".com>",  // a label over 63
      // Control characters, NUL, bad UTF-8.
      "FROM:<us\x01er@example.com>",
      "FROM:<us\0er@example.com>"s,
      "FROM:<user@exa\0mple.com>"s,
      "FROM:<us\x7f" "er@example.com>",
      "FROM:<\"us\x01er\"@example.com>",
      "FROM:<\"a\\\x01\"@example.com>",  // quoted-pair of a control
      "FROM:<\"a\\\xc3\xa9\"@example.com>",  // quoted-pair of non-ASCII
      "FROM:<us\xff" "er@example.com>",
      "FROM:<\xc3@example.com>",             // truncated sequence
      "FROM:<\xc0\xaf@example.com>",         // overlong '/'
      "FROM:<\xed\xa0\x80@example.com>",     // surrogate
      "FROM:<\xf4\x90\x80\x80@example.com>", // past U+10FFFF
      "FROM:<user@exa\x80mple.com>",
      "FROM:<user@ex\xc3\xa9\xff.com>",
      // Source routes: '@' domains only, ',' between, ':' at the end.
      "FROM:<@a.example user@b.example>",
      "FROM:<@a.example,user@b.example>",
      "FROM:<@a.example:>",
      "FROM:<@a.example,:user@b.example>",
      "FROM:<@a.example,b.example:user@c.example>",
      "FROM:<@[192.0.2.1]:user@b.example>",
      "FROM:<@-a:user@b.example>",
      "FROM:<@:user@b.example>",
      // Address literals.
      "FROM:<user@[192.0.2]>",
      "FROM:<user@[256.0.0.1]>",
      "FROM:<user@[1.2.3.4.5]>",
      "FROM:<user@[1.2.3.0004]>",
      "FROM:<user@[1.2.3.4]x>",
      "FROM:<user@[1.2.3.4>",
      "FROM:<user@[]>",
      "FROM:<user@[IPv6:zz::1]>",
      "FROM:<user@[IPv6:1::2::3]>",
      "FROM:<user@[IPv6:]>",
      "FROM:<user@[IPv6:fe80::1%eth0]>",
      "FROM:<user@[IPv6:2001:db8::\0junk]>"s,  // found by fuzz_smtp_command: inet_pton stops at NUL
      "FROM:<user@[IPv6:2001:db8:: ]>",
      "FROM:<user@[IPv4:1.2.3.4]>",
      "FROM:<user@[tag:content]>",
      "FROM:<user@[2001:db8::1]>",
  };
  for (auto& arg : rows) {
    INFO("arg: " << arg);
    CHECK(mail(arg) == "501 5.1.7");
  }
}

TEST_CASE("parse_mail and parse_rcpt: a missing FROM:/TO: is 501 5.5.2", "[smtp]") {
  for (std::string arg : {"<user@example.com>", "TO:<user@example.com>", "FROM<user@example.com>", "FRO:<a@b>",
                          "", " FROM:<a@b>", "FROM :<a@b>", "FROM", "F"}) {
    INFO("arg: " << arg);
    CHECK(mail(arg) == "501 5.5.2");
  }
  for (std::string arg : {"<user@example.com>", "FROM:<user@example.com>", "TO<a@b>", "T:<a@b>", "", " TO:<a@b>"}) {
    INFO("arg: " << arg);
    CHECK(rcpt(arg) == "501 5.5.2");
  }
}

TEST_CASE("parse_mail: RFC 5321 4.5.3.1 length limits", "[smtp]") {
  std::string l64(64, 'l'), l65(65, 'l');
  CHECK(mail("FROM:<" + l64 + "@example.com>") == "ok");
  CHECK(mail("FROM:<" + l65 + "@example.com>") == "501 5.1.7");
  CHECK(mail("FROM:<\"" + std::string(62, 'q') + "\"@example.com>") == "ok");  // quotes count
  CHECK(mail("FROM:<\"" + std::string(63, 'q') + "\"@example.com>") == "501 5.1.7");
  // "<" 64 "@" 189 ">" is 256 octets: the longest path.
  std::string d189 = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(61, 'c');
  std::string d190 = d189 + "c";
  CHECK(mail("FROM:<" + l64 + "@" + d189 + ">") == "ok");
  CHECK(mail("FROM:<" + l64 + "@" + d190 + ">") == "501 5.1.7");
  // The route counts too, though it is dropped.
  std::string route = "@" + std::string(63, 'r') + ":";
  CHECK(mail("FROM:<u@" + d189 + ">") == "ok");
  CHECK(mail("FROM:<" + route + "u@" + d189 + ">") == "501 5.1.7");  // 258 octets
  CHECK(mail("FROM:<" + route + "u@example.com>") == "ok");
  // An octet-count limit: 32 two-octet characters fill the local part.
  std::string alpha32;
  for (int i = 0; i < 32; i++) alpha32 += "α";
  CHECK(mail("FROM:<" + alpha32 + "@example.com>") == "ok");
  CHECK(mail("FROM:<" + alpha32 + "a@example.com>") == "501 5.1.7");
}

TEST_CASE("parse_mail: parameters", "[smtp]") {
  Path p;
  MailParams m;
  REQUIRE(outcome(parse_mail("FROM:<a@example.com> SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159 AUTH=<>",
                             p, m)) == "ok");
  CHECK(m.size == 1000u);
  CHECK(m.body == MailParams::eight_bit_mime);
  CHECK(m.smtputf8);
  CHECK(m.ret == "HDRS");
  CHECK(m.envid == "QQ314159");
  CHECK(m.auth == "<>");

  struct Row {
    std::string params;
    std::function<bool(const MailParams&)> check;
  } rows[] = {
      {"", [](auto& m) { return !m.size && m.body == MailParams::seven_bit && !m.smtputf8 && m.ret.empty() && !m.auth; }},
      {"SIZE=0", [](auto& m) { return m.size == 0u; }},
      {"size=12345", [](auto& m) { return m.size == 12345u; }},
      {"SIZE=18446744073709551615", [](auto& m) { return m.size == UINT64_MAX; }},
      {"SIZE=00000000000000000001", [](auto& m) { return m.size == 1u; }},  // 20 digits
      {"BODY=7BIT", [](auto& m) { return m.body == MailParams::seven_bit; }},
      {"body=8bitmime", [](auto& m) { return m.body == MailParams::eight_bit_mime; }},
      {"BODY=BINARYMIME", [](auto& m) { return m.body == MailParams::binary_mime; }},
      {"SMTPUTF8", [](auto& m) { return m.smtputf8; }},
      {"smtputf8 BODY=8BITMIME", [](auto& m) { return m.smtputf8 && m.body == MailParams::eight_bit_mime; }},
      {"RET=FULL", [](auto& m) { return m.ret == "FULL"; }},
      {"ret=hdrs", [](auto& m) { return m.ret == "HDRS"; }},
      {"ENVID=a+2Bb+3Dc", [](auto& m) { return m.envid == "a+2Bb+3Dc"; }},  // kept encoded
      {"ENVID=" + std::string(100, 'e'), [](auto& m) { return m.envid.size() == 100; }},
      {"AUTH=<>", [](auto& m) { return m.auth == "<>"; }},
      {"AUTH=e+3Dmc2@example.com", [](auto& m) { return m.auth == "e=mc2@example.com"; }},  // kept decoded
      {"auth=user@example.com", [](auto& m) { return m.auth == "user@example.com"; }},
  };
  for (auto& r : rows) {
    std::string arg = "FROM:<a@example.com>" + (r.params.empty() ? "" : " " + r.params);
    INFO("arg: " << arg);
    Path p;
    MailParams m;
    REQUIRE(outcome(parse_mail(arg, p, m)) == "ok");
    CHECK(r.check(m));
  }
}

TEST_CASE("parse_mail: bad parameters are 555 5.5.4, a bad SIZE 501 5.5.4", "[smtp]") {
  struct Row {
    std::string params, expect;
  } rows[] = {
      {"SIZE", "501 5.5.4"},
      {"SIZE=", "501 5.5.4"},
      {"SIZE=abc", "501 5.5.4"},
      {"SIZE=-1", "501 5.5.4"},
      {"SIZE=+1", "501 5.5.4"},
      {"SIZE=1k", "501 5.5.4"},
      {"SIZE=18446744073709551616", "501 5.5.4"},   // 2^64
      {"SIZE=000000000000000000001", "501 5.5.4"},  // 21 digits
      {"SIZE=1 SIZE=2", "555 5.5.4"},               // duplicate
      {"BODY=9BIT", "555 5.5.4"},
      {"BODY", "555 5.5.4"},
      {"BODY=", "555 5.5.4"},
      {"BODY=7BIT body=8BITMIME", "555 5.5.4"},
      {"SMTPUTF8=yes", "555 5.5.4"},
      {"SMTPUTF8=", "555 5.5.4"},
      {"SMTPUTF8 SMTPUTF8", "555 5.5.4"},
      {"RET=ALL", "555 5.5.4"},
      {"RET", "555 5.5.4"},
      {"RET=FULL RET=HDRS", "555 5.5.4"},
      {"ENVID=", "555 5.5.4"},
      {"ENVID", "555 5.5.4"},
      {"ENVID=a+2b", "555 5.5.4"},  // hex digits are upper case
      {"ENVID=a+", "555 5.5.4"},
      {"ENVID=a+4", "555 5.5.4"},
      {"ENVID=a+G0", "555 5.5.4"},
      {"ENVID=" + std::string(101, 'e'), "555 5.5.4"},
      {"ENVID=\xc3\xa9", "555 5.5.4"},  // xtext is ASCII
      {"AUTH=", "555 5.5.4"},
      {"AUTH", "555 5.5.4"},
      {"AUTH=a+00b@example.com", "555 5.5.4"},  // decodes to a NUL
      {"AUTH=a+0Db@example.com", "555 5.5.4"},
      {"AUTH=<> AUTH=<>", "555 5.5.4"},
      {"FOO=bar", "555 5.5.4"},
      {"XFOO", "555 5.5.4"},
      {"NOTIFY=NEVER", "555 5.5.4"},  // a RCPT parameter
      {"ORCPT=rfc822;a@b", "555 5.5.4"},
      {"-X=1", "555 5.5.4"},
      {"X_Y=1", "555 5.5.4"},
      {"=1", "555 5.5.4"},
      {"SIZE=1  BODY=7BIT", "555 5.5.4"},  // two spaces
      {"SIZE=1 ", "555 5.5.4"},            // trailing space
      {"", "555 5.5.4"},                   // "FROM:<a@b> " with nothing after
      {"SIZE=1\tBODY=7BIT", "555 5.5.4"},
      {"BODY=8BIT\x01MIME", "555 5.5.4"},
      {"BODY=8BITMIME\0"s, "555 5.5.4"},
      {"RET=FULL=1", "555 5.5.4"},
      {"RET=FU\xffLL", "555 5.5.4"},
  };
  for (auto& r : rows) {
    std::string arg = "FROM:<a@example.com> " + r.params;
    INFO("arg: " << arg);
    CHECK(mail(arg) == r.expect);
  }
}

TEST_CASE("parse_mail and parse_rcpt leave their outputs alone on error", "[smtp]") {
  Path p{.local = "keep", .domain = "keep.example"};
  MailParams m;
  m.size = 7;
  CHECK(parse_mail("FROM:<a@example.com> SIZE=10 BODY=9BIT", p, m));
  CHECK(p.local == "keep");
  CHECK(m.size == 7u);
  CHECK(m.body == MailParams::seven_bit);
  RcptParams r;
  r.notify = "keep";
  CHECK(parse_rcpt("TO:<a@example.com> NOTIFY=NEVER,DELAY", p, r));
  CHECK(p.local == "keep");
  CHECK(r.notify == "keep");
}

TEST_CASE("parse_rcpt: forward paths", "[smtp]") {
  struct Row {
    std::string arg, local, domain, address;
    bool utf8 = false;
  } rows[] = {
      {"TO:<user@example.com>", "user", "example.com", "user@example.com"},
      {"TO: <user@example.com>", "user", "example.com", "user@example.com"},
      {"to:<USER@EXAMPLE.COM>", "USER", "example.com", "USER@example.com"},
      {"TO:<Postmaster>", "Postmaster", "", "Postmaster"},
      {"TO:<postmaster>", "postmaster", "", "postmaster"},
      {"TO:<POSTMASTER>", "POSTMASTER", "", "POSTMASTER"},
      {"TO:<postmaster@example.com>", "postmaster", "example.com", "postmaster@example.com"},
      {"TO:<@a.example,@b.example:user@d.example>", "user", "d.example", "user@d.example"},
      {"TO:<@local:user@other>", "user", "other", "user@other"},
      {"TO:<user%other@local>", "user%other", "local", "user%other@local"},
      {"TO:<\"user@other\"@local>", "\"user@other\"", "local", "\"user@other\"@local"},
      {"TO:<user@[192.0.2.1]>", "user", "[192.0.2.1]", "user@[192.0.2.1]"},
      {"TO:<δ@example.com>", "δ", "example.com", "δ@example.com", true},
  };
  for (auto& r : rows) {
    INFO("arg: " << r.arg);
    Path p;
    RcptParams params;
    REQUIRE(outcome(parse_rcpt(r.arg, p, params)) == "ok");
    CHECK(!p.null);
    CHECK(p.local == r.local);
    CHECK(p.domain == r.domain);
    CHECK(p.address() == r.address);
    CHECK(p.utf8 == r.utf8);
    Path again;
    REQUIRE(outcome(parse_rcpt("TO:<" + p.address() + ">", again, params)) == "ok");
    CHECK(again.local == p.local);
    CHECK(again.domain == p.domain);
  }
}

TEST_CASE("parse_rcpt: invalid forward paths are 501 5.1.3", "[smtp]") {
  std::string rows[] = {
      "TO:<>",  // the null path is only a reverse path
      "TO:user@example.com",
      "TO:<user@example.com",
      "TO:  <user@example.com>",
      "TO:<user@other@local>",
      "TO:<@>",
      "TO:<@example.com>",
      "TO:<user>",
      "TO:<Postmaster >",
      "TO:<Postmasterx>",
      "TO:<Post.master>",
      "TO:<\"Postmaster\">",
      "TO:<@a.example:Postmaster>",
      "TO:<user@exa\0mple.com>"s,
      "TO:<us\x01er@example.com>",
      "TO:<us\xfe" "er@example.com>",
      "TO:<user@example.com>junk",
  };
  for (auto& arg : rows) {
    INFO("arg: " << arg);
    CHECK(rcpt(arg) == "501 5.1.3");
  }
}

TEST_CASE("parse_rcpt: DSN parameters", "[smtp]") {
  struct Row {
    std::string params, notify, orcpt;
  } good[] = {
      {"NOTIFY=NEVER", "NEVER", ""},
      {"notify=never", "NEVER", ""},
      {"NOTIFY=SUCCESS", "SUCCESS", ""},
      {"NOTIFY=success,failure,delay", "SUCCESS,FAILURE,DELAY", ""},
      {"NOTIFY=DELAY,FAILURE", "DELAY,FAILURE", ""},
      {"ORCPT=rfc822;user@example.com", "", "rfc822;user@example.com"},
      {"ORCPT=rfc822;a+2Bb@example.com", "", "rfc822;a+2Bb@example.com"},
      {"ORCPT=utf-8;δ@example.com", "", "utf-8;δ@example.com"},
      {"NOTIFY=FAILURE ORCPT=rfc822;user@example.com", "FAILURE", "rfc822;user@example.com"},
      {"ORCPT=rfc822;" + std::string(500, 'o'), "", "rfc822;" + std::string(500, 'o')},
  };
  for (auto& r : good) {
    std::string arg = "TO:<user@example.com> " + r.params;
    INFO("arg: " << arg);
    Path p;
    RcptParams params;
    REQUIRE(outcome(parse_rcpt(arg, p, params)) == "ok");
    CHECK(params.notify == r.notify);
    CHECK(params.orcpt == r.orcpt);
  }
  std::string bad[] = {
      "NOTIFY=",
      "NOTIFY",
      "NOTIFY=NEVER,SUCCESS",
      "NOTIFY=SUCCESS,NEVER",
      "NOTIFY=SUCCESS,SUCCESS",
      "NOTIFY=SUCCESS,",
      "NOTIFY=,SUCCESS",
      "NOTIFY=SOMETIMES",
      "NOTIFY=SUCCESS NOTIFY=FAILURE",
      "ORCPT=user@example.com",
      "ORCPT=rfc822;",
      "ORCPT=;user@example.com",
      "ORCPT=rfc 822;user",
      "ORCPT=rfc822;δ@example.com",  // UTF-8 only for the utf-8 type
      "ORCPT=rfc822;a+2bb",
      "ORCPT=rfc822;" + std::string(501, 'o'),
      "ORCPT=rfc822;a ORCPT=rfc822;b",
      "SIZE=10",
      "BODY=8BITMIME",
      "SMTPUTF8",
      "FOO",
  };
  for (auto& params : bad) {
    std::string arg = "TO:<user@example.com> " + params;
    INFO("arg: " << arg);
    CHECK(rcpt(arg) == "555 5.5.4");
  }
}

TEST_CASE("utf8_sequence: RFC 3629's well-formed sequences only", "[smtp]") {
  struct Row {
    std::string s;
    size_t len;
  } rows[] = {
      {"a", 1},           {"\x7f", 1},         {"\xc2\x80", 2},        {"\xdf\xbf", 2},
      {"\xe0\xa0\x80", 3}, {"\xed\x9f\xbf", 3}, {"\xef\xbf\xbf", 3},     {"\xf0\x90\x80\x80", 4},
      {"\xf4\x8f\xbf\xbf", 4}, {"", 0},        {"\x80", 0},            {"\xc1\xbf", 0},
      {"\xc2", 0},        {"\xc2\x7f", 0},     {"\xe0\x9f\xbf", 0},    {"\xed\xa0\x80", 0},
      {"\xf0\x8f\xbf\xbf", 0}, {"\xf4\x90\x80\x80", 0}, {"\xf5\x80\x80\x80", 0}, {"\xff", 0},
      {"\xe2\x82", 0},    {"\xf0\x9f\x98", 0},
  };
  for (auto& r : rows) {
    INFO("bytes: " << r.s.size());
    CHECK(utf8_sequence(r.s) == r.len);
  }
  CHECK(valid_utf8("plain ascii"));
  CHECK(valid_utf8("δοκιμή 😀"));
  CHECK(valid_utf8(""));
  CHECK_FALSE(valid_utf8("ok\xff"));
  CHECK_FALSE(valid_utf8("trunc\xe2\x82"));
}
